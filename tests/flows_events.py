"""Helpers of the event tests: a bot on a movable clock, people made directly in the database, events
published through the services, and time moved for the bot and its outbox alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.app import App, build_app
from bot.clock import TestClock
from bot.demo import seed_directory
from models import Event, EventKind, Learner, Municipality, Outbox, OutboxStatus, Role, School, User, UserRole
from models.base import utcnow
from sandbox import Emulator, SimUser
from services.events import EventDraft, create_event, publish_event
from tests.conftest import make_settings
from tests.dbcheck import outbox_drained
from tests.flows import KOSTROMA, SCHOOL_A, SCHOOL_B, send_and_wait

MSK = ZoneInfo("Europe/Moscow")


def local(days: int, hour: int, minute: int = 0, base: datetime | None = None) -> datetime:
    """A Moscow wall-clock moment `days` after the base day (default: today)."""
    day = (base or datetime.now(MSK)).astimezone(MSK).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MSK)


def start_clock() -> TestClock:
    """Tomorrow 12:00 in Moscow: daytime, so nothing is held by quiet hours unless a test wants it."""
    return TestClock(local(1, 12))


async def make_app(
    emulator: Emulator, database_url: str, clock: TestClock, seed: bool = True, **settings: object
) -> App:
    values: dict[str, object] = {"EVENT_TIMERS_INTERVAL": 3600, **settings}
    application = build_app(make_settings(emulator, database_url, **values), clock=clock)
    await application.prepare()
    if seed:
        async with application.sessions.begin() as session:
            await seed_directory(session)
    await application.start()
    return application


@pytest.fixture
def clock() -> TestClock:
    return start_clock()


@pytest.fixture
async def capp(emulator: Emulator, database_url: str, clock: TestClock) -> AsyncIterator[App]:
    """The whole bot on a test clock; its timers run only when a test calls `run_timers`."""
    application = await make_app(emulator, database_url, clock)
    try:
        yield application
    finally:
        await application.stop()


async def school_id(app: App, name: str) -> int:
    async with app.sessions() as session:
        found = await session.scalar(select(School.id).where(School.name == name))
        assert found is not None
        return found


async def municipality_id(app: App, name: str = KOSTROMA) -> int:
    async with app.sessions() as session:
        found = await session.scalar(select(Municipality.id).where(Municipality.name == name))
        assert found is not None
        return found


async def person(
    app: App,
    user: SimUser,
    role: Role,
    pupils: Sequence[tuple[str, int]] = (),
    *,
    school: str | None = None,
    ovz: bool = False,
    **prefs: object,
) -> int:
    """A registered user made in the database (the chat is opened first so the bot can write to it)."""
    await send_and_wait(user, "/help")
    for _attempt in range(100):  # the bot answers before it commits the user row it made
        async with app.sessions() as session:
            if await session.scalar(select(User.id).where(User.telegram_id == user.id)) is not None:
                break
        await asyncio.sleep(0.05)
    async with app.sessions.begin() as session:
        row = await session.scalar(select(User).where(User.telegram_id == user.id))
        assert row is not None
        row.language, row.consent_at = "ru", app.clock.now()
        for key, value in prefs.items():
            setattr(row, key, value)
        await session.flush()
        scope_school = await session.scalar(select(School).where(School.name == (school or SCHOOL_A)))
        assert scope_school is not None
        session.add(
            UserRole(
                user_id=row.id,
                role=role,
                school_id=scope_school.id if role is Role.teacher else None,
                municipality_id=scope_school.municipality_id,
            )
        )
        for name, grade in pupils:
            found = await session.scalar(select(School).where(School.name == name))
            assert found is not None
            session.add(
                Learner(
                    user_id=row.id, school_id=found.id, grade=grade, is_self=role is Role.student, ovz=ovz
                )
            )
        return row.id


async def pupil(app: App, user: SimUser, grade: int = 9, school: str = SCHOOL_A, **prefs: object) -> int:
    return await person(app, user, Role.student, [(school, grade)], **prefs)


async def publish(app: App, *, title: str, starts_at: datetime, wake: bool = True, **fields: object) -> int:
    """Create and publish an event as the system (no author), then let the outbox run."""
    async with app.sessions.begin() as session:
        draft = EventDraft(
            kind=EventKind(fields.pop("kind", EventKind.open_day)),  # type: ignore[arg-type]
            title=title,
            starts_at=starts_at,
            municipality_id=int(fields.pop("municipality_id", 0)) or await municipality_id(app),  # type: ignore[call-overload]
            grade_min=int(fields.pop("grade_min", 8)),  # type: ignore[call-overload]
            grade_max=int(fields.pop("grade_max", 11)),  # type: ignore[call-overload]
            for_students=bool(fields.pop("for_students", True)),
            for_parents=bool(fields.pop("for_parents", True)),
            **fields,  # type: ignore[arg-type]
        )
        event = await create_event(session, draft, None, app.clock.now())
        await publish_event(session, event, app.clock.now())
        event_id = event.id
    if wake:
        await app.delivery.run(budget=5)
    return event_id


async def run_timers(app: App) -> dict[str, int]:
    """One pass of the timed jobs at the clock's time, then deliver what they queued."""
    assert app.event_jobs is not None
    counts = await app.event_jobs.run()
    await app.delivery.run(budget=5)
    return counts


async def advance(app: App, clock: TestClock, delta: timedelta) -> None:
    """Time passes: for the bot's clock, and for the outbox (what waited `x` now waits `x - delta`).

    The sender is let settle first (nothing due, nothing in flight): a row held while the clock jumps
    would be held from the new time and miss the shift."""
    for _attempt in range(250):
        async with app.sessions() as session:
            busy = await session.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(
                    (Outbox.status == OutboxStatus.sending)
                    | ((Outbox.status == OutboxStatus.pending) & (Outbox.not_before <= utcnow()))
                )
            )
        if not busy:
            break
        await asyncio.sleep(0.02)
    clock.advance(delta)
    async with app.sessions.begin() as session:
        rows = (
            await session.execute(
                select(Outbox.id, Outbox.not_before).where(Outbox.status == OutboxStatus.pending)
            )
        ).all()
        for row_id, not_before in rows:
            await session.execute(
                update(Outbox).where(Outbox.id == row_id).values(not_before=not_before - delta)
            )
    await app.delivery.run(budget=5)


async def drained(app: App) -> None:
    await outbox_drained(app, timeout=15)


def texts(user: SimUser) -> list[str]:
    return [m.content for m in user.bot_messages]


def count_containing(user: SimUser, fragment: str) -> int:
    return sum(1 for m in user.bot_messages if fragment in m.content)


async def event_row(app: App, event_id: int) -> Event:
    async with app.sessions() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        return event


__all__ = ["SCHOOL_A", "SCHOOL_B"]
