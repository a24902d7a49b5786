"""Answering an event: «Пойду», «Возможно», «Не пойду», for oneself or for one of one's children.

Seats are counted under the event's lock; beyond capacity a «Пойду» joins the wait list.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventStatus, Learner, Role, Rsvp, RsvpStatus
from models.base import utcnow
from services.audience import matching_learners
from services.events import lock_event, seats_taken
from services.people import Profile

ANSWERS = (RsvpStatus.going, RsvpStatus.maybe, RsvpStatus.not_going)
HOLDS_SEAT = (RsvpStatus.going, RsvpStatus.offered)
SELF = 0  # the target id meaning «я сам(а)»


class RsvpRefusal(enum.StrEnum):
    no_event = "no_event"
    closed = "closed"
    deadline = "deadline"
    started = "started"
    not_for_you = "not_for_you"
    bad_answer = "bad_answer"


@dataclass(frozen=True)
class Option:
    """Someone the user may answer for: one of their pupils, or themself (learner None)."""

    learner: Learner | None

    @property
    def target(self) -> int:
        return self.learner.id if self.learner is not None else SELF


@dataclass(frozen=True)
class RsvpResult:
    event: Event | None
    status: RsvpStatus | None = None
    refusal: RsvpRefusal | None = None
    options: Sequence[Option] = field(default_factory=tuple)  # set when the user must choose whom
    position: int | None = None  # place on the wait list
    freed: bool = False  # a seat was given up (the caller promotes the next in line)

    @property
    def ok(self) -> bool:
        return self.refusal is None

    @property
    def needs_choice(self) -> bool:
        return self.refusal is None and self.status is None and len(self.options) > 1


async def options_for(session: AsyncSession, event: Event, profile: Profile) -> list[Option]:
    """The user's pupils the event is for, plus themself for events meant for parents or teachers."""
    ids = matching_learners(event).where(Learner.user_id == profile.user.id).with_only_columns(Learner.id)
    learners = (await session.scalars(select(Learner).where(Learner.id.in_(ids)).order_by(Learner.id))).all()
    found = [Option(learner) for learner in learners]
    if (event.for_parents and profile.has(Role.parent)) or (event.for_teachers and profile.has(Role.teacher)):
        found.append(Option(None))
    return found


async def open_event(
    session: AsyncSession, event_id: int, now: datetime
) -> tuple[Event | None, RsvpRefusal | None]:
    """The event if answers are open now, else why not."""
    event = await session.get(Event, event_id)
    if event is None or event.status is EventStatus.draft:
        return None, RsvpRefusal.no_event
    if event.status is not EventStatus.published:
        return event, RsvpRefusal.closed
    if event.starts_at <= now:
        return event, RsvpRefusal.started
    if event.registration_deadline is not None and event.registration_deadline <= now:
        return event, RsvpRefusal.deadline
    return event, None


async def answer(
    session: AsyncSession,
    profile: Profile,
    event_id: int,
    status: RsvpStatus,
    now: datetime | None = None,
    target: int | None = None,
) -> RsvpResult:
    """Record the answer for one target (a pupil id of the user's, or SELF); ask whom when it is ambiguous."""
    now = now or utcnow()
    if status not in ANSWERS:
        return RsvpResult(None, refusal=RsvpRefusal.bad_answer)
    event, refusal = await open_event(session, event_id, now)
    if refusal is not None or event is None:
        return RsvpResult(event, refusal=refusal or RsvpRefusal.no_event)
    options = await options_for(session, event, profile)
    if not options:
        return RsvpResult(event, refusal=RsvpRefusal.not_for_you)
    if target is None:
        if len(options) > 1:
            return RsvpResult(event, options=options)
        chosen = options[0]
    else:
        match = [o for o in options if o.target == target]
        if not match:  # forged or stale: a pupil that is not theirs or not invited
            return RsvpResult(event, refusal=RsvpRefusal.not_for_you)
        chosen = match[0]
    return await _record(session, event, profile, chosen, status, now)


async def find_rsvp(
    session: AsyncSession, event_id: int, user_id: int, learner_id: int | None
) -> Rsvp | None:
    query = select(Rsvp).where(Rsvp.event_id == event_id)
    if learner_id is None:
        query = query.where(Rsvp.user_id == user_id, Rsvp.learner_id.is_(None))
    else:
        query = query.where(Rsvp.learner_id == learner_id)
    return await session.scalar(query)


async def _record(
    session: AsyncSession, event: Event, profile: Profile, option: Option, status: RsvpStatus, now: datetime
) -> RsvpResult:
    from services.waitlist import position

    if event.capacity is not None:
        await lock_event(session, event.id)
    learner = option.learner
    row = await find_rsvp(session, event.id, profile.user.id, learner.id if learner else None)
    created = row is None
    if row is None:
        await _insert(session, event.id, profile, learner, now)
        row = await find_rsvp(session, event.id, profile.user.id, learner.id if learner else None)
        assert row is not None
    previous = None if created else row.status
    new = status
    if status is RsvpStatus.going:
        if previous in (RsvpStatus.going, RsvpStatus.offered):
            new = RsvpStatus.going  # a double tap, or confirming an offer by the card
        elif previous is RsvpStatus.waitlisted:
            new = RsvpStatus.waitlisted  # keeps the place in line
        elif event.capacity is not None and await seats_taken(session, event.id) >= event.capacity:
            new = RsvpStatus.waitlisted
    freed = previous in HOLDS_SEAT and new not in HOLDS_SEAT
    if new is not previous or created:
        row.status = new
        row.updated_at = now
        row.offer_expires_at = None
    row.user_id = profile.user.id
    await session.flush()
    pos = await position(session, row) if new is RsvpStatus.waitlisted else None
    return RsvpResult(event, status=new, position=pos, freed=freed)


async def _insert(
    session: AsyncSession, event_id: int, profile: Profile, learner: Learner | None, now: datetime
) -> None:
    """One row per pupil (or per user for themself) whatever the number of taps; the unique index decides.

    The pupil's school, grade and ОВЗ flag are copied so counts survive the parent's /forget.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if learner is not None:
        respondent = "student" if learner.is_self else "parent"
    else:
        respondent = "parent" if profile.has(Role.parent) else "teacher"
    stmt = insert(Rsvp).values(
        event_id=event_id,
        user_id=profile.user.id,
        learner_id=learner.id if learner is not None else None,
        status=RsvpStatus.not_going,
        respondent_role=respondent,
        school_id=learner.school_id if learner is not None else None,
        grade=learner.grade if learner is not None else None,
        ovz=learner.ovz if learner is not None else False,
        walk_in=False,
        created_at=now,
        updated_at=now,
    )
    if learner is not None:
        target, where = ["event_id", "learner_id"], Rsvp.learner_id.is_not(None)
    else:
        target, where = ["event_id", "user_id"], Rsvp.learner_id.is_(None)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=target, index_where=where))


async def my_answers(session: AsyncSession, profile: Profile, event_id: int) -> list[Rsvp]:
    """The user's rows for an event (one per pupil, or their own), in a stable order."""
    query = select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.user_id == profile.user.id).order_by(Rsvp.id)
    return list((await session.scalars(query)).all())


async def my_answer(session: AsyncSession, profile: Profile, event_id: int) -> RsvpStatus | None:
    query = (
        select(Rsvp.status)
        .where(Rsvp.event_id == event_id, Rsvp.user_id == profile.user.id)
        .order_by(Rsvp.updated_at.desc())
        .limit(1)
    )
    return await session.scalar(query)
