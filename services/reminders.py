"""Reminders before an event and before its registration deadline, computed from the database.

Run as often as you like: each reminder is one outbox row keyed by (event, user, offset, start time), so a
run after a restart or a downtime sends what is due late, once, and never twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventStatus, Outbox, OutboxStatus, Priority, Rsvp, RsvpStatus, User
from services.outbox import enqueue_many

DEFAULT_OFFSETS = (24 * 60, 2 * 60)  # minutes before the start
DEADLINE_NOTICE = timedelta(hours=24)


def due_offset(event: Event, offsets: Sequence[int], now: datetime) -> int | None:
    """The latest reminder whose moment has passed (so a late run sends the 2 h one, not both)."""
    due = [m for m in offsets if event.starts_at - timedelta(minutes=m) <= now]
    return min(due) if due else None


async def queue_reminders(
    session: AsyncSession, now: datetime, offsets: Sequence[int] = DEFAULT_OFFSETS
) -> int:
    """«Пойду» and «Возможно» hear of events due soon; a parent of two pupils hears once."""
    if not offsets:
        return 0
    horizon = now + timedelta(minutes=max(offsets))
    events = (
        await session.scalars(
            select(Event).where(
                Event.status == EventStatus.published, Event.starts_at > now, Event.starts_at <= horizon
            )
        )
    ).all()
    queued = 0
    for event in events:
        offset = due_offset(event, offsets, now)
        if offset is None:
            continue
        moment = event.starts_at - timedelta(minutes=offset)
        people = (
            select(User.id, User.telegram_id)
            .where(
                User.id.in_(
                    select(Rsvp.user_id).where(
                        Rsvp.event_id == event.id,
                        Rsvp.status.in_([RsvpStatus.going, RsvpStatus.maybe]),
                        Rsvp.created_at <= moment,  # who signs up after the moment needs no reminder of it
                    )
                ),
                User.is_active.is_(True),
                User.reminders_on.is_(True),
            )
            .order_by(User.id)
        )
        stamp = int(event.starts_at.timestamp())
        # One INSERT ... SELECT per event: a run repeated every minute costs one statement, not one per person.
        queued += await enqueue_many(
            session,
            people,
            key_prefix=f"remind:{event.id}:{offset}:{stamp}:",
            kind="reminder",
            event_id=event.id,
            priority=Priority.personal,
            payload={"offset": offset},
        )
    return queued


async def queue_deadline_reminders(session: AsyncSession, now: datetime) -> int:
    """Those told of an event who have not answered hear, a day before, that registration closes."""
    events = (
        await session.scalars(
            select(Event).where(
                Event.status == EventStatus.published,
                Event.registration_deadline.is_not(None),
                Event.registration_deadline > now,
                Event.registration_deadline <= now + DEADLINE_NOTICE,
            )
        )
    ).all()
    queued = 0
    for event in events:
        answered = select(Rsvp.user_id).where(Rsvp.event_id == event.id, Rsvp.user_id.is_not(None))
        told = select(Outbox.user_id).where(
            Outbox.event_id == event.id, Outbox.kind == "announcement", Outbox.status == OutboxStatus.sent
        )
        people = (
            select(User.id, User.telegram_id)
            .where(
                User.id.in_(told),
                User.id.not_in(answered),
                User.is_active.is_(True),
                User.reminders_on.is_(True),
            )
            .order_by(User.id)
        )
        queued += await enqueue_many(
            session,
            people,
            key_prefix=f"deadline:{event.id}:",
            kind="deadline",
            event_id=event.id,
            priority=Priority.personal,
        )
    return queued
