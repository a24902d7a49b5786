"""The sandbox's demo data: upcoming events to answer, and an autumn of finished ones so that a
coordinator's /stats, charts and /export show real-looking numbers from the first minute."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.demo import seed_demo
from models import Event, EventStatus, Rsvp
from models.base import utcnow
from services.reports import Period, Scope, overview


async def test_demo_has_upcoming_events_and_an_autumn_to_report(sessions):
    async with sessions.begin() as session:
        assert await seed_demo(session)
    async with sessions.begin() as session:
        assert not await seed_demo(session), "a second start adds nothing"
    async with sessions() as session:
        now = utcnow()
        upcoming = await session.scalar(
            select(func.count()).where(Event.status == EventStatus.published, Event.starts_at > now)
        )
        finished = await session.scalar(
            select(func.count()).where(Event.status == EventStatus.finished, Event.starts_at < now)
        )
        with_person = await session.scalar(select(func.count()).where(Rsvp.user_id.is_not(None)))
        today = now.date()
        o = await overview(session, Scope("all", "все"), Period(today - timedelta(days=100), today))
    assert upcoming == 5 and finished == 6
    assert with_person == 0, "demo pupils are anonymous: nobody in the sandbox is messaged about them"
    assert o.totals.attended > 0 and o.totals.no_shows > 0 and o.totals.unique_pupils > 0
    assert o.totals.unique_pupils <= o.totals.participations
    assert o.totals.winners + o.totals.prize_winners > 0
    assert len(o.by_month) >= 2 and o.feedback and o.trials_by_host
