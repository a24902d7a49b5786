"""Event fan-out costs on a SQLite file: queueing an announcement to N families, rendering those cards
(one children query per batch), and a reminder pass repeated every minute (must stay one statement)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.clock import TestClock
from bot.demo import seed_directory
from bot.i18n import build_i18n
from models import EventKind, Learner, Municipality, Outbox, Role, Rsvp, RsvpStatus, School, User, UserRole
from models.database import create_engine, create_session_factory
from models.migrate import upgrade
from services.events import EventDraft, create_event, publish_event
from services.notifications import announcement_renderer
from services.reminders import queue_reminders


async def _world(url: str, families: int) -> tuple[Any, Any, int]:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        await seed_directory(session)
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        schools = (await session.scalars(select(School.id).where(School.municipality_id == kostroma))).all()
        now = datetime.now(UTC)
        for n in range(families):
            user = User(telegram_id=10_000 + n, consent_at=now, language="ru")
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role=Role.parent, municipality_id=kostroma))
            session.add(Learner(user_id=user.id, school_id=schools[n % len(schools)], grade=8 + n % 4))
            if n % 2:
                session.add(Learner(user_id=user.id, school_id=schools[(n + 1) % len(schools)], grade=9))
    return engine, sessions, int(kostroma or 0)


async def _run(families: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        engine, sessions, kostroma = await _world(url, families)
        clock = TestClock(datetime.now(UTC))
        start = clock.now() + timedelta(days=3)
        t0 = time.perf_counter()
        async with sessions.begin() as session:
            draft = EventDraft(kind=EventKind.open_day, title="ДОД", starts_at=start, municipality_id=kostroma,
                               grade_min=8, grade_max=11, for_students=True, for_parents=True)  # fmt: skip
            event = await create_event(session, draft, None, clock.now())
            queued = await publish_event(session, event, clock.now())
            event_id = event.id
        enqueue_s = time.perf_counter() - t0
        render = announcement_renderer(build_i18n("ru"), clock)
        per_batch = []
        async with sessions() as session:
            rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
            for i in range(0, len(rows), 100):
                t1 = time.perf_counter()
                rendered = await render(session, rows[i : i + 100])
                per_batch.append(time.perf_counter() - t1)
                assert all(m is not None for m in rendered.values())
        async with sessions.begin() as session:
            learners = (await session.execute(select(Learner.id, Learner.user_id))).all()
            for learner_id, user_id in learners:
                session.add(Rsvp(event_id=event_id, user_id=user_id, learner_id=learner_id,
                                 status=RsvpStatus.going, created_at=clock.now(), updated_at=clock.now()))  # fmt: skip
        clock.set(start - timedelta(hours=23))
        passes = []
        for _ in range(repeats):
            t2 = time.perf_counter()
            async with sessions.begin() as session:
                await queue_reminders(session, clock.now())
            passes.append(time.perf_counter() - t2)
        await engine.dispose()
    return {
        "announcements_queued": queued,
        "enqueue_seconds": round(enqueue_s, 4),
        "render_batch100_median_ms": round(statistics.median(per_batch) * 1000, 2),
        "reminder_first_pass_ms": round(passes[0] * 1000, 2),
        "reminder_repeat_pass_median_ms": round(statistics.median(passes[1:]) * 1000, 2),
    }


async def scenarios(quick: bool) -> AsyncIterator[dict[str, Any]]:
    for families in (200,) if quick else (1000, 5000):
        figures = await _run(families, repeats=5 if quick else 11)
        yield {"scenario": "events.fanout", "params": {"families": families}, "figures": figures}
