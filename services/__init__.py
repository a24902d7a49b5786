"""Domain rules as plain async functions over a session: handlers call them, tests call them too."""
