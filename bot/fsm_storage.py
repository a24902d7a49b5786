"""aiogram FSM storage over the bot's database, so dialogs survive a restart without Redis.

While an update is being handled, the storage writes through that update's session (see
`DbSessionMiddleware`), so the dialog state commits together with the handler's changes and SQLite
never sees two writers from one update.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.fsm import FsmRecord

current_session: ContextVar[AsyncSession | None] = ContextVar("profbot_current_session", default=None)


class SqlStorage(BaseStorage):
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], key_builder: KeyBuilder | None = None
    ) -> None:
        self._sessions = session_factory
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def _session(self, write: bool) -> AsyncIterator[AsyncSession]:
        shared = current_session.get()
        if shared is not None:
            yield shared
            if write:
                await shared.flush()
            return
        async with self._sessions() as session:
            yield session
            if write:
                await session.commit()

    async def _record(self, session: AsyncSession, key: StorageKey) -> FsmRecord | None:
        return await session.get(FsmRecord, self._keys.build(key))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._session(write=True) as session:
            record = await self._record(session, key)
            if record is None:
                if value is not None:
                    session.add(FsmRecord(key=self._keys.build(key), state=value, data={}))
            else:
                record.state = value
                if value is None and not record.data:
                    await session.delete(record)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session(write=False) as session:
            record = await self._record(session, key)
            return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self._session(write=True) as session:
            record = await self._record(session, key)
            if record is None:
                if data:
                    session.add(FsmRecord(key=self._keys.build(key), state=None, data=dict(data)))
            else:
                record.data = dict(data)
                if not data and record.state is None:
                    await session.delete(record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session(write=False) as session:
            record = await self._record(session, key)
            return dict(record.data) if record and record.data else {}

    async def close(self) -> None:
        return None
