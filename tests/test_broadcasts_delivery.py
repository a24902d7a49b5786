"""The delivery engine on its own, against the emulator: faults, priorities, pacing, kill -9 and restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from benchmarks._seed import FIRST_CHAT, seed
from benchmarks._worker import NOTE, note_renderer
from models import Outbox, OutboxStatus, Priority, User
from models.base import utcnow
from models.database import create_engine, create_session_factory
from sandbox import Emulator
from services.delivery import Delivery
from services.delivery_http import method_url
from services.outbox import enqueue

ROOT = Path(__file__).resolve().parent.parent


async def _engine_over(database_url: str, emulator: Emulator, n: int, **options: object):
    await seed(database_url, n)
    for i in range(n):
        emulator.user(FIRST_CHAT + i).started = True
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    urls = method_url(emulator.url, "4242:TEST-delivery")
    delivery = Delivery(urls, sessions, {NOTE: note_renderer}, **options)  # type: ignore[arg-type]
    return engine, sessions, delivery


async def _until(condition, timeout: float = 60.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def _drain(delivery: Delivery, sessions, rounds: int = 200) -> None:
    """Run the engine as the scheduler would, until nothing is pending or in flight."""
    left = select(func.count()).where(Outbox.status.in_([OutboxStatus.pending, OutboxStatus.sending]))
    for _ in range(rounds):
        await delivery.run(budget=30)
        async with sessions() as session:
            if not await session.scalar(left):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not drain")


async def test_every_message_arrives_despite_5xx_timeouts_resets_and_429(emulator, database_url):
    engine, sessions, delivery = await _engine_over(
        database_url, emulator, 60, rate=200.0, backoff=0.05, request_timeout=0.5, max_attempts=20
    )
    try:
        emulator.set_faults(
            method="sendMessage",
            seed=3,
            error_rate=0.15,
            error_status=503,
            timeout_rate=0.05,
            timeout_s=1.0,
            reset_rate=0.1,
            force_429=3,
            retry_after=1,
        )
        await _drain(delivery, sessions)
        counts = emulator.counters.delivered_by_chat
        missing = [c for c in range(FIRST_CHAT, FIRST_CHAT + 60) if counts.get(c, 0) == 0]
        assert missing == []
        # A timeout may hide a send Telegram did make: at-least-once, duplicates only from those.
        duplicates = sum(v - 1 for v in counts.values() if v > 1)
        assert duplicates <= delivery.stats.retried
        assert emulator.counters.too_many_requests >= 3 and delivery.stats.rate_limited >= 3
        assert emulator.counters.by_status.get(503, 0) > 0 and emulator.counters.by_status.get(0, 0) > 0
        async with sessions() as session:
            statuses = dict(
                (await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all()
            )
        assert statuses == {OutboxStatus.sent: 60}
    finally:
        await delivery.close()
        await engine.dispose()


async def test_permanent_errors_give_up_with_the_reason(emulator, database_url):
    engine, sessions, delivery = await _engine_over(
        database_url, emulator, 5, rate=100.0, backoff=60.0, max_attempts=3, linger=0.0
    )  # a long first backoff: however slow the machine, one run is one attempt, so the test can look
    try:
        emulator.user(FIRST_CHAT + 1).started = False  # never started the bot: 400 chat not found
        emulator.user(FIRST_CHAT + 2).block()
        emulator.set_faults(method="sendMessage", error_rate=1.0, error_status=502)
        await delivery.run(budget=5)
        emulator.clear_faults()
        async with sessions() as session:
            failing = await session.scalar(select(func.count()).where(Outbox.attempts == 1))
        assert failing == 5  # 502 for everyone: all retried once so far
        delivery.backoff = 0.01
        async with sessions.begin() as session:  # the backoff is over
            await session.execute(update(Outbox).values(not_before=utcnow()))
        emulator.set_faults(method="sendMessage", error_rate=1.0, error_status=502)
        await _drain(delivery, sessions)
        async with sessions() as session:
            rows = (await session.execute(select(Outbox.status, Outbox.attempts, Outbox.last_error))).all()
            inactive = (
                await session.scalars(select(User.telegram_id).where(User.is_active.is_(False)))
            ).all()
        assert {r.status for r in rows} == {OutboxStatus.failed}
        assert all(r.attempts == 3 and "502" in (r.last_error or "") for r in rows)
        assert inactive == []  # server errors say nothing about the user

        emulator.clear_faults()
        async with sessions.begin() as session:
            await session.execute(
                update(Outbox).values(status=OutboxStatus.pending, attempts=0, not_before=utcnow())
            )
        await _drain(delivery, sessions)
        async with sessions() as session:
            by_chat = dict((await session.execute(select(Outbox.chat_id, Outbox.status))).all())
            inactive = (
                await session.scalars(select(User.telegram_id).where(User.is_active.is_(False)))
            ).all()
        assert by_chat[FIRST_CHAT + 1] is OutboxStatus.undeliverable
        assert by_chat[FIRST_CHAT + 2] is OutboxStatus.undeliverable
        assert sorted(inactive) == [FIRST_CHAT + 1, FIRST_CHAT + 2]
        assert [s for c, s in by_chat.items() if s is OutboxStatus.sent] == [OutboxStatus.sent] * 3
    finally:
        await delivery.close()
        await engine.dispose()


async def test_a_personal_message_overtakes_a_mass_broadcast(emulator, database_url):
    engine, sessions, delivery = await _engine_over(database_url, emulator, 400, rate=100.0)
    try:
        runner = asyncio.create_task(_drain(delivery, sessions))
        await _until(lambda: emulator.counters.delivered_total >= 60)
        async with sessions.begin() as session:
            await enqueue(
                session,
                key="reminder:1",
                chat_id=FIRST_CHAT + 399,
                user_id=400,
                kind=NOTE,
                priority=Priority.personal,
            )
        await runner
        async with sessions() as session:
            personal_at = await session.scalar(select(Outbox.sent_at).where(Outbox.key == "reminder:1"))
            after = await session.scalar(
                select(func.count()).where(
                    Outbox.priority == Priority.broadcast, Outbox.sent_at > personal_at
                )
            )
        # Enqueued with about 340 broadcast messages still to go, it waited for at most the batches
        # already claimed (2 × 50), not for the broadcast.
        assert after >= 400 - 60 - 2 * delivery.batch_size - delivery.batch_size
    finally:
        await delivery.close()
        await engine.dispose()


PACED_CHATS = 100  # one broadcast row each
GLOBAL_BURST = 5  # the emulator's global bucket: 30/s, at most 5 at once
BUSY_CHATS = 3  # and these get PER_BUSY_CHAT messages in all, one a second at most
PER_BUSY_CHAT = 4


async def _pacing_scenario(database_url: str, emulator: Emulator, **options: object):
    """A broadcast to 100 chats plus three personal messages more to each of three of them, against an
    emulator stricter than Telegram: 30/s with a burst of only 5 (the engine spaces sends ~33 ms apart; a
    burst of 5 absorbs an event loop stalled for 5 intervals on a busy machine, not a batch sent at once),
    and 1/s per chat with no burst at all, so a second message to a chat within a second is a 429."""
    engine, sessions, delivery = await _engine_over(database_url, emulator, PACED_CHATS, **options)
    emulator.set_limits(global_rate=30.0, global_burst=GLOBAL_BURST, per_chat_rate=1.0, per_chat_burst=1)
    async with sessions.begin() as session:
        for chat in range(BUSY_CHATS):
            for i in range(PER_BUSY_CHAT - 1):
                await enqueue(
                    session, key=f"p:{chat}:{i}", chat_id=FIRST_CHAT + chat, user_id=chat + 1, kind=NOTE
                )
    return engine, sessions, delivery


async def test_pacing_stays_under_the_limits_without_429(emulator, database_url):
    engine, sessions, delivery = await _pacing_scenario(database_url, emulator, rate=30.0)
    try:
        total = PACED_CHATS + BUSY_CHATS * (PER_BUSY_CHAT - 1)
        assert total > 20 * emulator.limits()["global_burst"] and PER_BUSY_CHAT > 1  # the burst of a chat
        await _drain(delivery, sessions)
        assert emulator.counters.too_many_requests == 0
        assert emulator.counters.delivered_total == total
        by_chat = emulator.counters.delivered_by_chat
        assert [by_chat[FIRST_CHAT + c] for c in range(BUSY_CHATS)] == [PER_BUSY_CHAT] * BUSY_CHATS
        assert delivery.stats.rate_limited == 0
    finally:
        await delivery.close()
        await engine.dispose()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"rate": 30.0, "per_chat_interval": 0.0}, id="no per-chat pacing"),
        pytest.param({"rate": 60.0}, id="twice the global rate"),
    ],
)
async def test_the_pacing_scenario_catches_an_engine_that_exceeds_a_limit(emulator, database_url, options):
    """The scenario above can fail: without per-chat pacing, or paced at twice the limit, it meets 429s."""
    engine, _sessions, delivery = await _pacing_scenario(database_url, emulator, linger=0.0, **options)
    try:
        await delivery.run(budget=3)
        assert emulator.counters.too_many_requests > 0
        assert delivery.stats.rate_limited > 0
    finally:
        await delivery.close()
        await engine.dispose()


async def _worker(database_url: str, api_url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks._worker",
        database_url,
        api_url,
        "--rate",
        "150",
        "--lease",
        "1",
        "--budget",
        "90",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.timeout(240)
async def test_kill_9_mid_broadcast_loses_nothing(emulator, database_url):
    n = 1500
    await seed(database_url, n)
    for i in range(n):
        emulator.user(FIRST_CHAT + i).started = True
    first = await _worker(database_url, emulator.url)
    await _until(
        lambda: emulator.counters.delivered_total >= 300 or first.returncode is not None, timeout=120
    )
    assert first.returncode is None, "the worker ended before it was killed"
    first.send_signal(signal.SIGKILL)
    await first.wait()
    at_kill = emulator.counters.delivered_total
    assert at_kill < n, "killed too late to prove anything"

    second = await _worker(database_url, emulator.url)
    out, _ = await asyncio.wait_for(second.communicate(), timeout=200)
    assert second.returncode == 0
    report = json.loads(out.decode().strip().splitlines()[-1])
    counts = emulator.counters.delivered_by_chat
    missing = [c for c in range(FIRST_CHAT, FIRST_CHAT + n) if counts.get(c, 0) == 0]
    duplicates = sum(v - 1 for v in counts.values() if v > 1)
    assert missing == []
    assert duplicates <= report["max_unsettled"]
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            sent = await session.scalar(select(func.count()).where(Outbox.status == OutboxStatus.sent))
        assert sent == n
    finally:
        await engine.dispose()


async def test_a_retry_due_soon_goes_in_the_same_run(emulator, database_url):
    """A 429 with retry_after=1 (or a 5xx backoff) does not wait for the job's next tick."""
    engine, _sessions, delivery = await _engine_over(database_url, emulator, 3, rate=100.0, linger=2.0)
    try:
        emulator.force_429(1, retry_after=1)
        assert await delivery.run(budget=10) == 3, "one run sent all three, the refused one a second later"
        assert delivery.stats.rate_limited == 1
        assert sorted(emulator.counters.delivered_by_chat) == [FIRST_CHAT, FIRST_CHAT + 1, FIRST_CHAT + 2]
    finally:
        await delivery.close()
        await engine.dispose()


def test_a_first_retry_goes_before_fresh_rows_of_its_kind():
    """Claims are ordered by priority: a retried broadcast row does not wait for the rest of the broadcast."""
    delivery = Delivery(lambda method: method, None, {})  # type: ignore[arg-type]
    row = Outbox(id=1, chat_id=5, priority=int(Priority.broadcast), attempts=0)
    first = delivery._settle_retry(row, ConnectionResetError())
    assert first.values["priority"] == Priority.broadcast - 1
    assert Priority.broadcast - 1 > Priority.announcement, "still behind announcements and personal messages"
    row.attempts, row.priority = 1, first.values["priority"]
    assert delivery._settle_retry(row, ConnectionResetError()).values["priority"] == Priority.broadcast - 1
