"""Telegram Bot API emulator for tests, `make run` sandbox mode and delivery benchmarks."""

from sandbox.emulator import Emulator, EmulatorConfig
from sandbox.models import (
    ApiError,
    Button,
    CallbackAnswer,
    ChatMessage,
    Counters,
    FaultRule,
    FileRecord,
    format_chat,
)
from sandbox.users import SimUser

__all__ = [
    "ApiError",
    "Button",
    "CallbackAnswer",
    "ChatMessage",
    "Counters",
    "Emulator",
    "EmulatorConfig",
    "FaultRule",
    "FileRecord",
    "SimUser",
    "format_chat",
]
