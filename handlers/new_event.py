"""Creating an event: a coordinator for their municipality, a teacher (class hours, parent meetings) for
their school. Kind, title, date (inline calendar), grades, audience, scope, place; then a preview where the
optional fields (description, seats, deadline, end, link, ОВЗ) are set before publishing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
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
from bot.clock import Clock
from bot.event_callbacks import PickCb
from bot.filters import HasRole
from handlers import date_picker
from handlers.keyboards import ask as _ask
from handlers.keyboards import municipality_chooser, page_note, paged_rows, rows
from models import Event, EventKind, EventLevel, Municipality, Organisation, Role, School
from services import directory
from services.cards import KIND_LABELS, LEVEL_LABELS, CardContext, event_text
from services.events import (
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    TEACHER_KINDS,
    EventDraft,
    EventError,
    authority,
    create_event,
    publish_event,
    validate,
)
from services.people import Profile

router = Router(name="new_event")
router.message.filter(HasRole(Role.coordinator, Role.teacher))
router.callback_query.filter(HasRole(Role.coordinator, Role.teacher))

GRADE_BANDS = {
    "1-4": (1, 4),
    "5-9": (5, 9),
    "6-11": (6, 11),
    "8-11": (8, 11),
    "10-11": (10, 11),
    "1-11": (1, 11),
}
AUDIENCES = {
    "s": (True, False, False),
    "p": (False, True, False),
    "sp": (True, True, False),
    "t": (False, False, True),
}
OPTIONAL = ("description", "capacity", "deadline", "ends", "url")

Wakeup = Callable[[], Awaitable[None]]


class NewEvent(StatesGroup):
    municipality = State()
    kind = State()
    title = State()
    starts_at = State()
    start_time = State()
    grades = State()
    audience = State()
    scope = State()
    venue = State()
    preview = State()
    field = State()


def error_text(code: str) -> str:
    return {
        "title_empty": _("The title is empty. Please type the title."),
        "title_too_long": _("The title is too long (at most 200 characters). Please type a shorter one."),
        "description_too_long": _(
            "The description is too long (at most 3000 characters). Please shorten it."
        ),
        "venue_too_long": _("The place is too long (at most 300 characters)."),
        "bad_url": _("The link must start with http:// or https:// (at most 500 characters)."),
        "starts_in_past": _("This moment has already passed. Please give a future date and time."),
        "ends_before_start": _("The end must be after the start."),
        "grades": _("Grades must be from 1 to 11."),
        "capacity": _("The number of seats must be a whole number from 1 to 100000."),
        "deadline": _("The registration deadline must be in the future and not after the start."),
        "no_audience": _("Choose at least one audience."),
        "not_publishable": _("This event cannot be published."),
        "school_scope": _("This school is not in the event's municipality."),
        "forbidden": _("You may not create or change this event."),
        "no_event": _("This event no longer exists."),
        "not_editable": _("This event is cancelled or over and cannot be changed."),
        "not_started": _("The event has not started yet."),
        "not_contest": _("Results are recorded for contests only."),
    }.get(code, _("Something is wrong with the event."))


async def zone_of(session: AsyncSession, municipality_id: int) -> ZoneInfo:
    municipality = await session.get(Municipality, municipality_id)
    return ZoneInfo(municipality.timezone if municipality else "Europe/Moscow")


def _draft(data: dict[str, Any]) -> EventDraft:
    low, high = data["grade_min"], data["grade_max"]
    for_students, for_parents, for_teachers = AUDIENCES[data["audience"]]
    when = lambda key: datetime.fromisoformat(data[key]) if data.get(key) else None  # noqa: E731
    return EventDraft(
        kind=EventKind(data["kind"]),
        title=data["title"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        municipality_id=int(data["municipality_id"]),
        grade_min=int(low),
        grade_max=int(high),
        for_students=for_students,
        for_parents=for_parents,
        for_teachers=for_teachers,
        school_id=data.get("school_id"),
        venue=data.get("venue"),
        description=data.get("description", ""),
        ends_at=when("ends_at"),
        online_url=data.get("online_url"),
        capacity=data.get("capacity"),
        registration_deadline=when("deadline"),
        ovz_suitable=bool(data.get("ovz")),
        organisation_id=data.get("organisation_id"),
        level=EventLevel(data.get("level") or ("school" if data.get("teacher") else "municipal")),
    )


async def _ask_kind(target: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewEvent.kind)
    data = await state.get_data()
    kinds = [k for k in KIND_LABELS if not data.get("teacher") or k in TEACHER_KINDS]
    buttons = [(str(KIND_LABELS[k]), NewEventCb(step="kind", value=k.value).pack()) for k in kinds]
    await _ask(target, _("New event. What kind is it?"), rows(buttons, width=2))


@router.message(Command("new_event"))
async def begin(message: Message, state: FSMContext, session: AsyncSession, profile: Profile) -> None:
    await state.clear()
    auth = await authority(session, profile.user)
    if not auth.admin and not auth.municipalities:
        # A teacher: class hours and parent meetings of their school.
        school = await session.get(School, min(auth.schools)) if auth.schools else None
        if school is None:
            await message.answer(_("Your profile has no school; ask your coordinator."))
            return
        await state.update_data(municipality_id=school.municipality_id, school_id=school.id, teacher=True)
        await _ask_kind(message, state)
        return
    # A region's coordinator chooses among their municipalities; an admin among all of them.
    only = None if auth.admin else auth.municipalities
    municipalities = await directory.municipalities(session, only)
    if not municipalities:
        await message.answer(_("The directory is empty: there is no municipality to publish for yet."))
        return
    if len(municipalities) == 1:
        await state.update_data(municipality_id=municipalities[0].id)
        await _ask_kind(message, state)
        return
    await state.set_state(NewEvent.municipality)
    text, markup = await _municipality_page(session, 0, only)
    await message.answer(text, reply_markup=markup)


async def _municipality_page(
    session: AsyncSession, page: int, only: frozenset[int] | None
) -> tuple[str, InlineKeyboardMarkup]:
    return await municipality_chooser(
        session,
        page,
        only,
        _("New event. For which municipality?"),
        lambda m: NewEventCb(step="mun", value=str(m)).pack(),
        lambda p: NewEventCb(step="mun_page", value=str(p)).pack(),
    )


@router.callback_query(NewEvent.municipality, NewEventCb.filter(F.step == "mun_page"))
async def municipality_page(
    query: CallbackQuery, callback_data: NewEventCb, session: AsyncSession, profile: Profile
) -> None:
    auth = await authority(session, profile.user)
    text, markup = await _municipality_page(
        session,
        int(callback_data.value) if callback_data.value.isdigit() else 0,
        None if auth.admin else auth.municipalities,
    )
    await _ask(query, text, markup)


@router.callback_query(NewEvent.municipality, NewEventCb.filter(F.step == "mun"))
async def choose_municipality(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
) -> None:
    auth = await authority(session, profile.user)
    if (
        not callback_data.value.isdigit()
        or await session.get(Municipality, int(callback_data.value)) is None
        or not (auth.admin or int(callback_data.value) in auth.municipalities)
    ):
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(municipality_id=int(callback_data.value))
    await _ask_kind(query, state)


@router.callback_query(NewEvent.kind, NewEventCb.filter(F.step == "kind"))
async def choose_kind(query: CallbackQuery, callback_data: NewEventCb, state: FSMContext) -> None:
    data = await state.get_data()
    if callback_data.value not in EventKind.__members__ or (
        data.get("teacher") and EventKind(callback_data.value) not in TEACHER_KINDS
    ):
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(kind=callback_data.value)
    await state.set_state(NewEvent.title)
    await _ask(query, _("Type the title of the event (up to 200 characters)."))


async def _ask_date(
    target: Message | CallbackQuery, state: FSMContext, session: AsyncSession, i18n: I18n, clock: Clock
) -> None:
    data = await state.get_data()
    today = clock.now().astimezone(await zone_of(session, int(data["municipality_id"]))).date()
    await state.set_state(NewEvent.starts_at)
    await _ask(
        target,
        _("When does it start?") + " " + date_picker.pick_prompt(),
        date_picker.month_keyboard(today.year, today.month, today, i18n.current_locale),
    )


@router.message(NewEvent.title, F.text, ~F.text.startswith("/"))
async def type_title(
    message: Message, state: FSMContext, session: AsyncSession, i18n: I18n, clock: Clock
) -> None:
    title = (message.text or "").strip()
    if not title or len(title) > 200:
        await message.answer(error_text("title_empty" if not title else "title_too_long"))
        return
    await state.update_data(title=title)
    await _ask_date(message, state, session, i18n, clock)


async def _set_start(
    target: Message | CallbackQuery,
    state: FSMContext,
    starts_at: datetime,
    clock: Clock,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    if starts_at <= clock.now():
        await _ask_text(target, error_text("starts_in_past"))
        return
    await state.update_data(starts_at=starts_at.isoformat())
    data = await state.get_data()
    if data.get("editing"):
        await state.update_data(editing=None)
        await _preview(target, state, session, i18n)
        return
    await state.set_state(NewEvent.grades)
    buttons = [(band.replace("-", "–"), NewEventCb(step="grades", value=band).pack()) for band in GRADE_BANDS]
    await _ask(target, _("For which grades? Choose a band or type e.g. 9 or 7-9."), rows(buttons, width=3))


async def _ask_text(target: Message | CallbackQuery, text: str) -> None:
    if isinstance(target, CallbackQuery):
        await target.answer(text, show_alert=True)
    else:
        await target.answer(text)


@router.message(NewEvent.starts_at, F.text, ~F.text.startswith("/"))
async def type_start(
    message: Message, state: FSMContext, session: AsyncSession, clock: Clock, i18n: I18n
) -> None:
    data = await state.get_data()
    moment = date_picker.parse_moment(
        message.text or "", await zone_of(session, int(data["municipality_id"]))
    )
    if moment is None:
        await message.answer(
            _("I could not read this date. Please type it as DD.MM.YYYY HH:MM, e.g. 05.12.2026 10:00.")
        )
        return
    await _set_start(message, state, moment, clock, session, i18n)


@router.callback_query(NewEvent.starts_at, PickCb.filter())
async def pick_day(
    query: CallbackQuery,
    callback_data: PickCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
    clock: Clock,
) -> None:
    data = await state.get_data()
    today = clock.now().astimezone(await zone_of(session, int(data["municipality_id"]))).date()
    if callback_data.action == "noop":
        await query.answer()
        return
    if callback_data.action == "month":
        month = date_picker.month_allowed(callback_data.value, today)
        if month is None:
            await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
            return
        await _ask(
            query,
            _("When does it start?") + " " + date_picker.pick_prompt(),
            date_picker.month_keyboard(month[0], month[1], today, i18n.current_locale),
        )
        return
    day = date_picker.day_from(callback_data.value) if callback_data.action == "day" else None
    if day is None or day < today or day > today + timedelta(days=date_picker.MAX_MONTHS_AHEAD * 31):
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(start_day=day.isoformat())
    await state.set_state(NewEvent.start_time)
    await _ask(
        query,
        _("{day}: at what time? Choose or type it as HH:MM.").format(day=day.strftime("%d.%m.%Y")),
        date_picker.time_keyboard(),
    )


async def _start_from(state: FSMContext, session: AsyncSession, moment: Any) -> datetime:
    data = await state.get_data()
    zone = await zone_of(session, int(data["municipality_id"]))
    return datetime.combine(date.fromisoformat(data["start_day"]), moment, tzinfo=zone)


@router.callback_query(NewEvent.start_time, PickCb.filter(F.action == "time"))
async def pick_time(
    query: CallbackQuery,
    callback_data: PickCb,
    state: FSMContext,
    session: AsyncSession,
    clock: Clock,
    i18n: I18n,
) -> None:
    moment = date_picker.time_from(callback_data.value)
    if moment is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await _set_start(query, state, await _start_from(state, session, moment), clock, session, i18n)


@router.message(NewEvent.start_time, F.text, ~F.text.startswith("/"))
async def type_time(
    message: Message, state: FSMContext, session: AsyncSession, clock: Clock, i18n: I18n
) -> None:
    moment = date_picker.parse_time(message.text or "")
    if moment is None:
        await message.answer(_("Please type the time as HH:MM, e.g. 15:30."))
        return
    await _set_start(message, state, await _start_from(state, session, moment), clock, session, i18n)


async def _set_grades(target: Message | CallbackQuery, state: FSMContext, low: int, high: int) -> None:
    await state.update_data(grade_min=low, grade_max=high)
    await state.set_state(NewEvent.audience)
    buttons = [
        (_("Pupils"), NewEventCb(step="aud", value="s").pack()),
        (_("Parents"), NewEventCb(step="aud", value="p").pack()),
        (_("Pupils and parents"), NewEventCb(step="aud", value="sp").pack()),
        (_("Teachers"), NewEventCb(step="aud", value="t").pack()),
    ]
    await _ask(target, _("Who is it for?"), rows(buttons))


@router.callback_query(NewEvent.grades, NewEventCb.filter(F.step == "grades"))
async def choose_grades(query: CallbackQuery, callback_data: NewEventCb, state: FSMContext) -> None:
    if callback_data.value not in GRADE_BANDS:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await _set_grades(query, state, *GRADE_BANDS[callback_data.value])


@router.message(NewEvent.grades, F.text, ~F.text.startswith("/"))
async def type_grades(message: Message, state: FSMContext) -> None:
    low, _sep, high = (message.text or "").replace("–", "-").replace(" ", "").partition("-")
    if not low.isdigit() or not (high or low).isdigit() or not 1 <= int(low) <= int(high or low) <= 11:
        await message.answer(error_text("grades"))
        return
    await _set_grades(message, state, int(low), int(high or low))


@router.callback_query(NewEvent.audience, NewEventCb.filter(F.step == "aud"))
async def choose_audience(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession
) -> None:
    if callback_data.value not in AUDIENCES:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(audience=callback_data.value)
    data = await state.get_data()
    if data.get("teacher"):
        await _ask_venue(query, state)
        return
    await state.set_state(NewEvent.scope)
    await _ask_scope(query, session, int(data["municipality_id"]), 0)


async def _ask_scope(query: CallbackQuery, session: AsyncSession, municipality_id: int, page: int) -> None:
    """«All schools» and one page of the municipality's schools."""
    schools = await directory.schools_of(session, municipality_id)
    markup, page, pages = paged_rows(
        [(s.name, NewEventCb(step="scope", value=str(s.id)).pack()) for s in schools],
        page,
        lambda p: NewEventCb(step="scope_page", value=str(p)).pack(),
        head=[(_("All schools of the municipality"), NewEventCb(step="scope", value="all").pack())],
    )
    await _ask(query, "\n".join(filter(None, [_("Which schools?"), page_note(page, pages)])), markup)


@router.callback_query(NewEvent.scope, NewEventCb.filter(F.step == "scope_page"))
async def scope_page(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    page = int(callback_data.value) if callback_data.value.isdigit() else 0
    await _ask_scope(query, session, int(data["municipality_id"]), page)


async def _ask_venue(target: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewEvent.venue)
    skip = rows([(_("Skip"), NewEventCb(step="venue", value="skip").pack())])
    await _ask(target, _("Where does it take place? Type the address or the place, or press «Skip»."), skip)


@router.callback_query(NewEvent.scope, NewEventCb.filter(F.step == "scope"))
async def choose_scope(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    valid, school_id = await directory.scope_choice(
        session, callback_data.value, int(data["municipality_id"])
    )
    if not valid:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(school_id=school_id)
    await _ask_venue(query, state)


def _preview_keyboard(data: dict[str, Any]) -> InlineKeyboardMarkup:
    ovz = _("♿ ОВЗ: yes") if data.get("ovz") else _("♿ ОВЗ: no")
    buttons = [
        (_("📝 Description"), NewEventCb(step="opt", value="description").pack()),
        (_("🎟 Seats"), NewEventCb(step="opt", value="capacity").pack()),
        (_("⏳ Sign-up deadline"), NewEventCb(step="opt", value="deadline").pack()),
        (_("🕔 End time"), NewEventCb(step="opt", value="ends").pack()),
        (_("🔗 Online link"), NewEventCb(step="opt", value="url").pack()),
        (ovz, NewEventCb(step="opt", value="ovz").pack()),
        (_("🗓 Date"), NewEventCb(step="opt", value="date").pack()),
        (_("🏢 Host"), NewEventCb(step="opt", value="host").pack()),
        (_("🏷 Level"), NewEventCb(step="opt", value="level").pack()),
        (_("📢 Publish"), NewEventCb(step="publish", value="yes").pack()),
        (_("Cancel"), NewEventCb(step="publish", value="no").pack()),
    ]
    return rows(buttons, width=2)


async def _preview_text(state: FSMContext, session: AsyncSession, i18n: I18n) -> str:
    data = await state.get_data()
    draft = _draft(data)
    event = Event(**vars(draft))
    event.id = 0
    place = host = None
    if draft.organisation_id:
        org = await session.get(Organisation, draft.organisation_id)
        place = host = org.name if org else None
    elif draft.school_id:
        school = await session.get(School, draft.school_id)
        place = school.name if school else None
    ctx = CardContext(
        host=host if draft.venue else None,
        zone=await zone_of(session, draft.municipality_id),
        locale=i18n.current_locale,
        place=place,
        seats_left=draft.capacity,
        full=True,
    )
    return (
        _("Preview of the announcement:")
        + "\n\n"
        + event_text(event, ctx)
        + "\n\n"
        + _("Add details with the buttons, or publish.")
    )


async def _preview(
    target: Message | CallbackQuery, state: FSMContext, session: AsyncSession, i18n: I18n
) -> None:
    await state.set_state(NewEvent.preview)
    text = await _preview_text(state, session, i18n)
    await _ask(target, text[:4000], _preview_keyboard(await state.get_data()))


@router.callback_query(NewEvent.venue, NewEventCb.filter(F.step == "venue"))
async def skip_venue(query: CallbackQuery, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    await state.update_data(venue=None)
    await _preview(query, state, session, i18n)


@router.message(NewEvent.venue, F.text, ~F.text.startswith("/"))
async def type_venue(message: Message, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    venue = (message.text or "").strip()
    if len(venue) > 300:
        await message.answer(error_text("venue_too_long"))
        return
    await state.update_data(venue=venue or None)
    await _preview(message, state, session, i18n)


@router.callback_query(NewEvent.preview, NewEventCb.filter(F.step == "opt"))
async def choose_option(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
    clock: Clock,
) -> None:
    option = callback_data.value
    if option == "ovz":
        data = await state.get_data()
        await state.update_data(ovz=not data.get("ovz"))
        await _preview(query, state, session, i18n)
        return
    if option == "date":
        await state.update_data(editing="date")
        await _ask_date(query, state, session, i18n, clock)
        return
    if option == "host":
        await _ask_host(query, state, session, 0)
        return
    if option == "level":
        buttons = [
            (str(label), NewEventCb(step="level", value=level.value).pack())
            for level, label in LEVEL_LABELS.items()
        ]
        await _ask(query, _("What level is the event?"), rows(buttons, width=2))
        return
    if option not in OPTIONAL:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    prompts = {
        "description": _("Type the description (up to 3000 characters)."),
        "capacity": _("How many seats are there? Type a whole number from 1 to 100000."),
        "deadline": _("Until when can people sign up? Type DD.MM.YYYY HH:MM."),
        "ends": _("When does it end? Type HH:MM (the same day) or DD.MM.YYYY HH:MM."),
        "url": _("Type the link for joining online (https://…)."),
    }
    await state.update_data(editing=option)
    await state.set_state(NewEvent.field)
    await _ask(query, prompts[option])


async def _ask_host(query: CallbackQuery, state: FSMContext, session: AsyncSession, page: int) -> None:
    """One page of the municipality's organisations, and «No host organisation» on every page."""
    data = await state.get_data()
    orgs = await directory.organisations_of(session, int(data["municipality_id"]))
    markup, page, pages = paged_rows(
        [(o.name[:100], NewEventCb(step="host", value=str(o.id)).pack()) for o in orgs],
        page,
        lambda p: NewEventCb(step="host_page", value=str(p)).pack(),
        tail=[(_("No host organisation"), NewEventCb(step="host", value="none").pack())],
    )
    question = _("Which organisation hosts the event?")
    await _ask(query, "\n".join(filter(None, [question, page_note(page, pages)])), markup)


@router.callback_query(NewEvent.preview, NewEventCb.filter(F.step == "host_page"))
async def host_page(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession
) -> None:
    await _ask_host(query, state, session, int(callback_data.value) if callback_data.value.isdigit() else 0)


@router.callback_query(NewEvent.preview, NewEventCb.filter(F.step == "host"))
async def choose_host(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession, i18n: I18n
) -> None:
    data = await state.get_data()
    organisation_id = None
    if callback_data.value != "none":
        org = (
            await session.get(Organisation, int(callback_data.value))
            if callback_data.value.isdigit()
            else None
        )
        if org is None or org.municipality_id not in (None, int(data["municipality_id"])):
            await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
            return
        organisation_id = org.id
    await state.update_data(organisation_id=organisation_id)
    await _preview(query, state, session, i18n)


@router.callback_query(NewEvent.preview, NewEventCb.filter(F.step == "level"))
async def choose_level(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext, session: AsyncSession, i18n: I18n
) -> None:
    if callback_data.value not in EventLevel.__members__:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(level=callback_data.value)
    await _preview(query, state, session, i18n)


@router.message(NewEvent.field, F.text, ~F.text.startswith("/"))
async def type_option(
    message: Message, state: FSMContext, session: AsyncSession, i18n: I18n, clock: Clock
) -> None:
    data = await state.get_data()
    option = data.get("editing")
    text = (message.text or "").strip()
    zone = await zone_of(session, int(data["municipality_id"]))
    starts_at = datetime.fromisoformat(data["starts_at"])
    update: dict[str, Any] = {}
    if option == "description":
        if len(text) > DESCRIPTION_MAX:
            await message.answer(error_text("description_too_long"))
            return
        update["description"] = text
    elif option == "capacity":
        if not text.lstrip("-").isdigit() or not 0 < int(text) <= CAPACITY_MAX:
            await message.answer(error_text("capacity"))
            return
        update["capacity"] = int(text)
    elif option == "deadline":
        moment = date_picker.parse_moment(text, zone)
        if moment is None or not clock.now() < moment <= starts_at:
            await message.answer(error_text("deadline"))
            return
        update["deadline"] = moment.isoformat()
    elif option == "ends":
        only_time = date_picker.parse_time(text)
        moment = (
            datetime.combine(starts_at.astimezone(zone).date(), only_time, tzinfo=zone)
            if only_time
            else date_picker.parse_moment(text, zone)
        )
        if moment is None or moment <= starts_at:
            await message.answer(error_text("ends_before_start"))
            return
        update["ends_at"] = moment.isoformat()
    elif option == "url":
        if not text.startswith(("http://", "https://")) or len(text) > 500:
            await message.answer(error_text("bad_url"))
            return
        update["online_url"] = text
    await state.update_data(editing=None, **update)
    await _preview(message, state, session, i18n)


@router.callback_query(NewEvent.preview, NewEventCb.filter(F.step == "publish"))
async def publish(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    data = await state.get_data()
    await state.clear()
    if callback_data.value != "yes":
        await _ask(query, _("Cancelled. Nothing was published."))
        return
    draft = _draft(data)
    now = clock.now()
    try:
        validate(draft, now)
        event = await create_event(session, draft, profile.user, now)
        queued = await publish_event(session, event, now)
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
@router.message(NewEvent.audience, ~F.text.startswith("/"))
@router.message(NewEvent.scope, ~F.text.startswith("/"))
@router.message(NewEvent.preview, ~F.text.startswith("/"))
@router.message(NewEvent.title, ~F.text.startswith("/"))
@router.message(NewEvent.starts_at, ~F.text.startswith("/"))
@router.message(NewEvent.start_time, ~F.text.startswith("/"))
@router.message(NewEvent.grades, ~F.text.startswith("/"))
@router.message(NewEvent.venue, ~F.text.startswith("/"))
@router.message(NewEvent.field, ~F.text.startswith("/"))
async def unexpected(message: Message, state: FSMContext) -> None:
    """Anything else inside the dialog: explain what is expected; /cancel leaves."""
    step = await state.get_state()
    typed = (
        NewEvent.title,
        NewEvent.starts_at,
        NewEvent.start_time,
        NewEvent.venue,
        NewEvent.field,
        NewEvent.grades,
    )
    if step in {s.state for s in typed}:
        await message.answer(_("Please type the answer as text, or send /cancel to stop."))
    else:
        await message.answer(_("Please choose one of the buttons above, or send /cancel to stop."))
