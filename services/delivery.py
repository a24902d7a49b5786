"""The delivery engine: takes due messages out of the outbox and hands them to Telegram, paced.

Rows are claimed (status `sending` with a lease) before sending and settled after, in the database.
A process killed between Telegram's answer and the commit re-sends at most the rows it had in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from aiolimiter import AsyncLimiter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Outbox, OutboxStatus, User
from models.base import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send for one outbox row; `None` from a renderer means the message is obsolete."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    parse_mode: str | None = "HTML"


Renderer = Callable[[AsyncSession, Sequence[Outbox]], Awaitable[dict[int, OutgoingMessage | None]]]
# Which claimed rows must wait (quiet hours, digests) and until when; consulted just before sending,
# so a change of preferences applies to the next notification.
HoldPolicy = Callable[[AsyncSession, Sequence[Outbox]], Awaitable[dict[int, datetime]]]


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    undeliverable: int = 0
    failed: int = 0
    rate_limited: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class _Outcome:
    row_id: int
    values: dict[str, Any]
    blocked_chat: int | None = None


class Delivery:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        renderers: dict[str, Renderer],
        *,
        rate: float = 25.0,
        per_chat_interval: float = 1.05,
        batch_size: int = 100,
        concurrency: int = 16,
        max_attempts: int = 5,
        lease: timedelta = timedelta(minutes=2),
        hold: HoldPolicy | None = None,
    ):
        self.hold = hold
        self.bot = bot
        self.sessions = sessions
        self.renderers = renderers
        self.limiter = AsyncLimiter(rate, 1)
        self.per_chat_interval = per_chat_interval
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.lease = lease
        self.stats = DeliveryStats()
        self._paused_until = 0.0
        self._last_sent: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def run(self, budget: float = 30.0) -> int:
        """Deliver due messages until none is left or `budget` seconds have passed; returns how many were sent."""
        if self._lock.locked():
            return 0
        async with self._lock:
            deadline = time.monotonic() + budget
            sent_before = self.stats.sent
            await self._release_expired_leases()
            while time.monotonic() < deadline:
                rows = await self._claim()
                if not rows:
                    break
                await self._deliver(rows)
            return self.stats.sent - sent_before

    async def _release_expired_leases(self) -> None:
        """Rows left `sending` by a process that died go back to the queue."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.status == OutboxStatus.sending, Outbox.not_before <= utcnow())
                .values(status=OutboxStatus.pending)
            )

    async def _claim(self) -> list[Outbox]:
        now = utcnow()
        async with self.sessions.begin() as session:
            due = (
                select(Outbox.id)
                .where(Outbox.status == OutboxStatus.pending, Outbox.not_before <= now)
                .order_by(Outbox.priority, Outbox.not_before, Outbox.id)
                .limit(self.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list((await session.scalars(due)).all())
            if not ids:
                return []
            await session.execute(
                update(Outbox)
                .where(Outbox.id.in_(ids), Outbox.status == OutboxStatus.pending)
                .values(status=OutboxStatus.sending, not_before=now + self.lease)
            )
            rows = (await session.scalars(select(Outbox).where(Outbox.id.in_(ids)).order_by(Outbox.id))).all()
            return [r for r in rows if r.status is OutboxStatus.sending]

    async def _apply_hold(self, rows: Sequence[Outbox]) -> Sequence[Outbox]:
        """Put back the rows the hold policy defers; return the ones to send now."""
        if self.hold is None:
            return rows
        async with self.sessions.begin() as session:
            held = await self.hold(session, rows)
            if held:
                await session.execute(
                    update(Outbox),
                    [
                        {"id": row_id, "status": OutboxStatus.pending, "not_before": until}
                        for row_id, until in held.items()
                    ],
                )
        return [row for row in rows if row.id not in held]

    async def _render(self, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
        result: dict[int, OutgoingMessage | None] = {}
        by_kind: dict[str, list[Outbox]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, []).append(row)
        async with self.sessions() as session:
            for kind, group in by_kind.items():
                renderer = self.renderers.get(kind)
                if renderer is None:
                    log.error("no renderer for outbox kind %s", kind)
                    result.update({r.id: None for r in group})
                    continue
                result.update(await renderer(session, group))
        return result

    async def _deliver(self, rows: Sequence[Outbox]) -> None:
        cutoff = time.monotonic() - self.per_chat_interval
        self._last_sent = {chat: at for chat, at in self._last_sent.items() if at > cutoff}
        rows = await self._apply_hold(rows)
        if not rows:
            return
        messages = await self._render(rows)
        gate = asyncio.Semaphore(self.concurrency)
        chat_locks: dict[int, asyncio.Lock] = {}

        async def one(row: Outbox) -> _Outcome:
            async with gate, chat_locks.setdefault(row.chat_id, asyncio.Lock()):
                return await self._send_one(row, messages.get(row.id))

        outcomes = await asyncio.gather(*(one(row) for row in rows))
        async with self.sessions.begin() as session:
            await session.execute(update(Outbox), [{"id": o.row_id, **o.values} for o in outcomes])
            blocked = [o.blocked_chat for o in outcomes if o.blocked_chat is not None]
            if blocked:
                await session.execute(
                    update(User)
                    .where(User.telegram_id.in_(blocked))
                    .values(is_active=False, blocked_at=utcnow())
                )

    async def _wait_turn(self, chat_id: int) -> None:
        """Hold back for a global pause (after a 429) and for the per-chat interval."""
        while True:
            now = time.monotonic()
            wait = max(
                self._paused_until - now, self._last_sent.get(chat_id, 0.0) + self.per_chat_interval - now
            )
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _send_one(self, row: Outbox, message: OutgoingMessage | None) -> _Outcome:
        if message is None:
            return _Outcome(row.id, {"status": OutboxStatus.failed, "last_error": "obsolete"})
        await self._wait_turn(row.chat_id)
        async with self.limiter:
            await self._wait_turn(row.chat_id)
            try:
                sent = await self.bot.send_message(
                    row.chat_id,
                    message.text,
                    parse_mode=message.parse_mode,
                    reply_markup=message.reply_markup,
                )
            except TelegramRetryAfter as exc:
                self.stats.rate_limited += 1
                self._paused_until = max(self._paused_until, time.monotonic() + exc.retry_after)
                return _Outcome(
                    row.id,
                    {
                        "status": OutboxStatus.pending,
                        "not_before": utcnow() + timedelta(seconds=exc.retry_after),
                    },
                )
            except TelegramForbiddenError as exc:
                self.stats.undeliverable += 1
                return self._settle_undeliverable(row, exc)
            except TelegramBadRequest as exc:
                if "chat not found" in exc.message.lower():
                    self.stats.undeliverable += 1
                    return self._settle_undeliverable(row, exc)
                self.stats.failed += 1
                return _Outcome(row.id, {"status": OutboxStatus.failed, "last_error": exc.message[:500]})
            except (TelegramServerError, TelegramNetworkError, TimeoutError, TelegramAPIError) as exc:
                return self._settle_retry(row, exc)
            finally:
                self._last_sent[row.chat_id] = time.monotonic()
        self.stats.sent += 1
        self.stats.by_kind[row.kind] = self.stats.by_kind.get(row.kind, 0) + 1
        return _Outcome(
            row.id,
            {
                "status": OutboxStatus.sent,
                "sent_at": utcnow(),
                "message_id": sent.message_id,
                "last_error": None,
            },
        )

    def _settle_undeliverable(self, row: Outbox, exc: TelegramAPIError) -> _Outcome:
        return _Outcome(
            row.id,
            {"status": OutboxStatus.undeliverable, "last_error": exc.message[:500]},
            blocked_chat=row.chat_id,
        )

    def _settle_retry(self, row: Outbox, exc: Exception) -> _Outcome:
        attempts = row.attempts + 1
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if attempts >= self.max_attempts:
            self.stats.failed += 1
            return _Outcome(
                row.id, {"status": OutboxStatus.failed, "attempts": attempts, "last_error": reason}
            )
        self.stats.retried += 1
        backoff = timedelta(seconds=min(2**attempts, 300))
        return _Outcome(
            row.id,
            {
                "status": OutboxStatus.pending,
                "attempts": attempts,
                "not_before": utcnow() + backoff,
                "last_error": reason,
            },
        )
