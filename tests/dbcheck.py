"""Reading the database from tests: the source of truth behind what users see."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select

from bot.app import App
from models import Outbox, OutboxStatus


async def settled(app: App, timeout: float = 5.0) -> None:
    """Wait until no update is being handled: a reply reaches the chat just before its transaction
    commits, so a test that read the database right after the reply could see the state before it."""
    for _ in range(int(timeout / 0.01)):
        if app.order is None or not app.order.in_flight:
            return
        await asyncio.sleep(0.01)


async def scalar(app: App, query: Any) -> Any:
    await settled(app)
    async with app.sessions() as session:
        return await session.scalar(query)


async def rows(app: App, query: Any) -> list[Any]:
    await settled(app)
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
