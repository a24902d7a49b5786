"""/plan: a plan of events from a CSV or XLSX file (template from the bot), checked row by row,
previewed, and published all together or not at all."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.event_callbacks import PlanImportCb
from bot.filters import HasRole
from handlers.keyboards import municipality_chooser, rows
from handlers.new_event import error_text, zone_of
from models import Role
from services import directory
from services.cards import KIND_LABELS, when
from services.event_import import (
    MAX_BYTES,
    ImportFailure,
    draft_from_dict,
    draft_to_dict,
    parse_plan,
    publish_plan,
    read_table,
    template_csv,
    template_xlsx,
)
from services.events import EventError, authority
from services.people import Profile

router = Router(name="event_import")
router.message.filter(HasRole(Role.coordinator))
router.callback_query.filter(HasRole(Role.coordinator))
Wakeup = Callable[[], Awaitable[None]]
SHOWN_ERRORS = 20


class Import(StatesGroup):
    file = State()
    preview = State()


def failure_text(code: str) -> str:
    return {
        "too_big": _("The file is too big (at most 2 MB)."),
        "format": _("Please send a .csv or .xlsx file made from the template."),
        "unreadable": _("I could not read this file. Please save it as .xlsx or as .csv in UTF-8."),
        "empty": _("The file has no events."),
        "headers": _("The first row must be the template's header. Please use the template."),
        "too_many": _("At most 500 events in one file."),
    }.get(code, _("I could not read this file."))


def row_error_text(code: str) -> str:
    return {
        "kind": _("unknown kind of event"),
        "date": _("date not as DD.MM.YYYY HH:MM"),
        "grades": _("grades must be like 8-11"),
        "audience": _("«for whom» must be ученики, родители and/or педагоги"),
        "school": _("no such school in the municipality"),
        "capacity_format": _("seats must be a whole number"),
        "ovz": _("ОВЗ must be да or нет"),
        "host": _("no such host organisation in the directory"),
        "level": _("level must be международный, всероссийский, региональный, муниципальный or школьный"),
    }.get(code) or error_text(code)


@router.message(Command("plan"))
async def begin(
    message: Message, state: FSMContext, session: AsyncSession, profile: Profile, clock: Clock
) -> None:
    await state.clear()
    auth = await authority(session, profile.user)
    # An admin chooses among every municipality, a region's coordinator among theirs.
    only = None if auth.admin else auth.municipalities
    if auth.admin or len(auth.municipalities) > 1:
        municipalities = await directory.municipalities(session, only)
        if not municipalities:
            await message.answer(_("The directory is empty: there is no municipality to publish for yet."))
            return
        await state.set_state(Import.file)
        text, markup = await _municipality_page(session, 0, only)
        await message.answer(text, reply_markup=markup)
        return
    await state.set_state(Import.file)
    await state.update_data(municipality_id=min(auth.municipalities))
    await _send_template(message, clock)


async def _send_template(message: Message, clock: Clock) -> None:
    await message.answer(
        _(
            "Fill in the template (one event per row) and send it back as a file. Dates: DD.MM.YYYY HH:MM; "
            "grades: 8-11; for whom: ученики, родители, педагоги; ОВЗ: да/нет; host and level may stay empty. "
            "Nothing is published until you "
            "confirm, and a file with any broken row publishes nothing."
        )
    )
    today = clock.now().date()
    await message.answer_document(BufferedInputFile(template_xlsx(today), filename="plan_template.xlsx"))
    await message.answer_document(BufferedInputFile(template_csv(today), filename="plan_template.csv"))


async def _municipality_page(
    session: AsyncSession, page: int, only: frozenset[int] | None
) -> tuple[str, InlineKeyboardMarkup]:
    return await municipality_chooser(
        session,
        page,
        only,
        _("Import a plan. For which municipality?"),
        lambda m: PlanImportCb(step="imp_mun", value=str(m)).pack(),
        lambda p: PlanImportCb(step="imp_mun_page", value=str(p)).pack(),
    )


@router.callback_query(Import.file, PlanImportCb.filter(F.step == "imp_mun_page"))
async def municipality_page(
    query: CallbackQuery, callback_data: PlanImportCb, session: AsyncSession, profile: Profile
) -> None:
    auth = await authority(session, profile.user)
    text, markup = await _municipality_page(
        session,
        int(callback_data.value) if callback_data.value.isdigit() else 0,
        None if auth.admin else auth.municipalities,
    )
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(Import.file, PlanImportCb.filter(F.step == "imp_mun"))
async def choose_municipality(
    query: CallbackQuery,
    callback_data: PlanImportCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
) -> None:
    auth = await authority(session, profile.user)
    names = {
        m.id for m in await directory.municipalities(session, None if auth.admin else auth.municipalities)
    }
    if not callback_data.value.isdigit() or int(callback_data.value) not in names:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(municipality_id=int(callback_data.value))
    await query.answer()
    if isinstance(query.message, Message):
        await _send_template(query.message, clock)


@router.message(Import.file, F.document)
async def receive(
    message: Message, state: FSMContext, session: AsyncSession, profile: Profile, i18n: I18n, clock: Clock
) -> None:
    data = await state.get_data()
    if "municipality_id" not in data:
        await message.answer(_("Please choose the municipality first."))
        return
    document = message.document
    assert document is not None
    if document.file_size and document.file_size > MAX_BYTES:
        await message.answer(failure_text("too_big"))
        return
    buffer = io.BytesIO()
    assert message.bot is not None
    await message.bot.download(document, destination=buffer)
    municipality_id = int(data["municipality_id"])
    zone = await zone_of(session, municipality_id)
    try:
        table = read_table(document.file_name or "", buffer.getvalue())
    except ImportFailure as exc:
        await message.answer(failure_text(exc.code))
        return
    drafts, errors = await parse_plan(
        session, table, municipality_id=municipality_id, zone=zone, now=clock.now(),
        auth=await authority(session, profile.user),
    )  # fmt: skip
    if errors:
        lines = [
            _("Nothing was published: {n} errors. Please fix the file and send it again.").format(
                n=len(errors)
            ),
            "",
        ]
        for error in errors[:SHOWN_ERRORS]:
            column = f" ({escape(error.column)})" if error.column else ""
            lines.append(
                _("Row {row}{column}: {problem}").format(
                    row=error.row, column=column, problem=escape(row_error_text(error.code))
                )
            )
        if len(errors) > SHOWN_ERRORS:
            lines.append(_("…and {n} more.").format(n=len(errors) - SHOWN_ERRORS))
        await message.answer("\n".join(lines))
        return
    await state.set_state(Import.preview)
    await state.update_data(drafts=[draft_to_dict(d) for d in drafts])
    lines = [_("<b>{n} events will be published:</b>").format(n=len(drafts)), ""]
    for n, draft in enumerate(drafts[:30], start=1):
        lines.append(
            f"{n}. {when(draft.starts_at, zone, i18n.current_locale)} — {escape(str(KIND_LABELS[draft.kind]))}: {escape(draft.title)}"
        )
    if len(drafts) > 30:
        lines.append(_("…and {n} more.").format(n=len(drafts) - 30))
    buttons = [
        (_("📢 Publish all"), PlanImportCb(step="imp", value="yes").pack()),
        (_("Cancel"), PlanImportCb(step="imp", value="no").pack()),
    ]
    await message.answer("\n".join(lines)[:4000], reply_markup=rows(buttons, width=2))


@router.callback_query(Import.preview, PlanImportCb.filter(F.step == "imp"))
async def confirm(
    query: CallbackQuery,
    callback_data: PlanImportCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    clock: Clock,
    outbox_wakeup: Wakeup,
) -> None:
    data = await state.get_data()
    await state.clear()
    text: str
    if callback_data.value != "yes":
        text = _("Cancelled. Nothing was published.")
    else:
        try:
            events, queued = await publish_plan(
                session, [draft_from_dict(d) for d in data.get("drafts", [])], profile.user, clock.now()
            )
        except EventError as exc:
            await session.rollback()
            text = _("Nothing was published: {problem}").format(problem=error_text(exc.code))
        else:
            await session.commit()
            await outbox_wakeup()
            text = _("Published {n} events; {m} announcements are on their way.").format(
                n=len(events), m=queued
            )
    if isinstance(query.message, Message):
        await query.message.edit_text(text)
    await query.answer()


@router.message(Import.file, ~F.text.startswith("/"))
async def not_a_file(message: Message) -> None:
    await message.answer(_("Please send the filled template as a file (.xlsx or .csv), or /cancel."))


@router.message(Import.preview, ~F.text.startswith("/"))
async def use_buttons(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons above, or send /cancel to stop."))
