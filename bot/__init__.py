"""profbot: the Telegram bot that runs a municipality's school career-guidance events."""
