"""Simulated Telegram users: they talk to the bot and see what the bot sent them."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.models import CallbackAnswer, ChatMessage, format_chat

if TYPE_CHECKING:
    from sandbox.emulator import Emulator

__all__ = ["SimUser"]


class SimUser:
    """One private chat with the bot, seen from the user's side.

    Created through ``Emulator.user()``; the emulator writes the bot's messages here and the
    test (or the control API) reads them and acts as the user.
    """

    def __init__(
        self,
        emulator: Emulator,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
    ) -> None:
        self._emu = emulator
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.started = False
        self.blocked = False
        self.deactivated = False
        self.messages: dict[int, ChatMessage] = {}
        self.bot_sent_total = 0
        self.callback_answers: list[CallbackAnswer] = []
        self.callback_ids: list[str] = []
        self.keyboard: list[list[str]] = []
        self._next_message_id = 1
        self._event: asyncio.Event | None = None
        self._user_dict: dict[str, Any] | None = None
        self._chat_dict: dict[str, Any] | None = None

    # ----------------------------------------------------------------- Telegram shapes
    def user_dict(self) -> dict[str, Any]:
        """The User object Telegram puts into ``from``."""
        if self._user_dict is None:
            data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
            if self.last_name:
                data["last_name"] = self.last_name
            if self.username:
                data["username"] = self.username
            if self.language_code:
                data["language_code"] = self.language_code
            self._user_dict = data
        return self._user_dict

    def chat_dict(self) -> dict[str, Any]:
        """The private Chat object of this user."""
        if self._chat_dict is None:
            data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
            if self.last_name:
                data["last_name"] = self.last_name
            if self.username:
                data["username"] = self.username
            self._chat_dict = data
        return self._chat_dict

    def update_profile(self, **fields: Any) -> None:
        """Change name fields (cached Telegram shapes are rebuilt)."""
        for key, value in fields.items():
            setattr(self, key, value)
        self._user_dict = None
        self._chat_dict = None

    def next_message_id(self) -> int:
        """Message ids are per chat and shared by both directions, as in Telegram private chats."""
        mid = self._next_message_id
        self._next_message_id += 1
        return mid

    # ----------------------------------------------------------------- read side
    @property
    def chat(self) -> list[ChatMessage]:
        """All messages as the user sees them now, oldest first."""
        return list(self.messages.values())

    @property
    def bot_messages(self) -> list[ChatMessage]:
        """Only the bot's messages."""
        return [m for m in self.messages.values() if m.from_bot]

    @property
    def last(self) -> ChatMessage | None:
        """Newest bot message, or None."""
        for message in reversed(self.messages.values()):
            if message.from_bot:
                return message
        return None

    def dump(self) -> str:
        """Readable chat for failure messages."""
        return f"chat with user {self.id}:\n{format_chat(self.chat)}"

    def __repr__(self) -> str:
        return f"SimUser(id={self.id}, first_name={self.first_name!r}, messages={len(self.messages)})"

    # ----------------------------------------------------------------- change notification
    def notify(self) -> None:
        """Wake everyone waiting on this chat; cheap when nobody waits."""
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait_for(
        self,
        predicate: Callable[[SimUser], bool],
        timeout: float = 5.0,
    ) -> SimUser:
        """Wait until ``predicate(self)`` holds; re-checked on every change in this chat."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s; {self.dump()}")
            if self._event is None:
                self._event = asyncio.Event()
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue
        return self

    async def wait_messages(self, n: int, timeout: float = 5.0) -> list[ChatMessage]:
        """Wait until the bot has sent at least ``n`` messages here in total (deleted count too)."""
        await self.wait_for(lambda u: u.bot_sent_total >= n, timeout)
        return self.bot_messages

    async def wait_callback_answer(self, timeout: float = 5.0) -> CallbackAnswer:
        """Wait until the newest callback query of this user is answered and return the answer."""
        if not self.callback_ids:
            raise LookupError(f"user {self.id} has not pressed any button")
        query_id = self.callback_ids[-1]

        def answered(user: SimUser) -> bool:
            return any(a.callback_query_id == query_id for a in user.callback_answers)

        await self.wait_for(answered, timeout)
        return next(a for a in reversed(self.callback_answers) if a.callback_query_id == query_id)

    # ----------------------------------------------------------------- acting as the user
    def _ensure_can_write(self) -> None:
        """A deactivated account cannot write; writing to a blocked bot means "Restart" first."""
        if self.deactivated:
            raise RuntimeError(f"user {self.id} is deactivated")
        if self.blocked:
            self.unblock()

    def _store_user_message(self, raw: dict[str, Any], message: ChatMessage) -> dict[str, Any]:
        self.started = True
        self.messages[message.message_id] = message
        self._emu.enqueue_update("message", raw)
        self.notify()
        return raw

    async def send(self, text: str) -> dict[str, Any]:
        """Send a text message to the bot; returns the Telegram Message dict that was queued."""
        self._ensure_can_write()
        mid = self.next_message_id()
        date = int(time.time())
        raw: dict[str, Any] = {
            "message_id": mid,
            "from": self.user_dict(),
            "chat": self.chat_dict(),
            "date": date,
            "text": text,
        }
        entities: list[dict[str, Any]] = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            entities.append(
                {"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}
            )
            raw["entities"] = entities
        message = ChatMessage(
            message_id=mid, from_bot=False, date=date, text=text, html=text, entities=entities, raw=raw
        )
        return self._store_user_message(raw, message)

    async def send_document(
        self, file_name: str, data: bytes, mime_type: str | None = None, caption: str | None = None
    ) -> dict[str, Any]:
        """Send a file to the bot as a document; the bot can getFile/download it."""
        self._ensure_can_write()
        record = self._emu.store_file(data, file_name=file_name, mime_type=mime_type, kind="document")
        mid = self.next_message_id()
        date = int(time.time())
        raw: dict[str, Any] = {
            "message_id": mid,
            "from": self.user_dict(),
            "chat": self.chat_dict(),
            "date": date,
            "document": self._emu.document_dict(record),
        }
        if caption:
            raw["caption"] = caption
        message = ChatMessage(
            message_id=mid,
            from_bot=False,
            date=date,
            caption=caption,
            html=caption or "",
            document=record,
            raw=raw,
        )
        return self._store_user_message(raw, message)

    def _find_button(
        self, label: str | None, data: str | None, message_id: int | None
    ) -> tuple[ChatMessage | None, str | None]:
        candidates: list[ChatMessage]
        if message_id is not None:
            found = self.messages.get(message_id)
            candidates = [found] if found is not None else []
        else:
            candidates = [m for m in reversed(self.messages.values()) if m.from_bot]
        for message in candidates:
            for row in message.buttons:
                for button in row:
                    if (label is not None and button.text == label) or (
                        label is None and data is not None and button.callback_data == data
                    ):
                        if button.callback_data is None:
                            raise LookupError(
                                f"button {button.text!r} has no callback_data (url={button.url})"
                            )
                        return message, button.callback_data
        return (candidates[0] if candidates else None), None

    async def press(
        self,
        label: str | None = None,
        *,
        data: str | None = None,
        message_id: int | None = None,
        force: bool = False,
    ) -> str:
        """Press an inline button by label (or by callback data); returns the callback query id.

        With ``force=True`` and ``data`` the query is sent even if no button carries that data
        (attached to ``message_id`` or the newest bot message) — this is how tests forge data.
        """
        if label is None and data is None:
            raise ValueError("press() needs a label or data")
        if self.deactivated:
            raise RuntimeError(f"user {self.id} is deactivated")
        message, callback_data = self._find_button(label, data, message_id)
        if callback_data is None:
            if not (force and data is not None):
                what = f"label {label!r}" if label is not None else f"data {data!r}"
                raise LookupError(f"no inline button with {what}; {self.dump()}")
            callback_data = data
        query_id = str(secrets.randbits(62))
        query: dict[str, Any] = {
            "id": query_id,
            "from": self.user_dict(),
            "chat_instance": str(self.id * 7919 % 10**12),
            "data": callback_data,
        }
        if message is not None:
            query["message"] = dict(message.raw)
        self.callback_ids.append(query_id)
        self._emu.register_callback(query_id, self)
        self._emu.enqueue_update("callback_query", query)
        self.notify()
        return query_id

    def _member_update(self, old: str, new: str) -> None:
        bot_user = self._emu.bot_user()
        new_member: dict[str, Any] = {"status": new, "user": bot_user}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: dict[str, Any] = {"status": old, "user": bot_user}
        if old == "kicked":
            old_member["until_date"] = 0
        self._emu.enqueue_update(
            "my_chat_member",
            {
                "chat": self.chat_dict(),
                "from": self.user_dict(),
                "date": int(time.time()),
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            },
        )

    def block(self) -> None:
        """Block the bot: sends now fail with 403, and the bot gets a my_chat_member update."""
        if not self.blocked:
            self.blocked = True
            self._member_update("member", "kicked")
            self.notify()

    def unblock(self) -> None:
        """Unblock the bot (my_chat_member kicked -> member)."""
        if self.blocked:
            self.blocked = False
            self._member_update("kicked", "member")
            self.notify()

    def deactivate(self) -> None:
        """Delete the account: sends fail with 403 "user is deactivated"."""
        self.deactivated = True
        self.notify()

    def summary(self) -> dict[str, Any]:
        """JSON-friendly overview for the control API."""
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "started": self.started,
            "blocked": self.blocked,
            "deactivated": self.deactivated,
            "messages": len(self.messages),
            "bot_sent_total": self.bot_sent_total,
        }
