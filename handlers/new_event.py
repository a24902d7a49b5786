"""A coordinator creates and publishes an event: kind, title, date, grades, audience, scope, venue, preview."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import NewEventCb
from bot.filters import HasRole
from handlers.keyboards import rows
from models import Event, EventKind, Municipality, Role
from services import directory
from services.cards import KIND_LABELS, CardContext, event_text
from services.events import EventDraft, EventError, create_event, publish_event, validate
from services.people import Profile

router = Router(name="new_event")
router.message.filter(HasRole(Role.coordinator))
router.callback_query.filter(HasRole(Role.coordinator))

GRADE_BANDS = {
    "1-4": (1, 4),
    "5-9": (5, 9),
    "6-11": (6, 11),
    "8-11": (8, 11),
    "10-11": (10, 11),
    "1-11": (1, 11),
}
AUDIENCES = {"s": (True, False), "p": (False, True), "sp": (True, True)}
DATE_FORMAT = "%d.%m.%Y %H:%M"

Wakeup = Callable[[], Awaitable[None]]


class NewEvent(StatesGroup):
    municipality = State()
    kind = State()
    title = State()
    starts_at = State()
    grades = State()
    audience = State()
    scope = State()
    venue = State()
    preview = State()


def error_text(code: str) -> str:
    return {
        "title_empty": _("The title is empty. Please type the title."),
        "title_too_long": _("The title is too long (at most 200 characters). Please type a shorter one."),
        "description_too_long": _("The description is too long."),
        "starts_in_past": _("This moment has already passed. Please give a future date and time."),
        "ends_before_start": _("The end must be after the start."),
        "grades": _("Grades must be from 1 to 11."),
        "capacity": _("The number of seats must be positive."),
        "no_audience": _("Choose at least one audience."),
        "not_publishable": _("This event cannot be published."),
    }.get(code, _("Something is wrong with the event."))


async def _zone(session: AsyncSession, municipality_id: int) -> ZoneInfo:
    municipality = await session.get(Municipality, municipality_id)
    return ZoneInfo(municipality.timezone if municipality else "Europe/Moscow")


def _draft(data: dict[str, Any]) -> EventDraft:
    low, high = GRADE_BANDS[data["grades"]]
    for_students, for_parents = AUDIENCES[data["audience"]]
    return EventDraft(
        kind=EventKind(data["kind"]),
        title=data["title"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        municipality_id=int(data["municipality_id"]),
        grade_min=low,
        grade_max=high,
        for_students=for_students,
        for_parents=for_parents,
        school_id=data.get("school_id"),
        venue=data.get("venue"),
    )


async def _ask(
    target: Message | CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    if isinstance(target, CallbackQuery):
        if isinstance(target.message, Message):
            await target.message.edit_text(text, reply_markup=keyboard)
        await target.answer()
    else:
        await target.answer(text, reply_markup=keyboard)


async def _ask_kind(target: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewEvent.kind)
    buttons = [
        (str(label), NewEventCb(step="kind", value=kind.value).pack()) for kind, label in KIND_LABELS.items()
    ]
    await _ask(target, _("New event. What kind is it?"), rows(buttons, width=2))


@router.message(Command("new_event"))
async def begin(message: Message, state: FSMContext, session: AsyncSession, profile: Profile) -> None:
    await state.clear()
    if profile.coordinator_municipality_id is not None:
        await state.update_data(municipality_id=profile.coordinator_municipality_id)
        await _ask_kind(message, state)
        return
    municipalities = await directory.municipalities(session)
    if not municipalities:
        await message.answer(_("The directory is empty: there is no municipality to publish for yet."))
        return
    if len(municipalities) == 1:
        await state.update_data(municipality_id=municipalities[0].id)
        await _ask_kind(message, state)
        return
    await state.set_state(NewEvent.municipality)
    buttons = [(m.name, NewEventCb(step="mun", value=str(m.id)).pack()) for m in municipalities]
    await message.answer(_("New event. For which municipality?"), reply_markup=rows(buttons))


@router.callback_query(NewEvent.municipality, NewEventCb.filter(F.step == "mun"))
async def choose_municipality(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession
) -> None:
    if not callback_data.value.isdigit() or await session.get(Municipality, int(callback_data.value)) is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(municipality_id=int(callback_data.value))
    await _ask_kind(query, state)


@router.callback_query(NewEvent.kind, NewEventCb.filter(F.step == "kind"))
async def choose_kind(query: CallbackQuery, callback_data: NewEventCb, state: FSMContext) -> None:
    if callback_data.value not in EventKind.__members__:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(kind=callback_data.value)
    await state.set_state(NewEvent.title)
    await _ask(query, _("Type the title of the event (up to 200 characters)."))


@router.message(NewEvent.title, F.text, ~F.text.startswith("/"))
async def type_title(message: Message, state: FSMContext) -> None:
    title = (message.text or "").strip()
    if not title or len(title) > 200:
        await message.answer(error_text("title_empty" if not title else "title_too_long"))
        return
    await state.update_data(title=title)
    await state.set_state(NewEvent.starts_at)
    await message.answer(
        _("When does it start? Type the date and time as DD.MM.YYYY HH:MM, for example 05.12.2026 10:00.")
    )


@router.message(NewEvent.starts_at, F.text, ~F.text.startswith("/"))
async def type_start(message: Message, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    zone = await _zone(session, int(data["municipality_id"]))
    try:
        local = datetime.strptime((message.text or "").strip(), DATE_FORMAT)
    except ValueError:
        await message.answer(
            _("I could not read this date. Please type it as DD.MM.YYYY HH:MM, e.g. 05.12.2026 10:00.")
        )
        return
    starts_at = local.replace(tzinfo=zone)
    if starts_at <= datetime.now(zone):
        await message.answer(error_text("starts_in_past"))
        return
    await state.update_data(starts_at=starts_at.isoformat())
    await state.set_state(NewEvent.grades)
    buttons = [(band.replace("-", "–"), NewEventCb(step="grades", value=band).pack()) for band in GRADE_BANDS]
    await message.answer(_("For which grades?"), reply_markup=rows(buttons, width=3))


@router.callback_query(NewEvent.grades, NewEventCb.filter(F.step == "grades"))
async def choose_grades(query: CallbackQuery, callback_data: NewEventCb, state: FSMContext) -> None:
    if callback_data.value not in GRADE_BANDS:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(grades=callback_data.value)
    await state.set_state(NewEvent.audience)
    buttons = [
        (_("Pupils"), NewEventCb(step="aud", value="s").pack()),
        (_("Parents"), NewEventCb(step="aud", value="p").pack()),
        (_("Pupils and parents"), NewEventCb(step="aud", value="sp").pack()),
    ]
    await _ask(query, _("Who is it for?"), rows(buttons))


@router.callback_query(NewEvent.audience, NewEventCb.filter(F.step == "aud"))
async def choose_audience(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession
) -> None:
    if callback_data.value not in AUDIENCES:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(audience=callback_data.value)
    await state.set_state(NewEvent.scope)
    data = await state.get_data()
    schools = await directory.schools_of(session, int(data["municipality_id"]))
    buttons = [(_("All schools of the municipality"), NewEventCb(step="scope", value="all").pack())]
    buttons += [(s.name, NewEventCb(step="scope", value=str(s.id)).pack()) for s in schools]
    await _ask(query, _("Which schools?"), rows(buttons))


@router.callback_query(NewEvent.scope, NewEventCb.filter(F.step == "scope"))
async def choose_scope(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    school_id = None
    if callback_data.value != "all":
        school = (
            await directory.school_in(session, int(callback_data.value), int(data["municipality_id"]))
            if callback_data.value.isdigit()
            else None
        )
        if school is None:
            await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
            return
        school_id = school.id
    await state.update_data(school_id=school_id)
    await state.set_state(NewEvent.venue)
    skip = rows([(_("Skip"), NewEventCb(step="venue", value="skip").pack())])
    await _ask(query, _("Where does it take place? Type the address or the place, or press «Skip»."), skip)


async def _preview(
    target: Message | CallbackQuery, state: FSMContext, session: AsyncSession, i18n: I18n
) -> None:
    data = await state.get_data()
    draft = _draft(data)
    event = Event(**vars(draft))
    event.id = 0
    ctx = CardContext(zone=await _zone(session, draft.municipality_id), locale=i18n.current_locale)
    await state.set_state(NewEvent.preview)
    buttons = [
        (_("📢 Publish"), NewEventCb(step="publish", value="yes").pack()),
        (_("Cancel"), NewEventCb(step="publish", value="no").pack()),
    ]
    await _ask(
        target, _("Preview of the announcement:") + "\n\n" + event_text(event, ctx), rows(buttons, width=2)
    )


@router.callback_query(NewEvent.venue, NewEventCb.filter(F.step == "venue"))
async def skip_venue(query: CallbackQuery, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    await state.update_data(venue=None)
    await _preview(query, state, session, i18n)


@router.message(NewEvent.venue, F.text, ~F.text.startswith("/"))
async def type_venue(message: Message, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    venue = (message.text or "").strip()
    if len(venue) > 300:
        await message.answer(_("The place is too long (at most 300 characters)."))
        return
    await state.update_data(venue=venue or None)
    await _preview(message, state, session, i18n)


@router.callback_query(NewEvent.preview, NewEventCb.filter(F.step == "publish"))
async def publish(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    outbox_wakeup: Wakeup,
) -> None:
    data = await state.get_data()
    await state.clear()
    if callback_data.value != "yes":
        await _ask(query, _("Cancelled. Nothing was published."))
        return
    draft = _draft(data)
    try:
        validate(draft, datetime.now(draft.starts_at.tzinfo))
        event = await create_event(session, draft, profile.user)
        queued = await publish_event(session, event)
    except EventError as exc:
        await _ask(query, error_text(exc.code))
        return
    await session.commit()
    await outbox_wakeup()
    await _ask(
        query,
        _("Published: «{title}». The announcement is going to {count} subscribers.").format(
            title=escape(event.title), count=queued
        ),
    )


@router.callback_query(NewEventCb.filter())
async def stale(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date. Send /new_event to start again."), show_alert=True)


@router.message(NewEvent.municipality, ~F.text.startswith("/"))
@router.message(NewEvent.kind, ~F.text.startswith("/"))
@router.message(NewEvent.grades, ~F.text.startswith("/"))
@router.message(NewEvent.audience, ~F.text.startswith("/"))
@router.message(NewEvent.scope, ~F.text.startswith("/"))
@router.message(NewEvent.preview, ~F.text.startswith("/"))
@router.message(NewEvent.title, ~F.text.startswith("/"))
@router.message(NewEvent.starts_at, ~F.text.startswith("/"))
@router.message(NewEvent.venue, ~F.text.startswith("/"))
async def unexpected(message: Message, state: FSMContext) -> None:
    """Anything else inside the dialog: explain what is expected; /cancel leaves."""
    step = await state.get_state()
    if step in (NewEvent.title.state, NewEvent.starts_at.state, NewEvent.venue.state):
        await message.answer(_("Please type the answer as text, or send /cancel to stop."))
    else:
        await message.answer(_("Please choose one of the buttons above, or send /cancel to stop."))
