"""Creating, publishing, changing and cancelling events; every notice goes into the outbox, never sent here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Event,
    EventKind,
    EventLevel,
    EventStatus,
    Priority,
    Role,
    Rsvp,
    RsvpStatus,
    School,
    User,
    UserRole,
)
from models.base import utcnow
from services.audience import recipients
from services.outbox import REPLY, enqueue_many

TITLE_MAX = 200
DESCRIPTION_MAX = 3000
VENUE_MAX = 300
URL_MAX = 500
CAPACITY_MAX = 100_000
TEACHER_KINDS = frozenset({EventKind.class_hour, EventKind.parent_meeting})
# Who hears of a change or a cancellation: everybody whose answer still holds a place or an interest.
ACTIVE = (RsvpStatus.going, RsvpStatus.maybe, RsvpStatus.waitlisted, RsvpStatus.offered)


class EventError(ValueError):
    """A rule of the domain refused the event; `code` names which, for the user's language."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class EventDraft:
    kind: EventKind
    title: str
    starts_at: datetime
    municipality_id: int
    grade_min: int = 1
    grade_max: int = 11
    for_students: bool = True
    for_parents: bool = False
    for_teachers: bool = False
    school_id: int | None = None
    venue: str | None = None
    description: str = ""
    ends_at: datetime | None = None
    online_url: str | None = None
    organisation_id: int | None = None
    level: EventLevel = EventLevel.municipal
    capacity: int | None = None
    registration_deadline: datetime | None = None
    ovz_suitable: bool = False


@dataclass(frozen=True)
class Authority:
    """What a user may create and manage: an admin everything, a coordinator a municipality, a teacher a school."""

    admin: bool = False
    municipalities: frozenset[int] = field(default_factory=frozenset)
    schools: frozenset[int] = field(default_factory=frozenset)

    @property
    def any(self) -> bool:
        return self.admin or bool(self.municipalities) or bool(self.schools)

    def may_manage(self, event: Event) -> bool:
        if self.admin or event.municipality_id in self.municipalities:
            return True
        return event.school_id is not None and event.school_id in self.schools

    def may_create(self, draft: EventDraft) -> bool:
        if self.admin or draft.municipality_id in self.municipalities:
            return True
        return draft.school_id is not None and draft.school_id in self.schools and draft.kind in TEACHER_KINDS


async def authority(session: AsyncSession, user: User | None) -> Authority:
    """Read the roles from the database each time: a button or a stale dialog never grants anything."""
    if user is None:
        return Authority()
    roles = (await session.scalars(select(UserRole).where(UserRole.user_id == user.id))).all()
    admin = any(r.role is Role.coordinator and r.municipality_id is None for r in roles)
    munis = frozenset(
        r.municipality_id for r in roles if r.role is Role.coordinator and r.municipality_id is not None
    )
    schools = frozenset(r.school_id for r in roles if r.role is Role.teacher and r.school_id is not None)
    return Authority(admin=admin, municipalities=munis, schools=schools)


def check_title(title: str) -> str:
    """The title as stored: stripped, not empty, at most TITLE_MAX characters."""
    title = title.strip()
    if not title:
        raise EventError("title_empty")
    if len(title) > TITLE_MAX:
        raise EventError("title_too_long")
    return title


def check_description(description: str) -> str:
    if len(description) > DESCRIPTION_MAX:
        raise EventError("description_too_long")
    return description


def check_capacity(capacity: int | None) -> int | None:
    """None is «no limit»; otherwise a whole number from 1 to CAPACITY_MAX."""
    if capacity is not None and not 0 < capacity <= CAPACITY_MAX:
        raise EventError("capacity")
    return capacity


def validate(draft: EventDraft, now: datetime) -> None:
    check_title(draft.title)
    check_description(draft.description)
    if draft.venue is not None and len(draft.venue) > VENUE_MAX:
        raise EventError("venue_too_long")
    if draft.online_url is not None and (
        len(draft.online_url) > URL_MAX or not draft.online_url.startswith(("http://", "https://"))
    ):
        raise EventError("bad_url")
    if draft.starts_at <= now:
        raise EventError("starts_in_past")
    if draft.ends_at is not None and draft.ends_at <= draft.starts_at:
        raise EventError("ends_before_start")
    if not (1 <= draft.grade_min <= draft.grade_max <= 11):
        raise EventError("grades")
    check_capacity(draft.capacity)
    if draft.registration_deadline is not None and not (now < draft.registration_deadline <= draft.starts_at):
        raise EventError("deadline")
    if not (draft.for_students or draft.for_parents or draft.for_teachers):
        raise EventError("no_audience")


async def check_scope(session: AsyncSession, draft: EventDraft) -> None:
    """A school named by an event must belong to the event's municipality."""
    if draft.school_id is not None:
        school = await session.get(School, draft.school_id)
        if school is None or school.municipality_id != draft.municipality_id:
            raise EventError("school_scope")


async def create_event(
    session: AsyncSession, draft: EventDraft, author: User | None, now: datetime | None = None
) -> Event:
    """Validate against the rules and the author's authority (re-read here), then store a draft."""
    validate(draft, now or utcnow())
    await check_scope(session, draft)
    if author is not None and not (await authority(session, author)).may_create(draft):
        raise EventError("forbidden")
    event = Event(**vars(draft), status=EventStatus.draft, created_by=author.id if author else None)
    event.title = draft.title.strip()
    session.add(event)
    await session.flush()
    return event


async def publish_event(session: AsyncSession, event: Event, now: datetime | None = None) -> int:
    """Mark the event published and queue one announcement per recipient; returns how many were queued."""
    if event.status not in (EventStatus.draft, EventStatus.published):
        raise EventError("not_publishable")
    if event.status is EventStatus.draft:
        event.status = EventStatus.published
        event.published_at = now or utcnow()
        await session.flush()
    return await enqueue_many(
        session,
        recipients(event),
        key_prefix=f"announce:{event.id}:",
        kind="announcement",
        event_id=event.id,
        priority=Priority.announcement,
    )


def _active_users(event_id: int) -> Select[int, int]:
    return (
        select(User.id, User.telegram_id)
        .where(
            User.id.in_(select(Rsvp.user_id).where(Rsvp.event_id == event_id, Rsvp.status.in_(ACTIVE))),
            User.is_active.is_(True),
        )
        .order_by(User.id)
    )


async def managed_event(session: AsyncSession, user: User, event_id: int) -> Event:
    """The event if the user may manage it; refuses forged ids and other people's events alike."""
    event = await session.get(Event, event_id)
    if event is None or event.status is EventStatus.draft:
        raise EventError("no_event")
    if not (await authority(session, user)).may_manage(event):
        raise EventError("forbidden")
    return event


async def change_event(
    session: AsyncSession,
    user: User,
    event_id: int,
    now: datetime,
    *,
    starts_at: datetime | None = None,
    venue: str | None = None,
) -> int:
    """Move an event or change its place; everyone signed up hears of it once per version."""
    event = await managed_event(session, user, event_id)
    if event.status is not EventStatus.published or event.starts_at <= now:
        raise EventError("not_editable")
    if starts_at is not None:
        if starts_at <= now:
            raise EventError("starts_in_past")
        duration = (event.ends_at - event.starts_at) if event.ends_at else None
        event.starts_at = starts_at
        if duration is not None:
            event.ends_at = starts_at + duration
        if event.registration_deadline is not None and event.registration_deadline > starts_at:
            event.registration_deadline = starts_at
    if venue is not None:
        venue = venue.strip()
        if not venue or len(venue) > VENUE_MAX:
            raise EventError("venue_too_long")
        event.venue = venue
    event.version += 1
    event.changed_at = now
    await session.flush()
    return await enqueue_many(
        session,
        _active_users(event.id),
        key_prefix=f"change:{event.id}:v{event.version}:",
        kind="event_changed",
        event_id=event.id,
        priority=Priority.personal,
    )


async def edit_details(
    session: AsyncSession,
    user: User,
    event_id: int,
    now: datetime,
    *,
    title: str | None = None,
    description: str | None = None,
) -> Event:
    """A new title or description (same rules as creation). Cards are rendered when sent, so every card
    from now on shows it; nobody is notified (it changes neither when nor where) and the version stays."""
    event = await managed_event(session, user, event_id)
    if event.status is not EventStatus.published or event.starts_at <= now:
        raise EventError("not_editable")
    if title is not None:
        event.title = check_title(title)
    if description is not None:
        event.description = check_description(description.strip())
    event.changed_at = now
    await session.flush()
    return event


async def set_deadline(
    session: AsyncSession, user: User, event_id: int, deadline: datetime | None, now: datetime
) -> Event:
    """A new registration deadline (None: until the start); in the future and not after the start."""
    event = await managed_event(session, user, event_id)
    if event.status is not EventStatus.published or event.starts_at <= now:
        raise EventError("not_editable")
    if deadline is not None and not now < deadline <= event.starts_at:
        raise EventError("deadline")
    event.registration_deadline = deadline
    event.changed_at = now
    await session.flush()
    return event


class SeatsTaken(EventError):
    """Fewer seats than people already going (or offered a seat) was asked for; `taken` says how many."""

    def __init__(self, taken: int):
        super().__init__("seats_taken")
        self.taken = taken


async def set_capacity(
    session: AsyncSession, user: User, event_id: int, capacity: int | None, now: datetime
) -> list[Rsvp]:
    """Change the number of seats (None: no limit). Fewer than already taken is refused; freed seats go
    to the wait list in order through the usual offers. Returns the rows offered a seat."""
    from services.waitlist import promote

    event = await managed_event(session, user, event_id)
    if event.status is not EventStatus.published or event.starts_at <= now:
        raise EventError("not_editable")
    capacity = check_capacity(capacity)
    await lock_event(session, event.id)
    taken = await seats_taken(session, event.id)
    if capacity is not None and capacity < taken:
        raise SeatsTaken(taken)
    event.capacity = capacity
    event.changed_at = now
    await session.flush()
    return await promote(session, event, now)


async def cancel_event(session: AsyncSession, user: User, event_id: int, now: datetime) -> int:
    """Cancel once; everybody signed up is told once, whatever the number of taps."""
    event = await managed_event(session, user, event_id)
    if event.status is EventStatus.cancelled:
        return 0
    if event.status is not EventStatus.published:
        raise EventError("not_editable")
    event.status = EventStatus.cancelled
    event.cancelled_at = now
    await session.flush()
    return await enqueue_many(
        session,
        _active_users(event.id),
        key_prefix=f"cancel:{event.id}:",
        kind="event_cancelled",
        event_id=event.id,
        priority=Priority.personal,
    )


async def managed_events(
    session: AsyncSession, user: User, *, upcoming: bool, now: datetime, limit: int = 20
) -> Sequence[Event]:
    """Published events the user manages: upcoming ones (to edit) or started ones (to mark attendance)."""
    auth = await authority(session, user)
    if not auth.any:
        return []
    query = select(Event).where(Event.status.in_([EventStatus.published, EventStatus.finished]))
    if not auth.admin:
        conditions = []
        if auth.municipalities:
            conditions.append(Event.municipality_id.in_(auth.municipalities))
        if auth.schools:
            conditions.append(Event.school_id.in_(auth.schools))
            # A teacher also marks their pupils at municipal events.
            if not upcoming:
                conditions.append(Event.id.in_(select(Rsvp.event_id).where(Rsvp.school_id.in_(auth.schools))))
        query = query.where(or_(*conditions))
    if upcoming:
        query = query.where(Event.starts_at > now, Event.status == EventStatus.published).order_by(
            Event.starts_at
        )
    else:
        query = query.where(Event.starts_at <= now).order_by(Event.starts_at.desc())
    return (await session.scalars(query.limit(limit))).all()


async def events_in_scope(session: AsyncSession, municipality_id: int | None) -> Sequence[Event]:
    """Published (or later) events a coordinator serves, newest first; an admin (no municipality) sees all."""
    query = select(Event).where(Event.status != EventStatus.draft)
    if municipality_id is not None:
        query = query.where(Event.municipality_id == municipality_id)
    return (await session.scalars(query.order_by(Event.starts_at.desc()).limit(50))).all()


async def announce_upcoming(session: AsyncSession, user: User, now: datetime, limit: int = 20) -> int:
    """A user who just subscribed (or added a child) hears of the upcoming published events meant for them.

    Each event once, ever (the key): events already announced to the user are not sent again. The user is
    waiting for these, so they go as a reply: before mass mailings and at once even in quiet hours.
    """
    query = (
        select(Event)
        .where(Event.status == EventStatus.published, Event.starts_at > now)
        .order_by(Event.starts_at)
        .limit(limit)
    )
    queued = 0
    for event in (await session.scalars(query)).all():
        queued += await enqueue_many(
            session,
            recipients(event).where(User.id == user.id),
            key_prefix=f"announce:{event.id}:",
            kind="announcement",
            event_id=event.id,
            priority=Priority.personal,
            payload={REPLY: True},
        )
    return queued


async def lock_event(session: AsyncSession, event_id: int) -> None:
    """Take the event's row lock (PostgreSQL) or the write lock (SQLite) before counting seats."""
    await session.execute(update(Event).where(Event.id == event_id).values(version=Event.version))


async def seats_taken(session: AsyncSession, event_id: int) -> int:
    query = select(func.count()).where(
        Rsvp.event_id == event_id, Rsvp.status.in_([RsvpStatus.going, RsvpStatus.offered])
    )
    return int(await session.scalar(query) or 0)
