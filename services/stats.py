"""Per-event answer counts for the short list under /stats, computed by the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Rsvp, RsvpStatus
from services.reports import notified_delivered


@dataclass(frozen=True)
class EventCounts:
    event: Event
    notified: int
    going: int
    maybe: int
    not_going: int


async def event_counts(
    session: AsyncSession, events: Sequence[Event], school_id: int | None = None
) -> Sequence[EventCounts]:
    """For each given event, in the given order: announcements queued and answers (of one school's
    pupils when `school_id` is given: a teacher's view)."""
    ids = [e.id for e in events]
    if not ids:
        return []
    answers = {
        row[0]: row[1:]
        for row in (
            await session.execute(
                select(
                    Rsvp.event_id,
                    func.count().filter(Rsvp.status == RsvpStatus.going),
                    func.count().filter(Rsvp.status == RsvpStatus.maybe),
                    func.count().filter(Rsvp.status == RsvpStatus.not_going),
                )
                .where(
                    Rsvp.event_id.in_(ids), *([Rsvp.school_id == school_id] if school_id is not None else [])
                )
                .group_by(Rsvp.event_id)
            )
        ).all()
    }
    # Announcements queued, as in the event's report (a teacher: those attributed to their school).
    notified = {e.id: (await notified_delivered(session, e, school_id))[0] for e in events}
    result = []
    for event in events:
        going, maybe, not_going = answers.get(event.id, (0, 0, 0))
        result.append(
            EventCounts(event, int(notified.get(event.id, 0)), int(going), int(maybe), int(not_going))
        )
    return result
