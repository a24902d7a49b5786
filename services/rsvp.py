"""Answering an event: «Пойду», «Возможно», «Не пойду», for oneself or for one's children."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventStatus, Learner, Role, Rsvp, RsvpStatus
from models.base import utcnow
from services.audience import matching_learners
from services.people import Profile

ANSWERS = (RsvpStatus.going, RsvpStatus.maybe, RsvpStatus.not_going)


class RsvpRefusal(enum.StrEnum):
    no_event = "no_event"
    closed = "closed"
    deadline = "deadline"
    started = "started"
    not_for_you = "not_for_you"
    bad_answer = "bad_answer"


@dataclass(frozen=True)
class RsvpResult:
    event: Event | None
    status: RsvpStatus | None = None
    learners: int = 0
    refusal: RsvpRefusal | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


async def _learners_for(session: AsyncSession, event: Event, profile: Profile) -> Sequence[int]:
    query = matching_learners(event).where(Learner.user_id == profile.user.id)
    return [row.id for row in (await session.execute(query)).all()]


async def answer(session: AsyncSession, profile: Profile, event_id: int, status: RsvpStatus) -> RsvpResult:
    """Record the user's answer for every pupil of theirs the event is for (or themself, a teacher)."""
    if status not in ANSWERS:
        return RsvpResult(None, refusal=RsvpRefusal.bad_answer)
    event = await session.get(Event, event_id)
    if event is None or event.status is EventStatus.draft:
        return RsvpResult(None, refusal=RsvpRefusal.no_event)
    if event.status is not EventStatus.published:
        return RsvpResult(event, refusal=RsvpRefusal.closed)
    now = utcnow()
    if event.starts_at <= now:
        return RsvpResult(event, refusal=RsvpRefusal.started)
    if event.registration_deadline is not None and event.registration_deadline <= now:
        return RsvpResult(event, refusal=RsvpRefusal.deadline)
    learner_ids: list[int | None] = list(await _learners_for(session, event, profile))
    if not learner_ids:
        if event.for_teachers and profile.has(Role.teacher):
            learner_ids = [None]
        else:
            return RsvpResult(event, refusal=RsvpRefusal.not_for_you)
    for learner_id in learner_ids:
        await _upsert(session, event.id, profile.user.id, learner_id, status)
    return RsvpResult(event, status=status, learners=len([x for x in learner_ids if x is not None]))


async def _upsert(
    session: AsyncSession, event_id: int, user_id: int, learner_id: int | None, status: RsvpStatus
) -> None:
    """One row per pupil per event, whatever the number of taps (the unique index decides)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = insert(Rsvp).values(
        event_id=event_id, user_id=user_id, learner_id=learner_id, status=status, created_at=now, updated_at=now
    )
    if learner_id is not None:
        target, where = ["event_id", "learner_id"], Rsvp.learner_id.is_not(None)
    else:
        target, where = ["event_id", "user_id"], Rsvp.learner_id.is_(None)
    stmt = stmt.on_conflict_do_update(
        index_elements=target,
        index_where=where,
        set_={"status": status, "updated_at": now, "user_id": user_id},
    )
    await session.execute(stmt)


async def my_answer(session: AsyncSession, profile: Profile, event_id: int) -> RsvpStatus | None:
    query = (
        select(Rsvp.status)
        .where(Rsvp.event_id == event_id, Rsvp.user_id == profile.user.id)
        .order_by(Rsvp.updated_at.desc())
        .limit(1)
    )
    return await session.scalar(query)
