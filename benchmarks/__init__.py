"""Speed and memory targets, measured against the emulator on loopback (`make bench`), never in tests."""
