"""Teachers and coordinators broadcast announcements: audience → text or file → «read» button → preview
with the number of recipients → send; the report message then shows delivery live and can stop it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import BroadcastAckCb, BroadcastCb, BroadcastStepCb
from bot.filters import HasRole
from handlers.keyboards import ask as _ask
from handlers.keyboards import municipality_chooser, page_note, paged_rows, rows
from models import BroadcastStatus, Municipality, Role, School
from services import broadcast_audience, broadcasts, directory
from services.broadcast_audience import AudienceError, AudienceFilter
from services.broadcasts import BroadcastError, ReportRefresher
from services.invitations import may_manage
from services.people import Profile

router = Router(name="broadcasts")
AUTHORS = HasRole(Role.teacher, Role.coordinator)

Wakeup = Callable[[], Awaitable[None]]

ROLE_SETS = {
    "s": ("student",),
    "p": ("parent",),
    "t": ("teacher",),
    "sp": ("student", "parent"),
    "spt": ("student", "parent", "teacher"),
}
GRADE_BANDS = {"1-11": (1, 11), "1-4": (1, 4), "5-9": (5, 9), "8-11": (8, 11), "10-11": (10, 11)}


class Compose(StatesGroup):
    municipality = State()
    scope = State()
    roles = State()
    grades = State()
    school = State()
    content = State()
    ack = State()


def error_text(code: str) -> str:
    return {
        "forbidden": _("You cannot send to this audience."),
        "no_classes": _("You have no classes yet. Choose the whole school."),
        "no_roles": _("Choose who receives the message."),
        "grades": _("Grades must be from 1 to 11."),
        "empty": _("The message is empty. Please send the text."),
        "too_long": _("The message is too long: at most 3500 characters, or 900 with a photo or a file."),
        "media": _("Please send text, one photo or one document."),
        "not_found": _("This broadcast is not yours or no longer exists."),
        "not_draft": _("This broadcast has already been sent or dropped."),
        "finished": _("This broadcast has already finished."),
    }.get(code, _("Something went wrong. Nothing was sent."))


def _step(step: str, value: str) -> str:
    return BroadcastStepCb(step=step, value=value).pack()


async def _refuse(query: CallbackQuery, code: str = "") -> None:
    await query.answer(
        error_text(code) if code else _("This button is not valid. Please choose again."), show_alert=True
    )


@router.message(Command("broadcast"), AUTHORS)
async def begin(message: Message, state: FSMContext, session: AsyncSession, profile: Profile) -> None:
    await state.clear()
    if profile.has(Role.coordinator):
        await state.update_data(scope="municipality")
        only = profile.coordinator_municipalities  # None: an admin chooses among every municipality
        if only is not None and len(only) == 1:
            (municipality_id,) = only
            await state.update_data(municipality_id=municipality_id)
            await _ask_roles(message, state)
            return
        municipalities = await directory.municipalities(session, only)
        if not municipalities:
            await message.answer(_("The directory is empty: there is no municipality to send to yet."))
            return
        await state.set_state(Compose.municipality)
        text, markup = await _municipality_page(session, 0, only)
        await message.answer(text, reply_markup=markup)
        return
    school_id = await broadcast_audience.teacher_school(session, profile.user.id)
    if school_id is None:
        await message.answer(_("You are not attached to a school yet, so there is nobody to send to."))
        return
    await state.update_data(school_id=school_id)
    grades = await broadcast_audience.teacher_grades(session, profile.user.id, school_id)
    buttons = []
    if grades:
        label = _("My classes ({grades})").format(grades=", ".join(str(g) for g in grades))
        buttons.append((label, _step("scope", "classes")))
    buttons.append((_("The whole school"), _step("scope", "school")))
    await state.set_state(Compose.scope)
    await message.answer(_("New broadcast. To whom?"), reply_markup=rows(buttons))


async def _municipality_page(
    session: AsyncSession, page: int, only: frozenset[int] | None
) -> tuple[str, InlineKeyboardMarkup]:
    return await municipality_chooser(
        session,
        page,
        only,
        _("New broadcast. To which municipality?"),
        lambda m: _step("mun", str(m)),
        lambda p: _step("mun_page", str(p)),
    )


@router.callback_query(Compose.municipality, BroadcastStepCb.filter(F.step == "mun_page"), AUTHORS)
async def municipality_page(
    query: CallbackQuery, callback_data: BroadcastStepCb, session: AsyncSession, profile: Profile
) -> None:
    text, markup = await _municipality_page(
        session,
        int(callback_data.value) if callback_data.value.isdigit() else 0,
        profile.coordinator_municipalities,
    )
    await _ask(query, text, markup)


@router.callback_query(Compose.municipality, BroadcastStepCb.filter(F.step == "mun"), AUTHORS)
async def choose_municipality(
    query: CallbackQuery,
    callback_data: BroadcastStepCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
) -> None:
    if (
        not callback_data.value.isdigit()
        or await session.get(Municipality, int(callback_data.value)) is None
        or not may_manage(profile, int(callback_data.value))
    ):
        await _refuse(query)
        return
    await state.update_data(municipality_id=int(callback_data.value))
    await _ask_roles(query, state)


@router.callback_query(Compose.scope, BroadcastStepCb.filter(F.step == "scope"), AUTHORS)
async def choose_scope(query: CallbackQuery, callback_data: BroadcastStepCb, state: FSMContext) -> None:
    if callback_data.value not in ("classes", "school"):
        await _refuse(query)
        return
    await state.update_data(scope=callback_data.value)
    await _ask_roles(query, state)


async def _ask_roles(target: Message | CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    buttons = [
        (_("Pupils"), _step("roles", "s")),
        (_("Parents"), _step("roles", "p")),
        (_("Pupils and parents"), _step("roles", "sp")),
    ]
    if data.get("scope") == "municipality":
        buttons += [(_("Teachers"), _step("roles", "t")), (_("Everybody"), _step("roles", "spt"))]
    await state.set_state(Compose.roles)
    await _ask(target, _("Who receives it?"), rows(buttons))


@router.callback_query(Compose.roles, BroadcastStepCb.filter(F.step == "roles"), AUTHORS)
async def choose_roles(query: CallbackQuery, callback_data: BroadcastStepCb, state: FSMContext) -> None:
    data = await state.get_data()
    allowed = (
        ROLE_SETS if data.get("scope") == "municipality" else {k: ROLE_SETS[k] for k in ("s", "p", "sp")}
    )
    if callback_data.value not in allowed:
        await _refuse(query)
        return
    await state.update_data(roles=list(allowed[callback_data.value]))
    if data.get("scope") != "municipality":
        await _ask_content(query, state)
        return
    await state.set_state(Compose.grades)
    buttons = [
        (_("All grades") if k == "1-11" else k.replace("-", "–"), _step("grades", k)) for k in GRADE_BANDS
    ]
    await _ask(query, _("Which grades?"), rows(buttons, width=3))


@router.callback_query(Compose.grades, BroadcastStepCb.filter(F.step == "grades"), AUTHORS)
async def choose_grades(
    query: CallbackQuery, callback_data: BroadcastStepCb, state: FSMContext, session: AsyncSession
) -> None:
    if callback_data.value not in GRADE_BANDS:
        await _refuse(query)
        return
    low, high = GRADE_BANDS[callback_data.value]
    await state.update_data(grade_min=low, grade_max=high)
    await state.set_state(Compose.school)
    await _ask_school(query, state, session, 0)


async def _ask_school(query: CallbackQuery, state: FSMContext, session: AsyncSession, page: int) -> None:
    """«All schools» and one page of the municipality's schools."""
    data = await state.get_data()
    schools = await directory.schools_of(session, int(data["municipality_id"]))
    markup, page, pages = paged_rows(
        [(s.name, _step("school", str(s.id))) for s in schools],
        page,
        lambda p: _step("school_page", str(p)),
        head=[(_("All schools of the municipality"), _step("school", "all"))],
    )
    await _ask(query, "\n".join(filter(None, [_("Which schools?"), page_note(page, pages)])), markup)


@router.callback_query(Compose.school, BroadcastStepCb.filter(F.step == "school_page"), AUTHORS)
async def school_page(
    query: CallbackQuery, callback_data: BroadcastStepCb, state: FSMContext, session: AsyncSession
) -> None:
    await _ask_school(query, state, session, int(callback_data.value) if callback_data.value.isdigit() else 0)


@router.callback_query(Compose.school, BroadcastStepCb.filter(F.step == "school"), AUTHORS)
async def choose_school(
    query: CallbackQuery, callback_data: BroadcastStepCb, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    valid, school_id = await directory.scope_choice(
        session, callback_data.value, int(data["municipality_id"])
    )
    if not valid:
        await _refuse(query)
        return
    await state.update_data(school_id=school_id)
    await _ask_content(query, state)


async def _ask_content(target: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Compose.content)
    await _ask(
        target,
        _(
            "Send the text of the announcement. Bold, italics and links are kept. "
            "You can also send one photo or one document with a caption. /cancel stops."
        ),
    )


@router.message(Compose.content, F.photo | F.document | (F.text & ~F.text.startswith("/")), AUTHORS)
async def take_content(message: Message, state: FSMContext) -> None:
    media_kind, file_id = None, None
    if message.photo:
        media_kind, file_id = "photo", message.photo[-1].file_id
    elif message.document:
        media_kind, file_id = "document", message.document.file_id
    plain = message.text or message.caption or ""
    try:
        broadcasts.check_content(len(plain.strip()), media_kind)
    except BroadcastError as exc:
        await message.answer(error_text(exc.code))
        return
    text = message.html_text if plain.strip() else ""
    await state.update_data(
        text=text, plain_length=len(plain.strip()), media_kind=media_kind, file_id=file_id
    )
    await state.set_state(Compose.ack)
    buttons = [(_("Yes, add the button"), _step("ack", "1")), (_("No"), _step("ack", "0"))]
    await message.answer(
        _("Add a «✅ I have read it» button, so you see who has read the message?"),
        reply_markup=rows(buttons, 2),
    )


@router.message(Compose.content, ~F.text.startswith("/"), AUTHORS)
async def wrong_content(message: Message) -> None:
    await message.answer(error_text("media"))


@router.callback_query(Compose.ack, BroadcastStepCb.filter(F.step == "ack"), AUTHORS)
async def choose_ack(
    query: CallbackQuery,
    callback_data: BroadcastStepCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
) -> None:
    if callback_data.value not in ("0", "1"):
        await _refuse(query)
        return
    data: dict[str, Any] = await state.get_data()
    chosen = AudienceFilter(
        scope=str(data.get("scope")),
        roles=tuple(data.get("roles", ())),
        municipality_id=data.get("municipality_id"),
        school_id=data.get("school_id"),
        grade_min=int(data.get("grade_min", 1)),
        grade_max=int(data.get("grade_max", 11)),
    )
    try:
        draft = await broadcasts.create_draft(
            session,
            profile.user,
            chosen,
            text=str(data.get("text", "")),
            plain_length=int(data.get("plain_length", 0)),
            media_kind=data.get("media_kind"),
            media_file_id=data.get("file_id"),
            ack_required=callback_data.value == "1",
        )
    except (AudienceError, BroadcastError) as exc:
        await state.clear()
        await _ask(query, error_text(exc.code))
        return
    await state.clear()
    audience = AudienceFilter.from_json(draft.audience)
    school = await session.get(School, audience.school_id) if audience.school_id else None
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Preview: this is how recipients will see it."))
        await _show(query.message, broadcasts.broadcast_message(_, draft))
        summary = "\n".join(
            [
                _("To: {audience}").format(
                    audience=broadcasts.audience_text(_, audience, school.name if school else None)
                ),
                _("Recipients: {n}").format(n=draft.recipients),
                "",
                _("Send it?"),
            ]
        )
        buttons = [
            (_("📤 Send"), BroadcastCb(action="send", id=draft.id).pack()),
            (_("Cancel"), BroadcastCb(action="drop", id=draft.id).pack()),
        ]
        await query.message.answer(summary, reply_markup=rows(buttons, 2))
    await query.answer()


def _markup(markup: InlineKeyboardMarkup | dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    """The services build plain keyboards (the delivery process has no aiogram); aiogram wants its own."""
    return InlineKeyboardMarkup.model_validate(markup) if isinstance(markup, dict) else markup


async def _show(chat: Message, outgoing: broadcasts.OutgoingMessage) -> None:
    """The preview goes to the author in this conversation, exactly as recipients will get it."""
    markup = _markup(outgoing.reply_markup)
    if outgoing.photo:
        await chat.answer_photo(outgoing.photo, caption=outgoing.text, reply_markup=markup)
    elif outgoing.document:
        await chat.answer_document(outgoing.document, caption=outgoing.text, reply_markup=markup)
    else:
        await chat.answer(outgoing.text, reply_markup=markup)


@router.callback_query(BroadcastCb.filter(F.action == "send"), AUTHORS)
async def send(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    session: AsyncSession,
    profile: Profile,
    outbox_wakeup: Wakeup,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    try:
        await broadcasts.start(
            session, callback_data.id, profile.user.id, message.message_id if message else None
        )
        broadcast = await broadcasts.own_broadcast(session, callback_data.id, profile.user.id)
        counts = await broadcasts.report(session, broadcast.id)
    except (AudienceError, BroadcastError) as exc:
        await _refuse(query, exc.code)
        return
    await session.commit()
    await outbox_wakeup()
    if message is not None:
        await message.edit_text(
            broadcasts.report_text(_, broadcast, counts),
            reply_markup=_markup(broadcasts.report_keyboard(_, broadcast)),
        )
    await query.answer(_("Sending started."))


@router.callback_query(BroadcastCb.filter(F.action == "drop"), AUTHORS)
async def drop(
    query: CallbackQuery, callback_data: BroadcastCb, session: AsyncSession, profile: Profile
) -> None:
    try:
        broadcast = await broadcasts.own_broadcast(session, callback_data.id, profile.user.id)
        if broadcast.status is not BroadcastStatus.draft:
            raise BroadcastError("not_draft")
        await broadcasts.cancel(session, broadcast.id, profile.user.id)
    except BroadcastError as exc:
        await _refuse(query, exc.code)
        return
    await _ask(query, _("Cancelled. Nothing was sent."))


@router.callback_query(BroadcastCb.filter(F.action == "stop"), AUTHORS)
async def stop(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    session: AsyncSession,
    profile: Profile,
    report_refresher: ReportRefresher,
) -> None:
    try:
        stopped = await broadcasts.cancel(session, callback_data.id, profile.user.id)
    except BroadcastError as exc:
        await _refuse(query, exc.code)
        return
    await session.commit()
    await report_refresher.refresh(callback_data.id, force=True)
    await query.answer(_("Stopped: {n} messages will not be sent.").format(n=stopped), show_alert=True)


@router.callback_query(BroadcastAckCb.filter())
async def acknowledge(
    query: CallbackQuery,
    callback_data: BroadcastAckCb,
    session: AsyncSession,
    report_refresher: ReportRefresher,
) -> None:
    """Anyone may press it, but only their own copy is marked (forged ids change nothing)."""
    if not await broadcasts.acknowledge(session, callback_data.id, query.from_user.id):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await session.commit()
    await report_refresher.refresh(callback_data.id)
    await query.answer(_("Thank you! The sender will see that you have read it."))


@router.callback_query(BroadcastStepCb.filter())
@router.callback_query(BroadcastCb.filter())
async def stale(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date. Send /broadcast to start again."), show_alert=True)


@router.message(Compose.municipality, ~F.text.startswith("/"))
@router.message(Compose.scope, ~F.text.startswith("/"))
@router.message(Compose.roles, ~F.text.startswith("/"))
@router.message(Compose.grades, ~F.text.startswith("/"))
@router.message(Compose.school, ~F.text.startswith("/"))
@router.message(Compose.ack, ~F.text.startswith("/"))
async def unexpected(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons above, or send /cancel to stop."))


@router.message(Command("broadcast"))
async def authors_only(message: Message) -> None:
    await message.answer(_("This command is available to teachers and coordinators only."))
