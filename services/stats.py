"""Participation counts, computed by the database (aggregates over indexed tables)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventStatus, Outbox, OutboxStatus, Rsvp, RsvpStatus


@dataclass(frozen=True)
class EventCounts:
    event: Event
    notified: int
    going: int
    maybe: int
    not_going: int


async def event_counts(
    session: AsyncSession, municipality_id: int | None, limit: int = 20
) -> Sequence[EventCounts]:
    """Per published event: announcements delivered and answers, newest events first."""
    answers = (
        select(
            Rsvp.event_id.label("event_id"),
            func.count().filter(Rsvp.status == RsvpStatus.going).label("going"),
            func.count().filter(Rsvp.status == RsvpStatus.maybe).label("maybe"),
            func.count().filter(Rsvp.status == RsvpStatus.not_going).label("not_going"),
        )
        .group_by(Rsvp.event_id)
        .subquery()
    )
    notified = (
        select(Outbox.event_id.label("event_id"), func.count().label("notified"))
        .where(and_(Outbox.kind == "announcement", Outbox.status == OutboxStatus.sent))
        .group_by(Outbox.event_id)
        .subquery()
    )
    query = (
        select(
            Event,
            func.coalesce(notified.c.notified, 0),
            func.coalesce(answers.c.going, 0),
            func.coalesce(answers.c.maybe, 0),
            func.coalesce(answers.c.not_going, 0),
        )
        .outerjoin(answers, answers.c.event_id == Event.id)
        .outerjoin(notified, notified.c.event_id == Event.id)
        .where(Event.status != EventStatus.draft)
        .order_by(Event.starts_at.desc())
        .limit(limit)
    )
    if municipality_id is not None:
        query = query.where(Event.municipality_id == municipality_id)
    rows = (await session.execute(query)).all()
    return [EventCounts(row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows]
