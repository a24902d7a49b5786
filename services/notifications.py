"""Renderers that turn outbox rows into messages at sending time, in each recipient's language."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventStatus, Municipality, Organisation, Outbox, Rsvp, RsvpStatus, School, User
from services.cards import CardContext, event_keyboard, event_text
from services.delivery import OutgoingMessage, Renderer


async def card_context(
    session: AsyncSession, event: Event, locale: str, answer: RsvpStatus | None = None
) -> CardContext:
    municipality = await session.get(Municipality, event.municipality_id)
    zone = ZoneInfo(municipality.timezone if municipality else "Europe/Moscow")
    place = None
    if event.organisation_id is not None:
        org = await session.get(Organisation, event.organisation_id)
        place = org.name if org else None
    elif event.school_id is not None:
        school = await session.get(School, event.school_id)
        place = school.name if school else None
    seats_left = None
    if event.capacity is not None:
        taken = await session.scalar(
            select(func.count()).where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.going)
        )
        seats_left = max(event.capacity - int(taken or 0), 0)
    return CardContext(zone=zone, locale=locale, place=place, seats_left=seats_left, answer=answer)


def announcement_renderer(i18n: I18n) -> Renderer:
    """Announcement of a published event; obsolete (None) once the event is cancelled or over."""

    async def render(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
        event_ids = {r.event_id for r in rows if r.event_id is not None}
        events = {
            e.id: e for e in (await session.scalars(select(Event).where(Event.id.in_(event_ids)))).all()
        }
        user_ids = {r.user_id for r in rows if r.user_id is not None}
        languages = dict(
            (await session.execute(select(User.id, User.language).where(User.id.in_(user_ids)))).all()
        )
        contexts: dict[tuple[int, str], CardContext] = {}
        result: dict[int, OutgoingMessage | None] = {}
        for row in rows:
            event = events.get(row.event_id or 0)
            if event is None or event.status is not EventStatus.published:
                result[row.id] = None
                continue
            locale = languages.get(row.user_id or 0) or i18n.default_locale
            key = (event.id, locale)
            if key not in contexts:
                contexts[key] = await card_context(session, event, locale)
            with i18n.context(), i18n.use_locale(locale):
                result[row.id] = OutgoingMessage(event_text(event, contexts[key]), event_keyboard(event))
        return result

    return render
