"""After the event: who came (from the sign-ups, plus walk-ins), contest results, and feedback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventKind, EventStatus, Feedback, Priority, Rsvp, RsvpStatus, User
from services.events import Authority, EventError, authority
from services.outbox import enqueue

RESULTS = (None, "winner", "prize_winner")
SIGNED_UP = (RsvpStatus.going, RsvpStatus.maybe, RsvpStatus.offered)
COMMENT_MAX = 2000


async def _event_for_marking(
    session: AsyncSession, user: User, event_id: int, now: datetime
) -> tuple[Event, Authority]:
    event = await session.get(Event, event_id)
    if event is None or event.status not in (EventStatus.published, EventStatus.finished):
        raise EventError("no_event")
    auth = await authority(session, user)
    if not (auth.may_manage(event) or auth.schools):
        raise EventError("forbidden")
    if event.starts_at > now:
        raise EventError("not_started")
    return event, auth


def _visible(auth: Authority, event: Event) -> object:
    """A coordinator (or the event's own school) sees everyone; another school's teacher only their pupils."""
    if auth.may_manage(event):
        return True
    return Rsvp.school_id.in_(auth.schools)


async def participants(
    session: AsyncSession, user: User, event_id: int, now: datetime
) -> tuple[Event, list[Rsvp]]:
    """Those signed up (and walk-ins, and anyone already marked) whom this user may mark."""
    event, auth = await _event_for_marking(session, user, event_id, now)
    query = select(Rsvp).where(
        Rsvp.event_id == event.id,
        (Rsvp.status.in_(SIGNED_UP)) | Rsvp.walk_in.is_(True) | Rsvp.attended.is_(True),
        Rsvp.learner_id.is_not(None) | Rsvp.walk_in.is_(True) | Rsvp.respondent_role.is_not(None),
    )
    visible = _visible(auth, event)
    if visible is not True:
        query = query.where(visible)  # type: ignore[arg-type]
    rows = (await session.scalars(query.order_by(Rsvp.school_id, Rsvp.grade, Rsvp.id))).all()
    return event, list(rows)


async def _row(
    session: AsyncSession, user: User, event_id: int, rsvp_id: int, now: datetime
) -> tuple[Event, Rsvp]:
    event, rows = await participants(session, user, event_id, now)
    match = [r for r in rows if r.id == rsvp_id]
    if not match:
        raise EventError("forbidden")
    return event, match[0]


async def toggle_attended(
    session: AsyncSession, user: User, event_id: int, rsvp_id: int, now: datetime
) -> Rsvp:
    _, rsvp = await _row(session, user, event_id, rsvp_id, now)
    rsvp.attended = not bool(rsvp.attended)
    if not rsvp.attended:
        rsvp.result = None
    await session.flush()
    return rsvp


async def cycle_result(session: AsyncSession, user: User, event_id: int, rsvp_id: int, now: datetime) -> Rsvp:
    """none → winner → prize-winner → none; only for contests, only for those who came."""
    event, rsvp = await _row(session, user, event_id, rsvp_id, now)
    if event.kind is not EventKind.contest:
        raise EventError("not_contest")
    rsvp.attended = True
    rsvp.result = RESULTS[(RESULTS.index(rsvp.result) + 1) % len(RESULTS)]
    await session.flush()
    return rsvp


async def add_walk_in(
    session: AsyncSession, user: User, event_id: int, grade: int, now: datetime, ovz: bool = False
) -> Rsvp:
    """Someone who came without signing up: counted by school and grade, attached to nobody."""
    event, auth = await _event_for_marking(session, user, event_id, now)
    if not 1 <= grade <= 11:
        raise EventError("grades")
    school_id = event.school_id
    if school_id is None and auth.schools and not auth.may_manage(event):
        school_id = min(auth.schools)
    if school_id is None and len(auth.schools) == 1:
        school_id = next(iter(auth.schools))
    rsvp = Rsvp(
        event_id=event.id,
        user_id=None,
        learner_id=None,
        status=RsvpStatus.going,
        respondent_role="student",
        school_id=school_id,
        grade=grade,
        ovz=ovz,
        walk_in=True,
        attended=True,
        created_at=now,
        updated_at=now,
    )
    session.add(rsvp)
    await session.flush()
    return rsvp


async def finish(session: AsyncSession, user: User, event_id: int, now: datetime) -> int:
    """Close the marking: the event is finished and each attendee's user is asked for feedback, once."""
    event, rows = await participants(session, user, event_id, now)
    if (await authority(session, user)).may_manage(event):
        event.status = EventStatus.finished
    users = {r.user_id for r in rows if r.attended and r.user_id is not None}
    queued = 0
    for person in (await session.scalars(select(User).where(User.id.in_(users)))).all():
        if not person.is_active:
            continue
        queued += await enqueue(
            session,
            key=f"feedback:{event.id}:{person.id}",
            chat_id=person.telegram_id,
            user_id=person.id,
            kind="feedback_request",
            event_id=event.id,
            priority=Priority.personal,
        )
    await session.flush()
    return queued


async def may_give_feedback(session: AsyncSession, user: User, event_id: int) -> bool:
    """Only those marked as having attended rate an event (forged buttons change nothing)."""
    query = select(Rsvp.id).where(Rsvp.event_id == event_id, Rsvp.user_id == user.id, Rsvp.attended.is_(True))
    return (await session.scalar(query.limit(1))) is not None


async def rate(session: AsyncSession, user: User, event_id: int, rating: int, now: datetime) -> bool:
    """Store (or change) the user's mark 1–5; one per user and event."""
    if not 1 <= rating <= 5 or not await may_give_feedback(session, user, event_id):
        return False
    rsvp = await session.scalar(
        select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.user_id == user.id).order_by(Rsvp.id).limit(1)
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Feedback).values(
        event_id=event_id,
        user_id=user.id,
        respondent_role=rsvp.respondent_role if rsvp else None,
        school_id=rsvp.school_id if rsvp else None,
        rating=rating,
        created_at=now,
    )
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["event_id", "user_id"], set_={"rating": rating})
    )
    return True


async def comment(session: AsyncSession, user: User, event_id: int, text: str) -> bool:
    feedback = await session.scalar(
        select(Feedback).where(Feedback.event_id == event_id, Feedback.user_id == user.id)
    )
    if feedback is None:
        return False
    feedback.comment = text.strip()[:COMMENT_MAX] or None
    await session.flush()
    return True


def summary(rows: Sequence[Rsvp]) -> tuple[int, int, int]:
    """(attended, of them with ОВЗ, winners and prize-winners)."""
    came = [r for r in rows if r.attended]
    return len(came), sum(1 for r in came if r.ovz), sum(1 for r in came if r.result)
