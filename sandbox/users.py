"""Simulated Telegram users: they talk to the bot and see what the bot sent them."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.html import render_html, utf16_len
from sandbox.models import CallbackAnswer, ChatMessage, FileRecord, format_chat

if TYPE_CHECKING:
    from sandbox.emulator import Emulator

__all__ = ["CAPTION_LIMIT", "ENTITY_TYPES", "SimUser", "check_entities"]

CAPTION_LIMIT = 1024  # what a Telegram client lets a (non-premium) user attach to a file
ENTITY_TYPES = frozenset(
    {
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold",
        "italic", "underline", "strikethrough", "spoiler", "blockquote", "expandable_blockquote",
        "code", "pre", "text_link", "text_mention", "custom_emoji",
    }
)  # fmt: skip


def check_entities(text: str, entities: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Validate MessageEntity dicts against ``text`` (offsets and lengths in UTF-16 code units, as
    Telegram counts them); returns copies sorted by offset. ValueError names the first bad one."""
    if not entities:
        return []
    if not isinstance(entities, list):
        raise ValueError("entities must be a list of MessageEntity objects")
    total = utf16_len(text)
    checked: list[dict[str, Any]] = []
    for entity in entities:
        if not isinstance(entity, dict):
            raise ValueError(f"entity {entity!r} is not an object")
        kind, offset, length = entity.get("type"), entity.get("offset"), entity.get("length")
        if kind not in ENTITY_TYPES:
            raise ValueError(f"unknown entity type {kind!r}")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 1:
            raise ValueError(f"entity {entity!r} needs integer offset >= 0 and length >= 1")
        if offset + length > total:
            raise ValueError(
                f"entity {entity!r} ends at {offset + length}, beyond the text ({total} UTF-16 code units)"
            )
        if kind == "text_link" and not (isinstance(entity.get("url"), str) and entity["url"]):
            raise ValueError("a text_link entity needs a url")
        if kind == "text_mention" and not isinstance(entity.get("user"), dict):
            raise ValueError("a text_mention entity needs a user")
        if kind == "custom_emoji" and not entity.get("custom_emoji_id"):
            raise ValueError("a custom_emoji entity needs a custom_emoji_id")
        checked.append(dict(entity))
    checked.sort(key=lambda e: (e["offset"], -e["length"]))
    return checked


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
        self.server_error: int | None = None  # set by fail_sends(): the bot's calls here answer 5xx
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

    def _check_caption(
        self, caption: str | None, caption_entities: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        if caption is not None and len(caption) > CAPTION_LIMIT:
            raise ValueError(f"a caption has at most {CAPTION_LIMIT} characters (got {len(caption)})")
        return check_entities(caption or "", caption_entities)

    def _media_message(
        self,
        *,
        caption: str | None,
        caption_entities: list[dict[str, Any]],
        document: FileRecord | None = None,
        photo: FileRecord | None = None,
    ) -> dict[str, Any]:
        mid = self.next_message_id()
        date = int(time.time())
        raw: dict[str, Any] = {
            "message_id": mid,
            "from": self.user_dict(),
            "chat": self.chat_dict(),
            "date": date,
        }
        if document is not None:
            raw["document"] = self._emu.document_dict(document)
        if photo is not None:
            raw["photo"] = self._emu.photo_list(photo)
        if caption:
            raw["caption"] = caption
            if caption_entities:
                raw["caption_entities"] = caption_entities
        message = ChatMessage(
            message_id=mid,
            from_bot=False,
            date=date,
            caption=caption or None,
            html=render_html(caption or "", caption_entities),
            entities=caption_entities if caption else [],
            document=document,
            photo=photo,
            raw=raw,
        )
        return self._store_user_message(raw, message)

    async def send(self, text: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Send a text message to the bot; returns the Telegram Message dict that was queued.

        ``entities`` are Telegram MessageEntity dicts (``{"type": "bold", "offset": 0, "length": 5}``,
        ``{"type": "text_link", ..., "url": "https://..."}``), offsets in UTF-16 code units, as a
        client sends formatted text. A text starting with "/" gets its bot_command entity.
        """
        self._ensure_can_write()
        if not text:
            raise ValueError("a message needs text")
        checked = check_entities(text, entities)
        mid = self.next_message_id()
        date = int(time.time())
        raw: dict[str, Any] = {
            "message_id": mid,
            "from": self.user_dict(),
            "chat": self.chat_dict(),
            "date": date,
            "text": text,
        }
        if text.startswith("/") and not any(e["type"] == "bot_command" and e["offset"] == 0 for e in checked):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            checked.insert(0, {"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        if checked:
            raw["entities"] = checked
        message = ChatMessage(
            message_id=mid,
            from_bot=False,
            date=date,
            text=text,
            html=render_html(text, checked),
            entities=checked,
            raw=raw,
        )
        return self._store_user_message(raw, message)

    async def send_document(
        self,
        file_name: str,
        data: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send a file to the bot as a document; the bot can getFile/download it."""
        self._ensure_can_write()
        checked = self._check_caption(caption, caption_entities)
        record = self._emu.store_file(data, file_name=file_name, mime_type=mime_type, kind="document")
        return self._media_message(caption=caption, caption_entities=checked, document=record)

    async def send_photo(
        self,
        data: bytes,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send a picture (PNG or JPEG bytes) as a photo, the way Telegram delivers one.

        The update's ``message.photo`` is a list of PhotoSize (one size: the emulator does not resize)
        with the image's real width and height; the bot can getFile/download it or send it on by its
        file_id. ``caption_entities`` as for ``send``'s entities.
        """
        self._ensure_can_write()
        checked = self._check_caption(caption, caption_entities)
        mime = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
        record = self._emu.store_file(data, file_name=None, mime_type=mime, kind="photo")
        return self._media_message(caption=caption, caption_entities=checked, photo=record)

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

    def fail_sends(self, status: int | None = 502) -> None:
        """Every Bot API call addressed to this chat answers ``status`` (500, 502 or 503) until
        ``fail_sends(None)``: one recipient behind a failing Telegram server, for tests of retries."""
        if status not in (None, 500, 502, 503):
            raise ValueError("status must be 500, 502, 503 or null")
        self.server_error = status

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
            "server_error": self.server_error,
            "messages": len(self.messages),
            "bot_sent_total": self.bot_sent_total,
        }
