"""When a pupil leaves the bot (a child removed from a profile, a student's own profile replaced, /forget).

Two promises meet here. Reports must not change after the fact: a pupil who answered events stays as an
anonymous learner (school, grade, ОВЗ mark, no user), so past counts hold. And nobody should keep a seat
they will never be reminded of: their sign-ups to events that have not started are withdrawn and each
freed seat is offered to the wait list, as if they had pressed «Не пойду».
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventStatus, Learner, Rsvp, RsvpStatus
from models.base import utcnow
from services.waitlist import promote

# Answers that still count on the person: a seat held or asked for, or a «Возможно» that gets reminders.
STANDING = (RsvpStatus.going, RsvpStatus.maybe, RsvpStatus.waitlisted, RsvpStatus.offered)


async def withdraw_future_answers(
    session: AsyncSession, whose: ColumnElement[bool], now: datetime | None = None
) -> int:
    """Turn the standing answers matching `whose` to events not yet started into «Не пойду»; offer the
    seats they free. Returns how many answers were withdrawn."""
    now = now or utcnow()
    upcoming = select(Event.id).where(Event.status == EventStatus.published, Event.starts_at > now)
    rows = (
        await session.scalars(
            select(Rsvp).where(whose, Rsvp.status.in_(STANDING), Rsvp.event_id.in_(upcoming))
        )
    ).all()
    for rsvp in rows:
        rsvp.status = RsvpStatus.not_going
        rsvp.offer_expires_at = None
        rsvp.updated_at = now
    await session.flush()
    for event_id in sorted({r.event_id for r in rows}):
        event = await session.get(Event, event_id)
        if event is not None:
            await promote(session, event, now)
    return len(rows)


async def let_pupils_go(
    session: AsyncSession, learner_ids: Iterable[int], now: datetime | None = None
) -> None:
    """Withdraw the pupils' future answers; keep those who answered anything as anonymous learners (their
    past counts stay in reports), delete the others."""
    ids = list(learner_ids)
    if not ids:
        return
    await withdraw_future_answers(session, Rsvp.learner_id.in_(ids), now)
    answered = exists().where(Rsvp.learner_id == Learner.id)
    await session.execute(
        update(Learner)
        .where(Learner.id.in_(ids), answered)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(Learner)
        .where(Learner.id.in_(ids), Learner.user_id.is_not(None))
        .execution_options(synchronize_session=False)
    )
