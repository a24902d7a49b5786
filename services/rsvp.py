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


async def _learners_for(session: AsyncSession, event: Event, profile: Profile) -> Sequence[Learner]:
    ids = matching_learners(event).where(Learner.user_id == profile.user.id).with_only_columns(Learner.id)
    return (await session.scalars(select(Learner).where(Learner.id.in_(ids)).order_by(Learner.id))).all()


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
    learners = await _learners_for(session, event, profile)
    if learners:
        for learner in learners:
            await _upsert(session, event.id, profile.user.id, learner, status)
    elif event.for_teachers and profile.has(Role.teacher):
        await _upsert(session, event.id, profile.user.id, None, status)
    else:
        return RsvpResult(event, refusal=RsvpRefusal.not_for_you)
    return RsvpResult(event, status=status, learners=len(learners))


async def _upsert(
    session: AsyncSession, event_id: int, user_id: int, learner: Learner | None, status: RsvpStatus
) -> None:
    """One row per pupil per event, whatever the number of taps (the unique index decides).

    The pupil's school, grade and ОВЗ flag are copied so counts survive the parent's /forget.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    learner_id = learner.id if learner is not None else None
    respondent = ("student" if learner.is_self else "parent") if learner is not None else "teacher"
    stmt = insert(Rsvp).values(
        event_id=event_id,
        user_id=user_id,
        learner_id=learner_id,
        status=status,
        respondent_role=respondent,
        school_id=learner.school_id if learner is not None else None,
        grade=learner.grade if learner is not None else None,
        ovz=learner.ovz if learner is not None else False,
        created_at=now,
        updated_at=now,
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
