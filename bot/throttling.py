"""Flood control for incoming updates: a token bucket per user.

A person taps and types a few times a second at most; a script or a stuck client can send hundreds.
Updates beyond the bucket are dropped before they reach the database, and the user is told once per
episode (a tapped button must be answered anyway, or the client shows a spinner).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import pick_language

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class ThrottlingMiddleware(BaseMiddleware):
    """`rate` updates per second per user, `burst` at once; rate 0 turns it off."""

    def __init__(self, i18n: I18n, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.i18n = i18n
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def allow(self, user_id: int) -> tuple[bool, bool]:
        """(let it through, tell the user now)."""
        now = self.clock()
        if len(self._buckets) > 50_000:  # forget users whose buckets are full again
            full = self.burst / self.rate
            self._buckets = {u: b for u, b in self._buckets.items() if now - b.at < full}
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            if bucket.tokens >= 1.0:
                bucket.warned = False
            return True, False
        tell = not bucket.warned
        bucket.warned = True
        return False, tell

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if self.rate <= 0 or tg_user is None or not isinstance(event, Update):
            return await handler(event, data)
        allowed, tell = self.allow(tg_user.id)
        if allowed:
            return await handler(event, data)
        # Before the database is read: the client's language stands in for the saved one.
        with self.i18n.context(), self.i18n.use_locale(pick_language(tg_user.language_code, "ru")):
            text = _("You are tapping faster than I can answer. Please wait a few seconds and try again.")
        if isinstance(event.callback_query, CallbackQuery):
            await event.callback_query.answer(text if tell else None)
        elif isinstance(event.message, Message) and tell:
            await event.message.answer(text)
        return None
