"""The delivery engine: takes due messages out of the outbox and hands them to Telegram, paced.

Rows are claimed (status `sending` with a lease) in small batches, ordered by priority, before sending,
and settled after, in the database. The next batch is claimed and the previous one settled while the
current one is being sent, so the database is never the bottleneck. A process killed between Telegram's
answer and the commit re-sends at most the rows it had claimed and not settled (`max_unsettled`).

Pacing: one global pacer spaces sends evenly at `rate` (Telegram's 30/s, or up to 1000/s with
`allow_paid_broadcast`), so in steady state Telegram never answers 429; a chat gets at most one
message per `per_chat_interval`. A 429 pauses every send for `retry_after` and puts the row back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Outbox, OutboxStatus, Priority, User
from models.base import utcnow
from services.delivery_http import LeanBotApi, MethodUrl

if TYPE_CHECKING:  # the engine itself does not import aiogram: a delivery process stays small
    from aiogram.types import InlineKeyboardMarkup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send for one outbox row; `None` from a renderer means the message is obsolete.

    With `photo` or `document` (a Telegram file id) the text goes as the caption.
    """

    text: str
    reply_markup: InlineKeyboardMarkup | dict[str, Any] | None = None
    parse_mode: str | None = "HTML"
    photo: str | None = None
    document: str | None = None


Renderer = Callable[[AsyncSession, Sequence[Outbox]], Awaitable[dict[int, OutgoingMessage | None]]]
# Which claimed rows must wait (quiet hours, digests) and until when; consulted just before sending,
# so a change of preferences applies to the next notification.
HoldPolicy = Callable[[AsyncSession, Sequence[Outbox]], Awaitable[dict[int, datetime]]]
# Called with the broadcast ids whose rows were just settled (live delivery reports).
SettledHook = Callable[[set[int]], Awaitable[None]]


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    undeliverable: int = 0
    failed: int = 0
    rate_limited: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    first_sent_at: float | None = None  # time.monotonic() of the first and last accepted send
    last_sent_at: float | None = None


class SendError(Exception):
    """Telegram refused a send: `code` is its error_code (HTTP status), `description` its words."""

    def __init__(self, code: int, description: str, retry_after: float | None = None):
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Outcome:
    row_id: int
    values: dict[str, Any]
    blocked_chat: int | None = None
    broadcast_id: int | None = None


class Pacer:
    """Spaces calls evenly at `rate` per second on an absolute schedule (late callers catch up by at
    most `burst` slots), and can be paused for everybody after a 429."""

    def __init__(self, rate: float, burst: int = 1):
        self.rate = rate
        self.interval = 1.0 / rate
        self.slack = max(burst - 1, 0) * self.interval
        self._next = 0.0
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        self._next = max(self._next, self._paused_until)

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(self._next, now - self.slack, self._paused_until)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
        # A 429 that arrived while this caller slept moves everybody back.
        for _ in range(100):
            left = self._paused_until - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(left)


class Delivery:
    def __init__(
        self,
        method_url: MethodUrl,
        sessions: async_sessionmaker[AsyncSession],
        renderers: dict[str, Renderer],
        *,
        rate: float = 30.0,
        paid: bool = False,
        per_chat_interval: float = 1.05,
        batch_size: int | None = None,
        concurrency: int | None = None,
        max_attempts: int = 8,
        backoff: float = 0.5,  # seconds before the first retry; doubles each time (about a minute in all)
        request_timeout: float = 15.0,
        lease: timedelta = timedelta(minutes=2),
        hold: HoldPolicy | None = None,
        on_settled: SettledHook | None = None,
        linger: float = 1.0,
    ):
        self.hold = hold
        self.method_url = method_url
        self.sessions = sessions
        self.renderers = renderers
        self.rate = rate
        self.paid = paid
        self.pacer = Pacer(rate, burst=max(1, int(rate * 0.05)))
        self.per_chat_interval = per_chat_interval
        # About a quarter second of sending per batch: a personal message claimed next waits little,
        # and few rows are in memory (or unsettled, should the process die).
        self.batch_size = batch_size or max(5, min(250, int(rate / 4)))
        self.concurrency = concurrency or max(8, min(256, int(rate / 4)))
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.request_timeout = request_timeout
        self.lease = lease
        self.on_settled = on_settled
        self.linger = linger
        self._unsettled = 0  # batches being sent, whose rows are not settled yet
        self.stats = DeliveryStats()
        self._last_sent: dict[int, float] = {}
        self._lock = asyncio.Lock()
        self._db = asyncio.Lock()  # claims and settles take turns (SQLite has one writer)
        self._api: LeanBotApi | None = None
        self._gate = asyncio.Semaphore(self.concurrency)
        self._chat_locks: dict[int, asyncio.Lock] = {}

    @property
    def max_unsettled(self) -> int:
        """Rows that may have reached Telegram without their state committed: the duplicate bound."""
        return 2 * self.batch_size

    async def run(self, budget: float = 30.0) -> int:
        """Deliver due messages until none is left or `budget` seconds have passed; returns how many were sent."""
        if self._lock.locked():
            return 0
        async with self._lock:
            deadline = time.monotonic() + budget
            sent_before = self.stats.sent
            await self._release_expired_leases()
            # Two batches overlap (one finishing its slowest sends while the next starts), and the one
            # after them is being claimed: the pacer, not the database, sets the pace.
            in_flight: deque[asyncio.Task[None]] = deque()
            claim = asyncio.create_task(self._prepare(deadline))
            try:
                while True:
                    batch = await claim
                    if batch is None:
                        break
                    more = time.monotonic() < deadline
                    self._unsettled += 1  # before the next claim looks at it
                    claim = asyncio.create_task(self._prepare(deadline) if more else _nothing())
                    in_flight.append(asyncio.create_task(self._send_and_settle(*batch)))
                    if len(in_flight) >= 2:
                        await in_flight.popleft()
            finally:
                for task in in_flight:
                    await task
                if not claim.done():
                    claim.cancel()
                else:  # a batch claimed but not sent goes back at once, not after the lease
                    leftover = claim.result() if not claim.cancelled() and not claim.exception() else None
                    if leftover is not None:
                        await self._unclaim([r.id for r in leftover[0]])
            return self.stats.sent - sent_before

    async def _send_and_settle(
        self, rows: Sequence[Outbox], messages: dict[int, OutgoingMessage | None]
    ) -> None:
        try:
            await self._settle(await self._send_batch(rows, messages))
        finally:
            self._unsettled -= 1

    async def _release_expired_leases(self) -> None:
        """Rows left `sending` by a process that died go back to the queue."""
        async with self._db, self.sessions.begin() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.status == OutboxStatus.sending, Outbox.not_before <= utcnow())
                .values(status=OutboxStatus.pending)
            )

    async def _unclaim(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self._db, self.sessions.begin() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.id.in_(ids), Outbox.status == OutboxStatus.sending)
                .values(status=OutboxStatus.pending, not_before=utcnow())
            )

    async def _prepare(
        self, deadline: float
    ) -> tuple[Sequence[Outbox], dict[int, OutgoingMessage | None]] | None:
        """Claim the next due batch, apply holds and render it; None when nothing is due.

        A retry due within `linger` seconds (a 5xx backoff, a short retry_after) is waited for, polling
        for new rows meanwhile, rather than left to the next tick of the job: the end of a broadcast
        does not drag on for a few retried messages.
        """
        while True:
            claimed = await self._claim()
            if not claimed:
                if self.linger and self._unsettled and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)  # the batches in flight may put retries back
                    continue
                wait = await self._next_due_in()
                if wait is None or wait > self.linger or time.monotonic() + wait >= deadline:
                    return None
                await asyncio.sleep(min(max(wait, 0.01), 0.1))
                continue
            rows = await self._apply_hold(claimed)
            if rows:
                return rows, await self._render(rows)

    async def _next_due_in(self) -> float | None:
        """Seconds until the earliest pending row is due (None if nothing is pending).

        One lookup per priority: each is the first entry of a range of the `ix_outbox_due` index, so rows
        held until the morning (thousands, at night) are never scanned.
        """
        found = []
        async with self.sessions() as session:
            for priority in {p - shift for p in Priority for shift in (0, 1)}:  # with retries' own
                earliest = await session.scalar(
                    select(func.min(Outbox.not_before)).where(
                        Outbox.status == OutboxStatus.pending, Outbox.priority == int(priority)
                    )
                )
                if earliest is not None:
                    found.append(earliest)
        return (min(found) - utcnow()).total_seconds() if found else None

    async def _claim(self) -> list[Outbox]:
        now = utcnow()
        async with self._db, self.sessions.begin() as session:
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
            claim = (
                update(Outbox)
                .where(Outbox.id.in_(ids), Outbox.status == OutboxStatus.pending)
                .values(status=OutboxStatus.sending, not_before=now + self.lease)
                .returning(Outbox)
                .execution_options(synchronize_session=False)
            )
            claimed = list((await session.scalars(claim)).all())
            claimed.sort(key=lambda r: (r.priority, r.id))
            return claimed

    async def _apply_hold(self, rows: Sequence[Outbox]) -> Sequence[Outbox]:
        """Put back the rows the hold policy defers; return the ones to send now."""
        if self.hold is None:
            return rows
        async with self._db, self.sessions.begin() as session:
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
                try:
                    result.update(await renderer(session, group))
                except Exception:
                    log.exception("renderer for %s failed", kind)
                    result.update({r.id: None for r in group})
        return result

    async def _send_batch(
        self, rows: Sequence[Outbox], messages: dict[int, OutgoingMessage | None]
    ) -> list[_Outcome]:
        cutoff = time.monotonic() - self.per_chat_interval
        if len(self._last_sent) > 10_000:
            self._last_sent = {chat: at for chat, at in self._last_sent.items() if at > cutoff}
        if len(self._chat_locks) > 10_000:
            self._chat_locks = {c: lock for c, lock in self._chat_locks.items() if lock.locked()}
        chat_locks = self._chat_locks
        gate = self._gate

        async def one(row: Outbox) -> _Outcome:
            async with gate, chat_locks.setdefault(row.chat_id, asyncio.Lock()):
                try:
                    return await self._send_one(row, messages.get(row.id))
                except Exception as exc:  # never leave a row claimed because of a surprise
                    log.exception("sending outbox row %s failed", row.id)
                    return self._settle_retry(row, exc)

        return list(await asyncio.gather(*(one(row) for row in rows)))

    async def _settle(self, outcomes: list[_Outcome]) -> None:
        if not outcomes:
            return
        async with self._db, self.sessions.begin() as session:
            await session.execute(update(Outbox), [{"id": o.row_id, **o.values} for o in outcomes])
            blocked = sorted({o.blocked_chat for o in outcomes if o.blocked_chat is not None})
            if blocked:
                await session.execute(
                    update(User)
                    .where(User.telegram_id.in_(blocked))
                    .values(is_active=False, blocked_at=utcnow())
                )
        broadcasts = {o.broadcast_id for o in outcomes if o.broadcast_id is not None}
        if broadcasts and self.on_settled is not None:
            try:
                await self.on_settled(broadcasts)
            except Exception:
                log.exception("delivery report hook failed")

    async def _wait_chat(self, chat_id: int) -> None:
        """One message per chat per `per_chat_interval` (Telegram's per-chat limit)."""
        last = self._last_sent.get(chat_id)
        if last is not None:
            wait = last + self.per_chat_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)

    def _lean(self) -> LeanBotApi:
        """Sends go straight to the Bot API over a lean keep-alive client (`services.delivery_http`):
        building aiogram's pydantic objects and aiohttp's requests costs about a millisecond per
        message, which is all the CPU a 1000/s broadcast has. The wire format is the same."""
        if self._api is None:
            self._api = LeanBotApi(self.method_url, pool=self.concurrency)
        return self._api

    async def close(self) -> None:
        """Close the kept-alive connections."""
        if self._api is not None:
            await self._api.close()
            self._api = None

    def _payload(self, row: Outbox, message: OutgoingMessage) -> tuple[str, dict[str, Any]]:
        payload: dict[str, Any] = {"chat_id": row.chat_id}
        if message.parse_mode:
            payload["parse_mode"] = message.parse_mode
        markup = message.reply_markup
        if markup is not None:
            payload["reply_markup"] = (
                markup if isinstance(markup, dict) else markup.model_dump(mode="json", exclude_none=True)
            )
        if self.paid:
            payload["allow_paid_broadcast"] = True
        if message.photo:
            return "sendPhoto", {**payload, "photo": message.photo, "caption": message.text}
        if message.document:
            return "sendDocument", {**payload, "document": message.document, "caption": message.text}
        return "sendMessage", {**payload, "text": message.text}

    async def _call(self, row: Outbox, message: OutgoingMessage) -> dict[str, Any]:
        """POST one send; returns Telegram's `result` or raises `SendError` with its answer."""
        method, payload = self._payload(row, message)
        status, answer = await self._lean().post(method, payload, self.request_timeout)
        if isinstance(answer, dict) and answer.get("ok"):
            return dict(answer.get("result") or {})
        answer = answer if isinstance(answer, dict) else {}
        raise SendError(
            int(answer.get("error_code") or status),
            str(answer.get("description") or f"HTTP {status}"),
            (answer.get("parameters") or {}).get("retry_after"),
        )

    async def _send_one(self, row: Outbox, message: OutgoingMessage | None) -> _Outcome:
        if message is None:
            return _Outcome(
                row.id,
                {"status": OutboxStatus.failed, "last_error": "obsolete"},
                broadcast_id=row.broadcast_id,
            )
        await self._wait_chat(row.chat_id)
        await self.pacer.wait()
        try:
            sent = await self._call(row, message)
        except SendError as exc:
            if exc.code == 429:
                retry_after = float(exc.retry_after or 1)
                self.stats.rate_limited += 1
                self.pacer.pause(retry_after)
                return _Outcome(
                    row.id,
                    {
                        "status": OutboxStatus.pending,
                        "not_before": utcnow() + timedelta(seconds=retry_after),
                        "last_error": exc.description[:500],
                    },
                )
            if exc.code == 403 or (exc.code == 400 and "chat not found" in exc.description.lower()):
                self.stats.undeliverable += 1
                return self._settle_undeliverable(row, exc.description)
            if 400 <= exc.code < 500:
                self.stats.failed += 1
                return _Outcome(
                    row.id,
                    {"status": OutboxStatus.failed, "last_error": exc.description[:500]},
                    broadcast_id=row.broadcast_id,
                )
            return self._settle_retry(row, exc)
        except Exception as exc:  # timeouts and connection resets: retried with backoff
            return self._settle_retry(row, exc)
        finally:
            self._last_sent[row.chat_id] = time.monotonic()
        self.stats.sent += 1
        self.stats.last_sent_at = time.monotonic()
        if self.stats.first_sent_at is None:
            self.stats.first_sent_at = self.stats.last_sent_at
        self.stats.by_kind[row.kind] = self.stats.by_kind.get(row.kind, 0) + 1
        return _Outcome(
            row.id,
            {
                "status": OutboxStatus.sent,
                "sent_at": utcnow(),
                "message_id": sent.get("message_id"),
                "last_error": None,
            },
            broadcast_id=row.broadcast_id,
        )

    def _settle_undeliverable(self, row: Outbox, reason: str) -> _Outcome:
        return _Outcome(
            row.id,
            {"status": OutboxStatus.undeliverable, "last_error": reason[:500]},
            blocked_chat=row.chat_id,
            broadcast_id=row.broadcast_id,
        )

    def _settle_retry(self, row: Outbox, exc: BaseException) -> _Outcome:
        attempts = row.attempts + 1
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if attempts >= self.max_attempts:
            self.stats.failed += 1
            return _Outcome(
                row.id,
                {"status": OutboxStatus.failed, "attempts": attempts, "last_error": reason},
                broadcast_id=row.broadcast_id,
            )
        self.stats.retried += 1
        backoff = timedelta(seconds=min(self.backoff * 2 ** (attempts - 1), 300))
        return _Outcome(
            row.id,
            {
                "status": OutboxStatus.pending,
                "attempts": attempts,
                "not_before": utcnow() + backoff,
                "last_error": reason,
                # Once its backoff is over, a retry goes before the fresh rows of its kind (claims are
                # ordered by priority, then not_before): otherwise it would wait for the whole broadcast.
                "priority": row.priority - 1 if attempts == 1 else row.priority,
            },
        )


async def _nothing() -> None:
    return None
