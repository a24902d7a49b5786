"""/events: an organiser's upcoming events — move, change the place, or cancel (everyone signed up is told)."""

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
from bot.event_callbacks import ManageCb
from bot.filters import HasRole
from handlers import date_picker
from handlers.keyboards import rows
from handlers.new_event import error_text, zone_of
from models import Role
from services.cards import event_text, when
from services.events import EventError, cancel_event, change_event, managed_event, managed_events
from services.notifications import card_context
from services.people import Profile

router = Router(name="manage_events")
router.message.filter(HasRole(Role.coordinator, Role.teacher))
router.callback_query.filter(HasRole(Role.coordinator, Role.teacher))
Wakeup = Callable[[], Awaitable[None]]


class Manage(StatesGroup):
    move = State()
    venue = State()


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


def _actions(event_id: int) -> InlineKeyboardMarkup:
    return rows(
        [
            (_("🗓 Move"), ManageCb(event_id=event_id, action="move").pack()),
            (_("📍 Change the place"), ManageCb(event_id=event_id, action="venue").pack()),
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
    if action == "open":
        ctx = await card_context(session, event, i18n.current_locale)
        await _edit(
            query, event_text(event, ctx), _actions(event.id) if event.status.value == "published" else None
        )
    elif action == "move":
        await state.set_state(Manage.move)
        await state.update_data(manage_event=event.id)
        await _edit(query, _("Type the new date and time as DD.MM.YYYY HH:MM."))
    elif action == "venue":
        await state.set_state(Manage.venue)
        await state.update_data(manage_event=event.id)
        await _edit(query, _("Type the new place (up to 300 characters)."))
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
