"""/my: my upcoming sign-ups (for me and my children), each with a cancel button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.event_callbacks import MyCb
from models import Event, EventStatus, Rsvp, RsvpStatus, School
from services.cards import STATUS_LABELS, learner_label, when
from services.notifications import event_zone
from services.people import Profile
from services.waitlist import position, promote

router = Router(name="my_events")
Wakeup = Callable[[], Awaitable[None]]
UPCOMING = (RsvpStatus.going, RsvpStatus.maybe, RsvpStatus.waitlisted, RsvpStatus.offered)


async def my_view(
    session: AsyncSession, profile: Profile, locale: str, now: object
) -> tuple[str, InlineKeyboardMarkup | None]:
    query = (
        select(Rsvp, Event, School.name)
        .join(Event, Event.id == Rsvp.event_id)
        .outerjoin(School, School.id == Rsvp.school_id)
        .where(
            Rsvp.user_id == profile.user.id,
            Rsvp.status.in_(UPCOMING),
            Event.status == EventStatus.published,
            Event.starts_at > now,
        )
        .order_by(Event.starts_at, Rsvp.id)
        .limit(30)
    )
    found = (await session.execute(query)).all()
    if not found:
        return _("You have no upcoming events. Announcements arrive here; answer «Going» to sign up."), None
    lines = [_("<b>My upcoming events</b>"), ""]
    buttons = []
    for n, (rsvp, event, school) in enumerate(found, start=1):
        zone = await event_zone(session, event)
        who = learner_label(rsvp.grade, school) if rsvp.learner_id is not None else _("myself")
        if rsvp.status is RsvpStatus.waitlisted:
            state = _("on the wait list, place {n}").format(n=await position(session, rsvp))
        else:
            state = str(STATUS_LABELS[rsvp.status])
        lines.append(f"{n}. <b>{escape(event.title)}</b>")
        lines.append(f"   {when(event.starts_at, zone, locale)} · {who} · {state}")
        buttons.append(
            [
                InlineKeyboardButton(
                    text=_("✖ Cancel {n}").format(n=n), callback_data=MyCb(rsvp_id=rsvp.id).pack()
                )
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


@router.message(Command("my"))
async def my_events(
    message: Message, session: AsyncSession, profile: Profile, i18n: I18n, clock: Clock
) -> None:
    text, keyboard = await my_view(session, profile, i18n.current_locale, clock.now())
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(MyCb.filter())
async def cancel_signup(
    query: CallbackQuery,
    callback_data: MyCb,
    session: AsyncSession,
    profile: Profile,
    i18n: I18n,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    """Cancelling frees the seat for the next in line; only one's own sign-up, only before the start."""
    now = clock.now()
    rsvp = await session.get(Rsvp, callback_data.rsvp_id)
    event = await session.get(Event, rsvp.event_id) if rsvp is not None else None
    if rsvp is None or event is None or rsvp.user_id != profile.user.id:
        await query.answer(_("This button is not valid."), show_alert=True)
        return
    if event.status is not EventStatus.published or event.starts_at <= now:
        await query.answer(_("This event is cancelled or already over; answers are closed."), show_alert=True)
        return
    promoted = []
    if rsvp.status in UPCOMING:
        held_seat = rsvp.status in (RsvpStatus.going, RsvpStatus.offered)
        rsvp.status = RsvpStatus.not_going
        rsvp.offer_expires_at = None
        rsvp.updated_at = now
        await session.flush()
        if held_seat:
            promoted = await promote(session, event, now)
    await session.commit()
    if promoted:
        await outbox_wakeup()
    text, keyboard = await my_view(session, profile, i18n.current_locale, now)
    if query.message is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=keyboard)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise
    await query.answer(_("Cancelled: «{title}»").format(title=event.title[:100]))
