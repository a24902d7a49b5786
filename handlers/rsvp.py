"""The card's buttons: «Пойду» / «Возможно» / «Не пойду» (choosing whom, for parents), «Подробнее»,
«Добавить в календарь»; wait-list offers; feedback after the event. The card is updated in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import RsvpCb
from bot.clock import Clock
from bot.event_callbacks import EventInfoCb, FeedbackCb, OfferCb, RsvpForCb
from handlers.keyboards import rows
from models import Event, EventStatus, RsvpStatus, School
from services import attendance
from services.cards import (
    CODE_ANSWERS,
    STATUS_LABELS,
    choice_keyboard,
    event_keyboard,
    event_text,
    learner_label,
)
from services.ics import event_ics
from services.notifications import card_context
from services.people import Profile
from services.rsvp import RsvpRefusal, RsvpResult, answer
from services.waitlist import promote, respond_to_offer

router = Router(name="rsvp")
Wakeup = Callable[[], Awaitable[None]]


class Feedback(StatesGroup):
    comment = State()


def refusal_text(refusal: RsvpRefusal) -> str:
    return {
        RsvpRefusal.no_event: _("This event no longer exists."),
        RsvpRefusal.closed: _("This event is cancelled or already over; answers are closed."),
        RsvpRefusal.deadline: _("Registration for this event is closed."),
        RsvpRefusal.started: _("This event has already started."),
        RsvpRefusal.not_for_you: _("This event is not meant for your profile."),
        RsvpRefusal.bad_answer: _("This button is not valid."),
    }[refusal]


async def _edit(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    if not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def _show_card(
    query: CallbackQuery, session: AsyncSession, event: Event, profile: Profile, i18n: I18n
) -> RsvpStatus | None:
    ctx = await card_context(session, event, i18n.current_locale, user_id=profile.user.id)
    await _edit(query, event_text(event, ctx), event_keyboard(event, ctx.answer))
    return ctx.answer


def _saved_text(result: RsvpResult) -> str:
    if result.status is RsvpStatus.waitlisted:
        return _(
            "No seats left: you are on the wait list, place {n}. I will tell you if a seat frees up."
        ).format(n=result.position)
    assert result.status is not None
    return _("Saved: {answer}").format(answer=STATUS_LABELS[result.status])


async def _apply(
    query: CallbackQuery,
    session: AsyncSession,
    profile: Profile,
    i18n: I18n,
    clock: Clock,
    outbox_wakeup: Wakeup,
    event_id: int,
    status: RsvpStatus,
    target: int | None,
) -> None:
    now = clock.now()
    result = await answer(session, profile, event_id, status, now, target)
    if result.refusal is not None or result.event is None:
        await query.answer(refusal_text(result.refusal or RsvpRefusal.no_event), show_alert=True)
        return
    event = result.event
    if result.needs_choice:
        schools = {o.learner.school_id for o in result.options if o.learner is not None}
        names = {s.id: s.name for s in [await session.get(School, i) for i in schools] if s is not None}
        labels = [
            (
                o.target,
                learner_label(o.learner.grade, names.get(o.learner.school_id)) if o.learner else _("Myself"),
            )
            for o in result.options
        ]
        ctx = await card_context(session, event, i18n.current_locale, user_id=profile.user.id)
        await _edit(
            query,
            event_text(event, ctx) + "\n\n" + _("<b>Whom is this answer for?</b>"),
            choice_keyboard(event, status, labels),
        )
        await query.answer()
        return
    promoted = await promote(session, event, now) if result.freed else []
    await session.commit()
    if promoted:
        await outbox_wakeup()
    await _show_card(query, session, event, profile, i18n)
    await query.answer(_saved_text(result), show_alert=result.status is RsvpStatus.waitlisted)


@router.callback_query(RsvpCb.filter())
async def on_answer(
    query: CallbackQuery,
    callback_data: RsvpCb,
    session: AsyncSession,
    profile: Profile,
    i18n: I18n,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    if not profile.is_registered:
        await query.answer(_("Please register first: send /start."), show_alert=True)
        return
    status = CODE_ANSWERS.get(callback_data.answer)
    if status is None:
        await query.answer(refusal_text(RsvpRefusal.bad_answer), show_alert=True)
        return
    await _apply(query, session, profile, i18n, clock, outbox_wakeup, callback_data.event_id, status, None)


@router.callback_query(RsvpForCb.filter())
async def on_answer_for(
    query: CallbackQuery,
    callback_data: RsvpForCb,
    session: AsyncSession,
    profile: Profile,
    i18n: I18n,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    if not profile.is_registered:
        await query.answer(_("Please register first: send /start."), show_alert=True)
        return
    if callback_data.answer == "back":
        event = await session.get(Event, callback_data.event_id)
        if event is None or event.status is EventStatus.draft:
            await query.answer(refusal_text(RsvpRefusal.no_event), show_alert=True)
            return
        await _show_card(query, session, event, profile, i18n)
        await query.answer()
        return
    status = CODE_ANSWERS.get(callback_data.answer)
    if status is None:
        await query.answer(refusal_text(RsvpRefusal.bad_answer), show_alert=True)
        return
    await _apply(
        query,
        session,
        profile,
        i18n,
        clock,
        outbox_wakeup,
        callback_data.event_id,
        status,
        callback_data.target,
    )


@router.callback_query(EventInfoCb.filter())
async def on_info(
    query: CallbackQuery, callback_data: EventInfoCb, session: AsyncSession, profile: Profile, i18n: I18n
) -> None:
    """«Подробнее» sends the whole card; «Добавить в календарь» sends an .ics file to this chat."""
    event = await session.get(Event, callback_data.event_id)
    if event is None or event.status is EventStatus.draft or callback_data.what not in ("more", "ics"):
        await query.answer(refusal_text(RsvpRefusal.no_event), show_alert=True)
        return
    if not isinstance(query.message, Message):
        await query.answer()
        return
    ctx = await card_context(session, event, i18n.current_locale, user_id=profile.user.id, full=True)
    if callback_data.what == "more":
        keyboard = event_keyboard(event, ctx.answer) if event.status is EventStatus.published else None
        await query.message.answer(event_text(event, ctx), reply_markup=keyboard)
    else:
        data = event_ics(event, ctx.place)
        await query.message.answer_document(
            BufferedInputFile(data, filename=f"event-{event.id}.ics"),
            caption=_("Open the file to add «{title}» to your calendar.").format(title=escape(event.title)),
        )
    await query.answer()


@router.callback_query(OfferCb.filter())
async def on_offer(
    query: CallbackQuery,
    callback_data: OfferCb,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    _rsvp, outcome = await respond_to_offer(
        session, profile, callback_data.rsvp_id, bool(callback_data.accept), clock.now()
    )
    texts = {
        "not_yours": _("This button is not valid."),
        "closed": _("This event is cancelled or already over; answers are closed."),
        "expired": _("Sorry, the time to confirm has passed and the seat went to the next in line."),
        "confirmed": _("✅ Your seat is confirmed. See you there!"),
        "declined": _("Thank you for telling us: the seat goes to the next in line."),
    }
    await session.commit()
    if outcome == "declined":
        await outbox_wakeup()
    if outcome in ("confirmed", "declined"):
        await _edit(query, texts[outcome], None)
        await query.answer()
    else:
        await query.answer(texts[outcome], show_alert=True)


@router.callback_query(FeedbackCb.filter(F.rating > 0))
async def on_rating(
    query: CallbackQuery,
    callback_data: FeedbackCb,
    session: AsyncSession,
    profile: Profile,
    state: FSMContext,
    clock: Clock,
) -> None:
    if not await attendance.rate(
        session, profile.user, callback_data.event_id, callback_data.rating, clock.now()
    ):
        await query.answer(_("This button is not valid."), show_alert=True)
        return
    await state.set_state(Feedback.comment)
    await state.update_data(feedback_event=callback_data.event_id)
    skip = rows([(_("Skip"), FeedbackCb(event_id=callback_data.event_id, rating=0).pack())])
    await _edit(
        query,
        _("Thank you! Your mark: {n} of 5.").format(n=callback_data.rating)
        + "\n"
        + _("If you wish, write a comment in one message, or press «Skip»."),
        skip,
    )
    await query.answer()


@router.callback_query(FeedbackCb.filter(F.rating == 0))
async def skip_comment(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await _edit(query, _("Thank you for your feedback!"), None)
    await query.answer()


@router.message(Feedback.comment, F.text, ~F.text.startswith("/"))
async def on_comment(message: Message, session: AsyncSession, profile: Profile, state: FSMContext) -> None:
    data = await state.get_data()
    await state.clear()
    if len(message.text or "") > attendance.COMMENT_MAX:
        await message.answer(_("The comment is long; I kept its first 2000 characters."))
    await attendance.comment(session, profile.user, int(data.get("feedback_event", 0)), message.text or "")
    await message.answer(_("Thank you for your feedback!"))


@router.message(Feedback.comment, ~F.text.startswith("/"))
async def comment_not_text(message: Message) -> None:
    await message.answer(_("Please write the comment as text, or send /cancel."))
