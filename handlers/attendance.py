"""/attendance: after an event, teachers (their pupils) and coordinators mark who came, add walk-ins,
record contest results, and close the marking, which asks the attendees for feedback."""

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
from bot.event_callbacks import AttendCb
from bot.filters import HasRole
from handlers.keyboards import PAGE_SIZE, nav_row, page_note, page_of, rows
from handlers.new_event import error_text, zone_of
from models import Event, EventKind, Role, Rsvp, School
from services import attendance
from services.cards import learner_label, when
from services.events import EventError, managed_events
from services.people import Profile

router = Router(name="attendance")
router.message.filter(HasRole(Role.coordinator, Role.teacher))
router.callback_query.filter(HasRole(Role.coordinator, Role.teacher))
Wakeup = Callable[[], Awaitable[None]]
RESULT_MARKS = {None: "", "winner": " 🥇", "prize_winner": " 🥈"}


@router.message(Command("attendance"))
async def choose_event(
    message: Message, session: AsyncSession, profile: Profile, i18n: I18n, clock: Clock
) -> None:
    events = await managed_events(session, profile.user, upcoming=False, now=clock.now())
    if not events:
        await message.answer(_("No event of yours has started yet; attendance is marked after the start."))
        return
    buttons = []
    for event in events:
        zone = await zone_of(session, event.municipality_id)
        label = f"{when(event.starts_at, zone, i18n.current_locale)} · {event.title}"[:60]
        buttons.append((label, AttendCb(event_id=event.id, action="open").pack()))
    await message.answer(_("Attendance: choose the event."), reply_markup=rows(buttons))


async def _sheet(
    session: AsyncSession, event: Event, people: list[Rsvp], page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The header with the numbers to report and one page of participants (a row each, 🏆 for contests)."""
    schools = {s.id: s.name for s in (await session.scalars(select(School))).all()}
    came, ovz, winners = attendance.summary(people)
    shown, page, pages = page_of(people, page)
    lines = [
        _("<b>Attendance: {title}</b>").format(title=escape(event.title)),
        _("Tap a participant to mark them present (✅) or absent (⬜)."),
        _("Came: {n}, of them with ОВЗ: {ovz}, winners and prize-winners: {w}.").format(
            n=came, ovz=ovz, w=winners
        ),
    ]
    if pages > 1:
        lines.append(page_note(page, pages))
    keyboard: list[list[InlineKeyboardButton]] = []
    for n, rsvp in enumerate(shown, start=page * PAGE_SIZE + 1):
        who = (
            learner_label(rsvp.grade, schools.get(rsvp.school_id or 0))
            if rsvp.grade
            else _("parent / teacher")
        )
        if rsvp.walk_in:
            who += " " + _("(walk-in)")
        mark = "✅" if rsvp.attended else "⬜"
        row = [
            InlineKeyboardButton(
                text=f"{mark} {n}. {who}{RESULT_MARKS.get(rsvp.result, '')}"[:60],
                callback_data=AttendCb(event_id=event.id, action="toggle", value=rsvp.id, page=page).pack(),
            )
        ]
        if event.kind is EventKind.contest:
            row.append(
                InlineKeyboardButton(
                    text="🏆",
                    callback_data=AttendCb(
                        event_id=event.id, action="result", value=rsvp.id, page=page
                    ).pack(),
                )
            )
        keyboard.append(row)
    nav = nav_row(page, pages, lambda p: AttendCb(event_id=event.id, action="open", page=p).pack())
    if nav:
        keyboard.append(nav)
    keyboard.append(
        [
            InlineKeyboardButton(
                text=_("➕ Walk-in"),
                callback_data=AttendCb(event_id=event.id, action="walkin", page=page).pack(),
            ),
            InlineKeyboardButton(
                text=_("🏁 Finish and ask for feedback"),
                callback_data=AttendCb(event_id=event.id, action="finish", page=page).pack(),
            ),
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=keyboard)


async def _edit(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=keyboard)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise


@router.callback_query(AttendCb.filter())
async def on_attendance(
    query: CallbackQuery,
    callback_data: AttendCb,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    now = clock.now()
    user = profile.user
    event_id, action, value = callback_data.event_id, callback_data.action, callback_data.value
    page = callback_data.page
    try:
        if action == "toggle":
            await attendance.toggle_attended(session, user, event_id, value, now)
        elif action == "result":
            await attendance.cycle_result(session, user, event_id, value, now)
        elif action == "walkin":
            await attendance.participants(session, user, event_id, now)  # checks the right to mark
            buttons = [
                (str(g), AttendCb(event_id=event_id, action="walkin_grade", value=g, page=page).pack())
                for g in range(1, 12)
            ]
            buttons.append((_("« Back"), AttendCb(event_id=event_id, action="open", page=page).pack()))
            await _edit(query, _("A walk-in: which grade?"), rows(buttons, width=4))
            await query.answer()
            return
        elif action == "walkin_grade":
            await attendance.add_walk_in(session, user, event_id, value, now)
        elif action == "finish":
            queued = await attendance.finish(session, user, event_id, now)
            await session.commit()
            await outbox_wakeup()
            await query.answer(
                _("Done. Feedback requests are going to {n} people.").format(n=queued), show_alert=True
            )
        elif action != "open":
            await query.answer(_("This button is out of date."), show_alert=True)
            return
        event, people = await attendance.participants(session, user, event_id, now)
    except EventError as exc:
        await query.answer(error_text(exc.code), show_alert=True)
        return
    await session.commit()
    text, keyboard = await _sheet(session, event, people, page)
    await _edit(query, text, keyboard)
    if action != "finish":
        await query.answer()
