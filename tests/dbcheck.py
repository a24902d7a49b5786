"""Reading the database from tests: the source of truth behind what users see."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select

from bot.app import App
from models import Outbox, OutboxStatus


async def scalar(app: App, query: Any) -> Any:
    async with app.sessions() as session:
        return await session.scalar(query)


async def rows(app: App, query: Any) -> list[Any]:
    async with app.sessions() as session:
        return list((await session.execute(query)).all())


async def outbox_drained(app: App, timeout: float = 10.0) -> None:
    """Wait until nothing is pending or in flight in the outbox."""
    deadline = time.monotonic() + timeout
    query = select(func.count()).where(Outbox.status.in_([OutboxStatus.pending, OutboxStatus.sending]))
    while time.monotonic() < deadline:
        if not await scalar(app, query):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the outbox did not drain")
