"""/events: an organiser's upcoming events — move, change the place (everyone signed up is told), edit the title,
the description or the number of seats (more seats go to the wait list), or cancel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.event_callbacks import EventReportCb, ManageCb
from bot.filters import HasRole
from handlers import date_picker
from handlers.keyboards import rows
from handlers.new_event import error_text, zone_of
from models import Event, Role
from services.cards import event_text, when
from services.events import (
    CAPACITY_MAX,
    EventError,
    SeatsTaken,
    cancel_event,
    change_event,
    edit_details,
    managed_event,
    managed_events,
    seats_taken,
    set_capacity,
    set_deadline,
)
from services.notifications import card_context
from services.people import Profile

router = Router(name="manage_events")
router.message.filter(HasRole(Role.coordinator, Role.teacher))
router.callback_query.filter(HasRole(Role.coordinator, Role.teacher))
Wakeup = Callable[[], Awaitable[None]]


class Manage(StatesGroup):
    move = State()
    venue = State()
    title = State()
    description = State()
    seats = State()
    deadline = State()


TYPED_FIELDS = {
    "move": Manage.move,
    "venue": Manage.venue,
    "title": Manage.title,
    "descr": Manage.description,
    "seats": Manage.seats,
    "deadline": Manage.deadline,
}


# What may be typed for «no limit» (besides the translated word).
NO_LIMIT_WORDS = frozenset({"без ограничений", "без ограничения", "нет ограничений", "no limit", "unlimited"})


async def _edit(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=keyboard)
    await query.answer()


@router.message(Command("events"))
async def list_events(
    message: Message, session: AsyncSession, profile: Profile, i18n: I18n, clock: Clock, state: FSMContext
) -> None:
    await state.clear()
    events = await managed_events(session, profile.user, upcoming=True, now=clock.now())
    if not events:
        await message.answer(_("There are no upcoming events you manage. Create one with /new_event."))
        return
    buttons = []
    for event in events:
        zone = await zone_of(session, event.municipality_id)
        label = f"{when(event.starts_at, zone, i18n.current_locale)} · {event.title}"[:60]
        buttons.append((label, ManageCb(event_id=event.id, action="open").pack()))
    await message.answer(
        _("Your upcoming events. Choose one to change or cancel it."), reply_markup=rows(buttons)
    )


def _report_button(event_id: int) -> tuple[str, str]:
    """The event's report (handlers/stats.py checks the right to see it again)."""
    return (_("📊 Report"), EventReportCb(event_id=event_id).pack())


def _actions(event_id: int) -> InlineKeyboardMarkup:
    return rows(
        [
            _report_button(event_id),
            (_("🗓 Move"), ManageCb(event_id=event_id, action="move").pack()),
            (_("📍 Change the place"), ManageCb(event_id=event_id, action="venue").pack()),
            (_("✏️ Title"), ManageCb(event_id=event_id, action="title").pack()),
            (_("📝 Description"), ManageCb(event_id=event_id, action="descr").pack()),
            (_("🎟 Number of seats"), ManageCb(event_id=event_id, action="seats").pack()),
            (_("⏳ Registration deadline"), ManageCb(event_id=event_id, action="deadline").pack()),
            (_("❌ Cancel the event"), ManageCb(event_id=event_id, action="cancel").pack()),
        ],
        width=1,
    )


@router.callback_query(ManageCb.filter())
async def on_action(
    query: CallbackQuery,
    callback_data: ManageCb,
    session: AsyncSession,
    profile: Profile,
    i18n: I18n,
    clock: Clock,
    state: FSMContext,
    outbox_wakeup: Wakeup,
) -> None:
    try:
        event = await managed_event(session, profile.user, callback_data.event_id)
    except EventError as exc:
        await query.answer(error_text(exc.code), show_alert=True)
        return
    action = callback_data.action
    if action in TYPED_FIELDS:
        # The answer is typed next; the dialog remembers which event it is for.
        await state.set_state(TYPED_FIELDS[action])
        await state.update_data(manage_event=event.id)
    if action == "open":
        ctx = await card_context(session, event, i18n.current_locale)
        published = event.status.value == "published"
        await _edit(
            query,
            event_text(event, ctx),
            _actions(event.id) if published else rows([_report_button(event.id)]),
        )
    elif action == "move":
        await _edit(query, _("Type the new date and time as DD.MM.YYYY HH:MM."))
    elif action == "venue":
        await _edit(query, _("Type the new place (up to 300 characters)."))
    elif action == "title":
        await _edit(
            query,
            _("Now: «{title}». Type the new title (up to 200 characters).").format(title=escape(event.title)),
        )
    elif action == "descr":
        await _edit(query, _("Type the new description (up to 3000 characters)."))
    elif action == "seats":
        going = await seats_taken(session, event.id)
        now_text = str(event.capacity) if event.capacity is not None else _("no limit")
        await _edit(
            query,
            _(
                "Seats now: {now}; taken: {going}. Type the new number of seats (a whole number from 1 to "
                "{max}) or press «No limit»."
            ).format(now=now_text, going=going, max=CAPACITY_MAX),
            rows([(_("No limit"), ManageCb(event_id=event.id, action="seats_none").pack())]),
        )
    elif action == "seats_none":
        await state.clear()
        try:
            offered = await set_capacity(session, profile.user, event.id, None, clock.now())
        except EventError as exc:
            await query.answer(error_text(exc.code), show_alert=True)
            return
        await session.commit()
        await outbox_wakeup()
        await _edit(query, _seats_saved(None, len(offered)))
        await _send_card(query.message, session, event.id, i18n)
    elif action == "deadline":
        await _edit(
            query,
            _(
                "Until when can people sign up? Type DD.MM.YYYY HH:MM (not after the start), or press «Until the start»."
            ),
            rows([(_("Until the start"), ManageCb(event_id=event.id, action="deadline_none").pack())]),
        )
    elif action == "deadline_none":
        await state.clear()
        try:
            await set_deadline(session, profile.user, event.id, None, clock.now())
        except EventError as exc:
            await query.answer(error_text(exc.code), show_alert=True)
            return
        await session.commit()
        await _edit(query, _("Saved. From now on the event's cards show it."))
        await _send_card(query.message, session, event.id, i18n)
    elif action == "cancel":
        confirm = rows(
            [
                (_("Yes, cancel it"), ManageCb(event_id=event.id, action="cancel_yes").pack()),
                (_("No, keep it"), ManageCb(event_id=event.id, action="open").pack()),
            ],
            width=2,
        )
        await _edit(
            query,
            _("Cancel «{title}»? Everyone signed up will be told.").format(title=escape(event.title)),
            confirm,
        )
    elif action == "cancel_yes":
        try:
            told = await cancel_event(session, profile.user, event.id, clock.now())
        except EventError as exc:
            await query.answer(error_text(exc.code), show_alert=True)
            return
        await session.commit()
        await outbox_wakeup()
        await _edit(
            query,
            _("The event «{title}» is cancelled. Notices are going to {n} people.").format(
                title=escape(event.title), n=told
            ),
        )
    else:
        await query.answer(_("This button is out of date."), show_alert=True)


def _seats_saved(capacity: int | None, offered: int) -> str:
    head = (
        _("Saved: {n} seats.").format(n=capacity)
        if capacity is not None
        else _("Saved: the number of seats is not limited.")
    )
    if offered:
        head += " " + _("Seats are offered to the first {n} on the wait list.").format(n=offered)
    return head


async def _send_card(message: object, session: AsyncSession, event_id: int, i18n: I18n) -> None:
    """The event as it is now, with the organiser's buttons again."""
    if not isinstance(message, Message):
        return
    event = await session.get(Event, event_id)
    if event is None:
        return
    await session.refresh(event)
    ctx = await card_context(session, event, i18n.current_locale)
    await message.answer(event_text(event, ctx), reply_markup=_actions(event.id))


def _edit_error(exc: EventError) -> str:
    if isinstance(exc, SeatsTaken):
        return _(
            "Already {n} people are going (counting seats offered from the wait list), so there cannot be "
            "fewer seats than {n}. Type a number of at least {n}, or send /cancel."
        ).format(n=exc.taken)
    return error_text(exc.code)


async def _apply_change(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
    outbox_wakeup: Wakeup,
    starts_at: datetime | None = None,
    venue: str | None = None,
) -> None:
    data = await state.get_data()
    try:
        told = await change_event(
            session,
            profile.user,
            int(data.get("manage_event", 0)),
            clock.now(),
            starts_at=starts_at,
            venue=venue,
        )
    except EventError as exc:
        await message.answer(error_text(exc.code))
        return
    await state.clear()
    await session.commit()
    await outbox_wakeup()
    await message.answer(_("Saved. Everyone signed up is being told: {n} people.").format(n=told))


@router.message(Manage.move, F.text, ~F.text.startswith("/"))
async def type_move(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    data = await state.get_data()
    try:
        event = await managed_event(session, profile.user, int(data.get("manage_event", 0)))
    except EventError as exc:
        await state.clear()
        await message.answer(error_text(exc.code))
        return
    moment = date_picker.parse_moment(message.text or "", await zone_of(session, event.municipality_id))
    if moment is None:
        await message.answer(
            _("I could not read this date. Please type it as DD.MM.YYYY HH:MM, e.g. 05.12.2026 10:00.")
        )
        return
    await _apply_change(message, state, session, profile, clock, outbox_wakeup, starts_at=moment)


@router.message(Manage.venue, F.text, ~F.text.startswith("/"))
async def type_venue(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    await _apply_change(message, state, session, profile, clock, outbox_wakeup, venue=message.text or "")


@router.message(Manage.move, ~F.text.startswith("/"))
@router.message(Manage.venue, ~F.text.startswith("/"))
async def not_text(message: Message) -> None:
    await message.answer(_("Please type the answer as text, or send /cancel to stop."))


async def _current_event(
    message: Message, state: FSMContext, session: AsyncSession, profile: Profile
) -> int | None:
    data = await state.get_data()
    try:
        event = await managed_event(session, profile.user, int(data.get("manage_event", 0)))
    except EventError as exc:
        await state.clear()
        await message.answer(error_text(exc.code))
        return None
    return event.id


@router.message(Manage.title, F.text, ~F.text.startswith("/"))
@router.message(Manage.description, F.text, ~F.text.startswith("/"))
async def type_details(
    message: Message, state: FSMContext, session: AsyncSession, profile: Profile, clock: Clock, i18n: I18n
) -> None:
    event_id = await _current_event(message, state, session, profile)
    if event_id is None:
        return
    text = message.text or ""
    field = {"title": text} if await state.get_state() == Manage.title.state else {"description": text}
    try:
        await edit_details(session, profile.user, event_id, clock.now(), **field)
    except EventError as exc:
        await message.answer(_edit_error(exc))
        return
    await state.clear()
    await session.commit()
    await message.answer(_("Saved. From now on the event's cards show it."))
    await _send_card(message, session, event_id, i18n)


@router.message(Manage.seats, F.text, ~F.text.startswith("/"))
async def type_seats(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
    i18n: I18n,
    outbox_wakeup: Wakeup,
) -> None:
    event_id = await _current_event(message, state, session, profile)
    if event_id is None:
        return
    text = (message.text or "").strip().lower().strip("«»\"'.")
    capacity: int | None
    if text in NO_LIMIT_WORDS or text == _("no limit").lower():
        capacity = None
    elif text.lstrip("-").isdigit() and len(text) <= 7:
        capacity = int(text)
    else:
        await message.answer(
            _("Please type the number of seats as a whole number from 1 to {max}, or «no limit».").format(
                max=CAPACITY_MAX
            )
        )
        return
    try:
        offered = await set_capacity(session, profile.user, event_id, capacity, clock.now())
    except EventError as exc:
        await message.answer(_edit_error(exc))
        return
    await state.clear()
    await session.commit()
    await outbox_wakeup()
    await message.answer(_seats_saved(capacity, len(offered)))
    await _send_card(message, session, event_id, i18n)


@router.message(Manage.deadline, F.text, ~F.text.startswith("/"))
async def type_deadline(
    message: Message, state: FSMContext, session: AsyncSession, profile: Profile, clock: Clock, i18n: I18n
) -> None:
    event_id = await _current_event(message, state, session, profile)
    if event_id is None:
        return
    event = await session.get(Event, event_id)
    assert event is not None
    moment = date_picker.parse_moment(message.text or "", await zone_of(session, event.municipality_id))
    if moment is None:
        await message.answer(
            _("I could not read this date. Please type it as DD.MM.YYYY HH:MM, e.g. 05.12.2026 10:00.")
        )
        return
    try:
        await set_deadline(session, profile.user, event_id, moment, clock.now())
    except EventError as exc:
        await message.answer(_edit_error(exc))
        return
    await state.clear()
    await session.commit()
    await message.answer(_("Saved. From now on the event's cards show it."))
    await _send_card(message, session, event_id, i18n)


@router.message(Manage.title, ~F.text.startswith("/"))
@router.message(Manage.description, ~F.text.startswith("/"))
@router.message(Manage.seats, ~F.text.startswith("/"))
@router.message(Manage.deadline, ~F.text.startswith("/"))
async def not_text_edit(message: Message) -> None:
    await message.answer(_("Please type the answer as text, or send /cancel to stop."))
