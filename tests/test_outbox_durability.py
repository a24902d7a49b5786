"""Announcements wait in the database: a bot that was down delivers them when it starts, and once only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.app import build_app
from bot.demo import seed_directory
from models import EventKind, Outbox, OutboxStatus, School
from models.base import utcnow
from services.events import EventDraft, create_event, publish_event
from tests.conftest import DaytimeClock, make_settings
from tests.dbcheck import outbox_drained, rows
from tests.flows import SCHOOL_A, subscribe


async def test_pending_announcements_survive_a_restart(emulator, database_url):
    settings = make_settings(emulator, database_url)
    first = build_app(settings, clock=DaytimeClock())
    await first.prepare()
    async with first.sessions.begin() as session:
        await seed_directory(session)
    await first.start()
    pupil = emulator.user(6001, language_code="ru")
    try:
        await subscribe(pupil, "Я ученик", SCHOOL_A, 9)
    finally:
        await first.stop()

    # While the bot is down, an event is published: only the outbox knows about the announcement.
    offline = build_app(settings, clock=DaytimeClock())
    async with offline.sessions.begin() as session:
        school = await session.scalar(select(School).where(School.name == SCHOOL_A))
        draft = EventDraft(
            kind=EventKind.excursion, title="Неделя без турникетов", starts_at=utcnow() + timedelta(days=3),
            municipality_id=school.municipality_id, grade_min=5, grade_max=9,
        )  # fmt: skip
        event = await create_event(session, draft, None)
        assert await publish_event(session, event) == 1
        assert await publish_event(session, event) == 0, "publishing twice queues nothing new"
    await offline.stop()
    before = len(pupil.bot_messages)

    second = build_app(settings, clock=DaytimeClock())
    await second.start()
    try:
        await pupil.wait_for(lambda u: "Неделя без турникетов" in (u.last.text or ""), timeout=10)
        await outbox_drained(second)
    finally:
        await second.stop()

    third = build_app(settings, clock=DaytimeClock())  # another restart: nothing is sent again
    await third.start()
    try:
        await asyncio.sleep(1.0)
        await outbox_drained(third)
        states = await rows(third, select(Outbox.status).where(Outbox.kind == "announcement"))
    finally:
        await third.stop()
    assert len(pupil.bot_messages) == before + 1
    assert states == [(OutboxStatus.sent,)]
