"""«Пойду» / «Возможно» / «Не пойду» under an announcement: record, then update the card in place."""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import RsvpCb
from services.cards import ANSWER_LABELS, CODE_ANSWERS, event_keyboard, event_text
from services.notifications import card_context
from services.people import Profile
from services.rsvp import RsvpRefusal, answer

router = Router(name="rsvp")


def refusal_text(refusal: RsvpRefusal) -> str:
    return {
        RsvpRefusal.no_event: _("This event no longer exists."),
        RsvpRefusal.closed: _("This event is cancelled or already over; answers are closed."),
        RsvpRefusal.deadline: _("Registration for this event is closed."),
        RsvpRefusal.started: _("This event has already started."),
        RsvpRefusal.not_for_you: _("This event is not meant for your profile."),
        RsvpRefusal.bad_answer: _("This button is not valid."),
    }[refusal]


@router.callback_query(RsvpCb.filter())
async def on_answer(
    query: CallbackQuery, callback_data: RsvpCb, session: AsyncSession, profile: Profile, i18n: I18n
) -> None:
    if not profile.is_registered:
        await query.answer(_("Please register first: send /start."), show_alert=True)
        return
    status = CODE_ANSWERS.get(callback_data.answer)
    if status is None:
        await query.answer(refusal_text(RsvpRefusal.bad_answer), show_alert=True)
        return
    result = await answer(session, profile, callback_data.event_id, status)
    if result.refusal is not None or result.event is None:
        await query.answer(refusal_text(result.refusal or RsvpRefusal.no_event), show_alert=True)
        return
    await session.commit()
    ctx = await card_context(session, result.event, i18n.current_locale, answer=status)
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(
                event_text(result.event, ctx), reply_markup=event_keyboard(result.event, status)
            )
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise
    await query.answer(_("Saved: {answer}").format(answer=ANSWER_LABELS[status]))
