"""Plain data objects of the emulator: what the simulated users see, counters, faults."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "Button",
    "CallbackAnswer",
    "ChatMessage",
    "Counters",
    "FaultRule",
    "FileRecord",
    "format_chat",
]


class ApiError(Exception):
    """A Bot API error answer; raised anywhere in a handler, rendered as Telegram's JSON."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        """Telegram's error body."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(slots=True)
class FileRecord:
    """A stored file (sent by the bot or by a user), addressable by file_id and file_path."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        """Size in bytes, as Telegram reports file_size."""
        return len(self.data)

    def as_dict(self, with_data: bool = False) -> dict[str, Any]:
        """JSON-friendly view for the control API (bytes only on request)."""
        out: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": self.size,
        }
        if with_data:
            out["data"] = self.data.hex()
        return out


@dataclass(slots=True, frozen=True)
class Button:
    """One keyboard button as the user sees it; only one of the action fields is set."""

    text: str
    callback_data: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {"text": self.text, "callback_data": self.callback_data, "url": self.url}


@dataclass(slots=True)
class CallbackAnswer:
    """What the user saw after pressing a button (toast or alert)."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "callback_query_id": self.callback_query_id,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass(slots=True)
class ChatMessage:
    """A message in a private chat as the user sees it now (edits applied)."""

    message_id: int
    from_bot: bool
    date: int
    text: str | None = None
    caption: str | None = None
    html: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[str]] = field(default_factory=list)
    document: FileRecord | None = None
    photo: FileRecord | None = None
    edited: bool = False
    edit_count: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def content(self) -> str:
        """Text or caption, whichever the message has."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def button_labels(self) -> list[str]:
        """Flat list of inline button labels, handy for asserts."""
        return [b.text for row in self.buttons for b in row]

    def __str__(self) -> str:
        who = "bot" if self.from_bot else "user"
        lines = [f"#{self.message_id} {who}{' (edited)' if self.edited else ''}:"]
        if self.document is not None:
            lines.append(f"  [document {self.document.file_name} {self.document.size} bytes]")
        if self.photo is not None:
            lines.append(f"  [photo {self.photo.size} bytes]")
        if self.content:
            lines.extend("  " + line for line in self.content.splitlines())
        for row in self.buttons:
            lines.append("  " + " ".join(f"[ {b.text} ]" for b in row))
        for labels in self.reply_keyboard:
            lines.append("  " + " ".join(f"( {label} )" for label in labels))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view for the control API."""
        return {
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "date": self.date,
            "text": self.text,
            "caption": self.caption,
            "html": self.html,
            "entities": self.entities,
            "buttons": [[b.as_dict() for b in row] for row in self.buttons],
            "reply_keyboard": self.reply_keyboard,
            "document": self.document.as_dict() if self.document else None,
            "photo": self.photo.as_dict() if self.photo else None,
            "edited": self.edited,
            "edit_count": self.edit_count,
        }


def format_chat(messages: list[ChatMessage]) -> str:
    """Readable dump of a chat for failure messages and the CLI."""
    if not messages:
        return "(chat is empty)"
    return "\n".join(str(m) for m in messages)


@dataclass(slots=True)
class Counters:
    """Traffic statistics; the benchmark and tests read them, reset_counters() zeroes them."""

    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    too_many_requests: int = 0
    delivered_total: int = 0
    delivered_by_chat: Counter[int] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly snapshot."""
        return {
            "by_method": dict(self.by_method),
            "by_status": {str(k): v for k, v in self.by_status.items()},
            "too_many_requests": self.too_many_requests,
            "delivered_total": self.delivered_total,
            "delivered_by_chat": {str(k): v for k, v in self.delivered_by_chat.items()},
            "elapsed_s": round(time.monotonic() - self.started_at, 3),
        }


@dataclass(slots=True)
class FaultRule:
    """Faults injected into bot API calls of one method (or all when method is None)."""

    method: str | None = None
    error_rate: float = 0.0
    error_status: int = 500
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    timeout_s: float = 0.0
    timeout_rate: float = 1.0
    reset_rate: float = 0.0
    force_429: int = 0
    retry_after: int = 5

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "method": self.method,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "timeout_s": self.timeout_s,
            "timeout_rate": self.timeout_rate,
            "reset_rate": self.reset_rate,
            "force_429": self.force_429,
            "retry_after": self.retry_after,
        }
