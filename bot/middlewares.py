"""Cross-cutting concerns of every update: a database session, and who the user is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fsm_storage import current_session
from services.people import ensure_admin, get_or_create_user, load_profile

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One session per update, committed when the handler returns, rolled back when it raises."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self.sessions = sessions

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.sessions() as session:
            data["session"] = session
            token = current_session.set(session)
            try:
                result = await handler(event, data)
                await session.commit()
            finally:
                current_session.reset(token)
            return result


class ProfileMiddleware(BaseMiddleware):
    """Loads (or creates, with nothing but the Telegram id) the user and their roles and pupils."""

    def __init__(self, admin_ids: Iterable[int]):
        self.admin_ids = frozenset(admin_ids)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        session: AsyncSession | None = data.get("session")
        if tg_user is None or session is None or tg_user.is_bot:
            return await handler(event, data)
        user = await get_or_create_user(session, tg_user.id)
        await ensure_admin(session, user, self.admin_ids)
        data["user"] = user
        data["profile"] = await load_profile(session, user)
        return await handler(event, data)


class PerUserOrderMiddleware(BaseMiddleware):
    """Handles one user's updates one at a time, in order.

    aiogram handles updates concurrently; without this a quick second tap could be read against the
    dialog state the first tap has not committed yet. Different users still run in parallel.
    """

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @property
    def in_flight(self) -> int:
        """Users with an update being handled (and its transaction not yet committed)."""
        return len(self._locks)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None:
            return await handler(event, data)
        lock, users = self._locks.get(tg_user.id, (asyncio.Lock(), 0))
        self._locks[tg_user.id] = (lock, users + 1)
        try:
            async with lock:
                return await handler(event, data)
        finally:
            lock, users = self._locks[tg_user.id]
            if users <= 1:
                del self._locks[tg_user.id]
            else:
                self._locks[tg_user.id] = (lock, users - 1)
