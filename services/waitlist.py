"""The wait list: beyond capacity people queue; a freed seat is offered to the first, who must confirm in time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventStatus, Municipality, Priority, Rsvp, RsvpStatus, User
from services.events import lock_event, seats_taken
from services.outbox import enqueue
from services.people import Profile

OFFER_TTL = timedelta(hours=12)


async def position(session: AsyncSession, rsvp: Rsvp) -> int:
    """1 for the first in line: ordered by when they joined the list, then by id."""
    ahead = select(func.count()).where(
        Rsvp.event_id == rsvp.event_id,
        Rsvp.status == RsvpStatus.waitlisted,
        or_(Rsvp.updated_at < rsvp.updated_at, and_(Rsvp.updated_at == rsvp.updated_at, Rsvp.id < rsvp.id)),
    )
    return int(await session.scalar(ahead) or 0) + 1


async def promote(session: AsyncSession, event: Event, now: datetime) -> list[Rsvp]:
    """Offer every free seat to the next in line; each offer is one outbox row keyed by its expiry."""
    if event.status is not EventStatus.published or event.starts_at <= now:
        return []
    await lock_event(session, event.id)
    waiting = (
        select(Rsvp)
        .where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.waitlisted)
        .order_by(Rsvp.updated_at, Rsvp.id)
    )
    if event.capacity is not None:  # no limit (it was removed): everyone waiting is offered a seat
        free = event.capacity - await seats_taken(session, event.id)
        if free <= 0:
            return []
        waiting = waiting.limit(free)
    queue = (await session.scalars(waiting)).all()
    for rsvp in queue:
        expires = min(await _offer_start(session, rsvp, event, now) + OFFER_TTL, event.starts_at)
        rsvp.status = RsvpStatus.offered
        rsvp.offer_expires_at = expires
        rsvp.updated_at = now
        await _notify(session, rsvp, "wait_offer", f"offer:{rsvp.id}:{int(expires.timestamp())}")
    await session.flush()
    return list(queue)


async def _offer_start(session: AsyncSession, rsvp: Rsvp, event: Event, now: datetime) -> datetime:
    """An offer made in the person's night counts from their morning, when they can see it."""
    from services.quiet_hours import in_quiet, quiet_until, user_zones

    user = await session.get(User, rsvp.user_id) if rsvp.user_id is not None else None
    municipality = await session.get(Municipality, event.municipality_id)
    if user is None or municipality is None:
        return now
    zone = (await user_zones(session, {user.id}, ZoneInfo(municipality.timezone)))[user.id]
    local = now.astimezone(zone)
    if not in_quiet(local, user.quiet_start, user.quiet_end):
        return now
    return now + (quiet_until(local, user.quiet_end) - local)


async def _notify(session: AsyncSession, rsvp: Rsvp, kind: str, key: str) -> None:
    if rsvp.user_id is None:
        return
    user = await session.get(User, rsvp.user_id)
    if user is None or not user.is_active:
        return
    await enqueue(
        session,
        key=key,
        chat_id=user.telegram_id,
        user_id=user.id,
        kind=kind,
        payload={"rsvp_id": rsvp.id},
        event_id=rsvp.event_id,
        priority=Priority.personal,
    )


async def respond_to_offer(
    session: AsyncSession, profile: Profile, rsvp_id: int, accept: bool, now: datetime
) -> tuple[Rsvp | None, str]:
    """Confirm or decline one's own offer; returns the row and an outcome code for the user's language."""
    rsvp = await session.get(Rsvp, rsvp_id)
    if rsvp is None or rsvp.user_id != profile.user.id:
        return None, "not_yours"
    event = await session.get(Event, rsvp.event_id)
    if event is None or event.status is not EventStatus.published or event.starts_at <= now:
        return rsvp, "closed"
    if rsvp.status is RsvpStatus.going and accept:
        return rsvp, "confirmed"
    if rsvp.status is not RsvpStatus.offered:
        return rsvp, "expired"
    if rsvp.offer_expires_at is not None and rsvp.offer_expires_at <= now:
        return rsvp, "expired"
    rsvp.updated_at = now
    rsvp.offer_expires_at = None
    if accept:
        rsvp.status = RsvpStatus.going
        await session.flush()
        return rsvp, "confirmed"
    rsvp.status = RsvpStatus.not_going
    await session.flush()
    await promote(session, event, now)
    return rsvp, "declined"


async def expire_offers(session: AsyncSession, now: datetime) -> int:
    """Offers not confirmed in time pass on to the next in line; the late person is told once."""
    due = (
        await session.scalars(
            select(Rsvp)
            .where(Rsvp.status == RsvpStatus.offered, Rsvp.offer_expires_at <= now)
            .order_by(Rsvp.id)
        )
    ).all()
    events: dict[int, Event] = {}
    for rsvp in due:
        expired_at = rsvp.offer_expires_at
        rsvp.status = RsvpStatus.cancelled
        rsvp.updated_at = now
        stamp = int(expired_at.timestamp()) if expired_at else 0
        await _notify(session, rsvp, "wait_expired", f"offer_expired:{rsvp.id}:{stamp}")
        event = await session.get(Event, rsvp.event_id)
        if event is not None:
            events[event.id] = event
    await session.flush()
    for event in events.values():
        await promote(session, event, now)
    return len(due)
