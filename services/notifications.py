"""Renderers that turn outbox rows into messages at sending time, in each recipient's language.

A renderer returns None for a row that became obsolete (event cancelled, started, offer taken back):
the delivery engine then drops it instead of sending something untrue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from html import escape
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, SystemClock
from bot.event_callbacks import EventInfoCb, FeedbackCb, OfferCb
from models import (
    Event,
    EventStatus,
    Learner,
    Municipality,
    Organisation,
    Outbox,
    Rsvp,
    RsvpStatus,
    School,
    User,
)
from services.audience import matching_learners
from services.cards import CardContext, event_keyboard, event_text, learner_label, when
from services.delivery import OutgoingMessage, Renderer


async def event_zone(session: AsyncSession, event: Event) -> ZoneInfo:
    municipality = await session.get(Municipality, event.municipality_id)
    return ZoneInfo(municipality.timezone if municipality else "Europe/Moscow")


async def seats_left(session: AsyncSession, event: Event) -> int | None:
    if event.capacity is None:
        return None
    taken = await session.scalar(
        select(func.count()).where(
            Rsvp.event_id == event.id, Rsvp.status.in_([RsvpStatus.going, RsvpStatus.offered])
        )
    )
    return max(event.capacity - int(taken or 0), 0)


async def user_answers(
    session: AsyncSession, event: Event, user_id: int
) -> list[tuple[str | None, RsvpStatus, int | None]]:
    """(who, status, wait-list place) for each of the user's rows of the event."""
    from services.waitlist import position

    rows = (
        await session.execute(
            select(Rsvp, School.name)
            .outerjoin(School, School.id == Rsvp.school_id)
            .where(Rsvp.event_id == event.id, Rsvp.user_id == user_id)
            .order_by(Rsvp.id)
        )
    ).all()
    result = []
    for rsvp, school in rows:
        place = await position(session, rsvp) if rsvp.status is RsvpStatus.waitlisted else None
        who: str | None
        if rsvp.respondent_role in ("student", "teacher"):
            who = None  # their own answer: «Ваш ответ»
        elif rsvp.learner_id is not None:
            who = learner_label(rsvp.grade, school)
        else:
            who = learner_label(None, None)
        result.append((who, rsvp.status, place))
    return result


async def card_context(
    session: AsyncSession,
    event: Event,
    locale: str,
    answer: RsvpStatus | None = None,
    user_id: int | None = None,
    full: bool = False,
) -> CardContext:
    place = host = None
    if event.organisation_id is not None:
        org = await session.get(Organisation, event.organisation_id)
        place = host = org.name if org else None
    elif event.school_id is not None:
        school = await session.get(School, event.school_id)
        place = school.name if school else None
    if event.venue is None:
        host = None  # the place line already names it
    answers: list[tuple[str | None, RsvpStatus, int | None]] = []
    if user_id is not None:
        answers = await user_answers(session, event, user_id)
        answers = [a for a in answers if a[1] is not RsvpStatus.cancelled]
    if answer is None and len(answers) == 1:
        answer = answers[0][1]
    return CardContext(
        zone=await event_zone(session, event),
        locale=locale,
        place=place,
        host=host,
        seats_left=await seats_left(session, event),
        answer=answer,
        answers=answers,
        full=full,
    )


async def children_named(session: AsyncSession, event: Event, user_ids: set[int]) -> dict[int, list[str]]:
    """For parents: each of their children the event concerns (grade and school), to name in one message."""
    ids = matching_learners(event).where(Learner.user_id.in_(user_ids), Learner.is_self.is_(False))
    sub = ids.subquery()
    rows = (
        await session.execute(
            select(Learner.user_id, Learner.grade, School.name)
            .join(School, School.id == Learner.school_id)
            .where(Learner.id.in_(select(sub.c.id)))
            .order_by(Learner.user_id, Learner.grade, Learner.id)
        )
    ).all()
    named: dict[int, list[str]] = {}
    for user_id, grade, school in rows:
        if user_id is not None:  # never None: selected by user
            named.setdefault(user_id, []).append(learner_label(grade, school))
    return named


Compose = Callable[[AsyncSession, Outbox, Event, str], Awaitable[OutgoingMessage | None]]


def _event_renderer(i18n: I18n, clock: Clock, compose: Compose, *, open_only: bool = True) -> Renderer:
    """Common part: load the events and languages of a batch, drop rows whose event is over."""

    async def render(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
        event_ids = {r.event_id for r in rows if r.event_id is not None}
        events = {
            e.id: e for e in (await session.scalars(select(Event).where(Event.id.in_(event_ids)))).all()
        }
        user_ids = {r.user_id for r in rows if r.user_id is not None}
        languages = dict(
            (await session.execute(select(User.id, User.language).where(User.id.in_(user_ids)))).all()
        )
        now = clock.now()
        result: dict[int, OutgoingMessage | None] = {}
        for row in rows:
            event = events.get(row.event_id or 0)
            if event is None or (
                open_only and (event.status is not EventStatus.published or event.starts_at <= now)
            ):
                result[row.id] = None
                continue
            locale = languages.get(row.user_id or 0) or i18n.default_locale
            with i18n.context(), i18n.use_locale(locale):
                result[row.id] = await compose(session, row, event, locale)
        return result

    return render


def announcement_renderer(i18n: I18n, clock: Clock | None = None) -> Renderer:
    """Announcement of a published event; a parent's message names each child it concerns.

    Per batch: one card context per (event, language) and one query for the children of all its parents.
    """
    clock = clock or SystemClock()
    contexts: dict[tuple[int, str], CardContext] = {}
    batch_users: dict[int, set[int]] = {}
    named: dict[int, dict[int, list[str]]] = {}

    async def compose(session: AsyncSession, row: Outbox, event: Event, locale: str) -> OutgoingMessage:
        key = (event.id, locale)
        if key not in contexts:
            contexts[key] = await card_context(session, event, locale)
        if event.id not in named:
            named[event.id] = await children_named(session, event, batch_users.get(event.id, set()))
        ctx = contexts[key]
        children = named[event.id].get(row.user_id or 0, [])
        if children:
            ctx = CardContext(**{**vars(ctx), "for_whom": tuple(children)})
        return OutgoingMessage(event_text(event, ctx), event_keyboard(event))

    base = _event_renderer(i18n, clock, compose)

    async def render(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
        contexts.clear()  # seats left change between batches
        named.clear()
        batch_users.clear()
        for row in rows:
            if row.event_id is not None and row.user_id is not None:
                batch_users.setdefault(row.event_id, set()).add(row.user_id)
        return await base(session, rows)

    return render


def _card_notice(
    i18n: I18n, clock: Clock, heading: Callable[[Outbox, Event, ZoneInfo, str], str]
) -> Renderer:
    async def compose(session: AsyncSession, row: Outbox, event: Event, locale: str) -> OutgoingMessage:
        ctx = await card_context(session, event, locale, user_id=row.user_id)
        text = heading(row, event, ctx.zone, locale) + "\n\n" + event_text(event, ctx)
        return OutgoingMessage(text, event_keyboard(event, ctx.answer))

    return _event_renderer(i18n, clock, compose)


def _reminder_heading(row: Outbox, event: Event, zone: ZoneInfo, locale: str) -> str:
    minutes = int(row.payload.get("offset", 0))
    if minutes >= 60 and minutes % 60 == 0:
        span = _("{n} h").format(n=minutes // 60)
    else:
        span = _("{n} min").format(n=minutes)
    return _("⏰ <b>Reminder</b>: the event starts in {span}.").format(span=span)


def _deadline_heading(row: Outbox, event: Event, zone: ZoneInfo, locale: str) -> str:
    deadline = event.registration_deadline or event.starts_at
    return _("⏳ Registration closes on {when}, and you have not answered yet.").format(
        when=when(deadline, zone, locale)
    )


def _changed_heading(row: Outbox, event: Event, zone: ZoneInfo, locale: str) -> str:
    return _("⚠️ <b>The event has changed.</b> Please check the time and the place.")


def cancelled_renderer(i18n: I18n, clock: Clock) -> Renderer:
    async def compose(
        session: AsyncSession, row: Outbox, event: Event, locale: str
    ) -> OutgoingMessage | None:
        if event.status is not EventStatus.cancelled:
            return None
        zone = await event_zone(session, event)
        return OutgoingMessage(
            _("❌ <b>The event is cancelled</b>: «{title}», {when}. We are sorry.").format(
                title=escape(event.title), when=when(event.starts_at, zone, locale)
            )
        )

    return _event_renderer(i18n, clock, compose, open_only=False)


def offer_renderer(i18n: I18n, clock: Clock) -> Renderer:
    async def compose(
        session: AsyncSession, row: Outbox, event: Event, locale: str
    ) -> OutgoingMessage | None:
        rsvp = await session.get(Rsvp, int(row.payload.get("rsvp_id", 0)))
        if rsvp is None or rsvp.status is not RsvpStatus.offered or rsvp.offer_expires_at is None:
            return None
        zone = await event_zone(session, event)
        school = await session.get(School, rsvp.school_id) if rsvp.school_id else None
        who = learner_label(rsvp.grade, school.name if school else None) if rsvp.learner_id else _("myself")
        text = _(
            "🎟 <b>A seat is free for you</b> at «{title}» ({when}) — for: {who}.\n"
            "Please confirm by {deadline}, otherwise the seat goes to the next in line."
        ).format(
            title=escape(event.title),
            when=when(event.starts_at, zone, locale),
            who=escape(who),
            deadline=when(rsvp.offer_expires_at, zone, locale),
        )
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("✅ Confirm"), callback_data=OfferCb(rsvp_id=rsvp.id, accept=1).pack()
                    ),
                    InlineKeyboardButton(
                        text=_("Decline"), callback_data=OfferCb(rsvp_id=rsvp.id, accept=0).pack()
                    ),
                ]
            ]
        )
        return OutgoingMessage(text, keyboard)

    return _event_renderer(i18n, clock, compose)


def offer_expired_renderer(i18n: I18n, clock: Clock) -> Renderer:
    async def compose(session: AsyncSession, row: Outbox, event: Event, locale: str) -> OutgoingMessage:
        return OutgoingMessage(
            _(
                "The time to confirm your seat at «{title}» has passed; the seat went to the next in line."
            ).format(title=escape(event.title))
        )

    return _event_renderer(i18n, clock, compose, open_only=False)


def feedback_renderer(i18n: I18n, clock: Clock) -> Renderer:
    async def compose(session: AsyncSession, row: Outbox, event: Event, locale: str) -> OutgoingMessage:
        buttons = [
            InlineKeyboardButton(text=str(n), callback_data=FeedbackCb(event_id=event.id, rating=n).pack())
            for n in range(1, 6)
        ]
        return OutgoingMessage(
            _(
                "Thank you for coming to «{title}»! How was it? Rate it from 1 (poor) to 5 (excellent)."
            ).format(title=escape(event.title)),
            InlineKeyboardMarkup(inline_keyboard=[buttons]),
        )

    return _event_renderer(i18n, clock, compose, open_only=False)


DIGEST_MAX_EVENTS = 15  # 15 titles of 200 characters with their dates fit one message


def digest_renderer(i18n: I18n, clock: Clock) -> Renderer:
    """The weekly digest: the week's announcements in one message, a button per event for its card."""

    async def render(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
        now = clock.now()
        result: dict[int, OutgoingMessage | None] = {}
        for row in rows:
            ids = [int(i) for i in row.payload.get("events", [])]
            events = (
                await session.scalars(
                    select(Event)
                    .where(Event.id.in_(ids), Event.status == EventStatus.published, Event.starts_at > now)
                    .order_by(Event.starts_at)
                )
            ).all()
            if not events:
                result[row.id] = None
                continue
            user = await session.get(User, row.user_id) if row.user_id else None
            locale = (user.language if user else None) or i18n.default_locale
            with i18n.context(), i18n.use_locale(locale):
                lines = [_("📬 <b>Events of the week for you</b>"), ""]
                buttons = []
                # One message, within Telegram's 4096 characters and 100 buttons: the soonest events.
                shown = events[:DIGEST_MAX_EVENTS]
                for event in shown:
                    zone = await event_zone(session, event)
                    lines.append(f"• {when(event.starts_at, zone, locale)} — {escape(event.title)}")
                    buttons.append(
                        [
                            InlineKeyboardButton(
                                text=event.title[:60],
                                callback_data=EventInfoCb(event_id=event.id, what="more").pack(),
                            )
                        ]
                    )
                if len(events) > len(shown):
                    lines += ["", _("…and {n} more events this week.").format(n=len(events) - len(shown))]
                lines += ["", _("Tap an event to see it and answer.")]
                result[row.id] = OutgoingMessage(
                    "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)
                )
        return result

    return render


def event_renderers(i18n: I18n, clock: Clock) -> dict[str, Renderer]:
    """Every outbox kind of the event features, for `build_app`."""
    return {
        "announcement": announcement_renderer(i18n, clock),
        "reminder": _card_notice(i18n, clock, _reminder_heading),
        "deadline": _card_notice(i18n, clock, _deadline_heading),
        "event_changed": _card_notice(i18n, clock, _changed_heading),
        "event_cancelled": cancelled_renderer(i18n, clock),
        "wait_offer": offer_renderer(i18n, clock),
        "wait_expired": offer_expired_renderer(i18n, clock),
        "feedback_request": feedback_renderer(i18n, clock),
        "digest": digest_renderer(i18n, clock),
    }
