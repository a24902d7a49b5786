"""/stats: the participation overview of a period (coordinators: their municipality, teachers: their
school), or one event's report with `/stats <event number>`; each comes with a chart."""

from __future__ import annotations

import asyncio
from datetime import datetime
from html import escape

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StatsCb
from bot.event_callbacks import EventReportCb
from services import charts, report_text
from services.people import Profile
from services.reports import (
    DEFAULT_ZONE,
    NotAllowed,
    Period,
    event_report,
    month_of,
    overview,
    parse_period,
    period_code,
    period_from_code,
    quarter_of,
    recent_events,
    resolve_scope,
    school_year_of,
    visible_event,
)
from services.stats import event_counts

router = Router(name="stats")

TEXT_LIMIT = 4000


def refused_text() -> str:
    return _("Statistics are available to coordinators and teachers only.")


def fit(text: str) -> str:
    """Keep a message under Telegram's limit by dropping whole lines from the end (each is valid HTML)."""
    lines = text.split("\n")
    while len("\n".join(lines)) > TEXT_LIMIT and len(lines) > 1:
        lines.pop()
    return "\n".join(lines)


def bad_period_text() -> str:
    return _(
        "I did not understand the period. Examples: /stats, /stats month, /stats quarter, /stats 2026-03, "
        "/stats 2025/2026, /stats Q1 2026, /stats 01.09.2025-31.12.2025, or an event number: /stats 12."
    )


def overview_keyboard(period: Period, events: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    code = period_code(period)
    rows = [
        [
            InlineKeyboardButton(
                text=_("This month"), callback_data=StatsCb(action="p", value="month").pack()
            ),
            InlineKeyboardButton(
                text=_("Quarter"), callback_data=StatsCb(action="p", value="quarter").pack()
            ),
            InlineKeyboardButton(
                text=_("School year"), callback_data=StatsCb(action="p", value="year").pack()
            ),
        ],
        [
            InlineKeyboardButton(
                text=_("📥 Excel (XLSX)"), callback_data=StatsCb(action="x", value=code).pack()
            ),
            InlineKeyboardButton(text=_("📥 CSV"), callback_data=StatsCb(action="c", value=code).pack()),
        ],
    ]
    rows += [
        [InlineKeyboardButton(text=f"📋 {label}", callback_data=StatsCb(action="e", value=str(eid)).pack())]
        for eid, label in events
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def send_overview(
    message: Message, session: AsyncSession, user_id: int, period: Period, locale: str
) -> None:
    try:
        scope = await resolve_scope(session, user_id)
    except NotAllowed:
        await message.answer(refused_text())
        return
    data = await overview(session, scope, period)
    events = await recent_events(session, scope, period)
    counts = await event_counts(session, events, scope.school_id if scope.kind == "school" else None)
    await session.commit()  # the overview may have refreshed report summaries: release the write lock
    lines = [report_text.overview_text(data, locale)]
    if counts:
        lines += ["", _("<b>Latest events</b> (report: /stats and the number)")]
        for row in counts:
            day = format_date(row.event.starts_at.astimezone(scope.zone), "dd.MM.y", locale=locale)
            lines.append(f"#{row.event.id} <b>{escape(row.event.title)}</b> — {day}")
            lines.append(
                _("Notified: {notified} · Going: {going} · Maybe: {maybe} · Not going: {not_going}").format(
                    notified=row.notified, going=row.going, maybe=row.maybe, not_going=row.not_going
                )
            )
    buttons = [(e.id, f"#{e.id} {e.title[:40]}") for e in events[:5]]
    await message.answer(fit("\n".join(lines)), reply_markup=overview_keyboard(period, buttons))
    png = await asyncio.to_thread(
        charts.render,
        _("Participation: {scope}, {period}").format(
            scope=report_text.scope_title(scope), period=report_text.period_text(period, locale)
        ),
        report_text.overview_panels(data, locale),
        _("no data"),
    )
    await message.answer_photo(BufferedInputFile(png, "stats.png"), caption=_("Charts of the report"))


async def send_event(
    message: Message, session: AsyncSession, user_id: int, event_id: int, locale: str
) -> None:
    try:
        scope = await resolve_scope(session, user_id)
        report = await event_report(session, scope, event_id)
    except NotAllowed:
        await message.answer(_("There is no event with this number among those you can see."))
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📥 Participants (XLSX)"),
                    callback_data=StatsCb(action="ex", value=str(event_id)).pack(),
                )
            ]
        ]
    )
    await message.answer(fit(report_text.event_text(report, locale)), reply_markup=keyboard)
    png = await asyncio.to_thread(
        charts.render,
        _("Event #{id}: {title}").format(id=report.event.id, title=report.event.title[:60]),
        report_text.event_panels(report),
        _("no data"),
    )
    await message.answer_photo(
        BufferedInputFile(png, f"event_{event_id}.png"), caption=_("Charts of the report")
    )


@router.message(Command("stats"))
async def stats(
    message: Message, command: CommandObject, session: AsyncSession, profile: Profile, i18n: I18n
) -> None:
    arg = (command.args or "").strip()
    if len(arg) > 100:
        await message.answer(bad_period_text())
        return
    locale = i18n.current_locale
    if arg.lstrip("#").isdigit():
        number = int(arg.lstrip("#")[:12])
        await send_event(message, session, profile.user.id, number, locale)
        return
    period = parse_period(arg, datetime.now(DEFAULT_ZONE).date())
    if period is None:
        await message.answer(bad_period_text())
        return
    await send_overview(message, session, profile.user.id, period, locale)


@router.callback_query(StatsCb.filter(F.action.in_({"p", "e"})))
async def stats_button(
    query: CallbackQuery, callback_data: StatsCb, session: AsyncSession, profile: Profile, i18n: I18n
) -> None:
    if not isinstance(query.message, Message):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    today = datetime.now(DEFAULT_ZONE).date()
    locale = i18n.current_locale
    if callback_data.action == "e":
        if not callback_data.value.isdigit():
            await query.answer(_("This button is out of date."), show_alert=True)
            return
        await query.answer()
        await send_event(query.message, session, profile.user.id, int(callback_data.value[:12]), locale)
        return
    choices = {"month": month_of, "quarter": quarter_of, "year": school_year_of}
    chooser = choices.get(callback_data.value)
    period = chooser(today) if chooser else period_from_code(callback_data.value)
    if period is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    await send_overview(query.message, session, profile.user.id, period, locale)


@router.callback_query(EventReportCb.filter())
async def event_report_button(
    query: CallbackQuery, callback_data: EventReportCb, session: AsyncSession, profile: Profile, i18n: I18n
) -> None:
    """«📊 Report» on an organiser's event card. The right is that of `/stats <event>`, checked again here, so
    a forged or stale button only gets a polite refusal."""
    if not isinstance(query.message, Message):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    try:
        await visible_event(session, await resolve_scope(session, profile.user.id), callback_data.event_id)
    except NotAllowed:
        await query.answer(_("There is no event with this number among those you can see."), show_alert=True)
        return
    await query.answer()
    await send_event(query.message, session, profile.user.id, callback_data.event_id, i18n.current_locale)


@router.callback_query(StatsCb.filter(F.action == "sum"))
async def monthly_summary_switch(query: CallbackQuery, callback_data: StatsCb, profile: Profile) -> None:
    """Opt out of (or back into) the monthly summary, from the summary itself."""
    if callback_data.value not in {"on", "off"} or not isinstance(query.message, Message):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    on = callback_data.value == "on"
    profile.user.monthly_summary = on
    await query.answer()
    if on:
        await query.message.answer(_("Monthly summaries are on again."))
        return
    again = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🔔 Send them again"), callback_data=StatsCb(action="sum", value="on").pack()
                )
            ]
        ]
    )
    await query.message.answer(
        _("Monthly summaries are off. You will get no more of them."), reply_markup=again
    )
