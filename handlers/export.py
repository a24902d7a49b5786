"""/export: the report as an XLSX workbook (or CSV files with `csv`), for a period or, with an event
number, the event's participant list for its organisers."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StatsCb
from handlers.stats import refused_text
from services import export
from services.people import Profile
from services.reports import (
    DEFAULT_ZONE,
    NotAllowed,
    Period,
    event_report,
    events_table,
    overview,
    parse_period,
    participant_list,
    period_from_code,
    resolve_scope,
)

router = Router(name="export")


def bad_export_text() -> str:
    return _(
        "I did not understand. Examples: /export (this school year), /export month, /export 2026-03, "
        "/export 01.09.2025-31.12.2025, /export csv, or an event number for its participant list: /export 12."
    )


async def send_period(
    message: Message, session: AsyncSession, user_id: int, period: Period, as_csv: bool, locale: str
) -> None:
    try:
        scope = await resolve_scope(session, user_id)
    except NotAllowed:
        await message.answer(refused_text())
        return
    data = await overview(session, scope, period)
    rows = await events_table(session, scope, period)
    await session.commit()  # the overview may have refreshed report summaries: release the write lock
    sheets = export.overview_sheets(data, rows, locale)
    header = export.overview_header(data, locale)
    name = f"report_{period.start:%Y%m%d}_{period.end:%Y%m%d}"
    if as_csv:
        blob = await asyncio.to_thread(export.build_csv_zip, header, sheets)
        file = BufferedInputFile(blob, f"{name}_csv.zip")
    else:
        blob = await asyncio.to_thread(export.build_xlsx, header, sheets)
        file = BufferedInputFile(blob, f"{name}.xlsx")
    await message.answer_document(file, caption=header[1] + "\n" + header[2])


async def send_event(
    message: Message, session: AsyncSession, user_id: int, event_id: int, locale: str
) -> None:
    try:
        scope = await resolve_scope(session, user_id)
        report = await event_report(session, scope, event_id)
        people = await participant_list(session, scope, event_id)
    except NotAllowed:
        await message.answer(_("There is no event with this number among those you can see."))
        return
    header = export.event_header(report, locale)
    blob = await asyncio.to_thread(export.build_xlsx, header, export.event_sheets(report, people))
    await message.answer_document(BufferedInputFile(blob, f"event_{event_id}.xlsx"), caption=header[0][:1000])


@router.message(Command("export"))
async def export_command(
    message: Message, command: CommandObject, session: AsyncSession, profile: Profile, i18n: I18n
) -> None:
    words = (command.args or "").split()
    if len(" ".join(words)) > 100:
        await message.answer(bad_export_text())
        return
    as_csv = any(w.lower() == "csv" for w in words)
    rest = " ".join(w for w in words if w.lower() not in {"csv", "xlsx"})
    if rest.lstrip("#").isdigit():
        await send_event(message, session, profile.user.id, int(rest.lstrip("#")[:12]), i18n.current_locale)
        return
    period = parse_period(rest, datetime.now(DEFAULT_ZONE).date())
    if period is None:
        await message.answer(bad_export_text())
        return
    await send_period(message, session, profile.user.id, period, as_csv, i18n.current_locale)


@router.callback_query(StatsCb.filter(F.action.in_({"x", "c", "ex"})))
async def export_button(
    query: CallbackQuery, callback_data: StatsCb, session: AsyncSession, profile: Profile, i18n: I18n
) -> None:
    if not isinstance(query.message, Message):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if callback_data.action == "ex":
        if not callback_data.value.isdigit():
            await query.answer(_("This button is out of date."), show_alert=True)
            return
        await query.answer(_("Preparing the file…"))
        await send_event(
            query.message, session, profile.user.id, int(callback_data.value[:12]), i18n.current_locale
        )
        return
    period = period_from_code(callback_data.value)
    if period is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer(_("Preparing the file…"))
    await send_period(
        query.message, session, profile.user.id, period, callback_data.action == "c", i18n.current_locale
    )
