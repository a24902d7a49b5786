"""Creating and publishing events; publishing fills the outbox, it never sends by itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventKind, EventLevel, EventStatus, Priority, User
from models.base import utcnow
from services.audience import recipients
from services.outbox import enqueue_many

TITLE_MAX = 200
DESCRIPTION_MAX = 3000


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


def validate(draft: EventDraft, now: datetime) -> None:
    title = draft.title.strip()
    if not title:
        raise EventError("title_empty")
    if len(title) > TITLE_MAX:
        raise EventError("title_too_long")
    if len(draft.description) > DESCRIPTION_MAX:
        raise EventError("description_too_long")
    if draft.starts_at <= now:
        raise EventError("starts_in_past")
    if draft.ends_at is not None and draft.ends_at <= draft.starts_at:
        raise EventError("ends_before_start")
    if not (1 <= draft.grade_min <= draft.grade_max <= 11):
        raise EventError("grades")
    if draft.capacity is not None and draft.capacity <= 0:
        raise EventError("capacity")
    if not (draft.for_students or draft.for_parents or draft.for_teachers):
        raise EventError("no_audience")


async def create_event(session: AsyncSession, draft: EventDraft, author: User | None) -> Event:
    validate(draft, utcnow())
    event = Event(
        **{k: v for k, v in vars(draft).items()},
        status=EventStatus.draft,
        created_by=author.id if author else None,
    )
    event.title = draft.title.strip()
    session.add(event)
    await session.flush()
    return event


async def publish_event(session: AsyncSession, event: Event) -> int:
    """Mark the event published and queue one announcement per recipient; returns how many were queued."""
    if event.status not in (EventStatus.draft, EventStatus.published):
        raise EventError("not_publishable")
    if event.status is EventStatus.draft:
        event.status = EventStatus.published
        event.published_at = utcnow()
        await session.flush()
    return await enqueue_many(
        session,
        recipients(event),
        key_prefix=f"announce:{event.id}:",
        kind="announcement",
        event_id=event.id,
        priority=Priority.announcement,
    )


async def events_in_scope(session: AsyncSession, municipality_id: int | None) -> Sequence[Event]:
    """Published (or later) events a coordinator serves, newest first; an admin (no municipality) sees all."""
    query = select(Event).where(Event.status != EventStatus.draft)
    if municipality_id is not None:
        query = query.where(Event.municipality_id == municipality_id)
    return (await session.scalars(query.order_by(Event.starts_at.desc()).limit(50))).all()


async def announce_upcoming(session: AsyncSession, user: User, limit: int = 20) -> int:
    """A new subscriber hears of the upcoming published events meant for them (each once, ever)."""
    query = (
        select(Event)
        .where(Event.status == EventStatus.published, Event.starts_at > utcnow())
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
            priority=Priority.announcement,
        )
    return queued
