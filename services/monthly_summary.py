"""The monthly summary to coordinators: queued through the outbox on the first days of a month (one per
coordinator and month, by key) and rendered at sending time from the database, in their language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StatsCb
from models import Outbox, Priority, Role, User, UserRole
from services.delivery import OutgoingMessage, Renderer
from services.outbox import enqueue_many
from services.report_text import period_text, scope_title, share
from services.reports import NotAllowed, Period, month_of, overview, period_code, resolve_scope

KIND = "monthly_summary"
CATCH_UP_DAYS = 7  # a bot that was down on the 1st still sends the summary in the first week


def previous_month(today: date) -> Period:
    return month_of(today.replace(day=1) - timedelta(days=1))


async def enqueue_monthly_summaries(session: AsyncSession, today: date) -> int:
    """Queue last month's summary for every coordinator who has not opted out; harmless to repeat."""
    if today.day > CATCH_UP_DAYS:
        return 0
    month = previous_month(today)
    recipients = (
        select(User.id, User.telegram_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role == Role.coordinator,
            User.monthly_summary.is_(True),
            User.is_active.is_(True),
        )
        .distinct()
    )
    return await enqueue_many(
        session,
        recipients,
        key_prefix=f"monthly:{month.start:%Y-%m}:",
        kind=KIND,
        event_id=None,
        priority=Priority.personal,
        payload={"start": month.start.isoformat(), "end": month.end.isoformat()},
    )


def summary_keyboard(period: Period) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📊 Full report"),
                    callback_data=StatsCb(action="p", value=period_code(period)).pack(),
                ),
                InlineKeyboardButton(
                    text=_("📥 Excel (XLSX)"),
                    callback_data=StatsCb(action="x", value=period_code(period)).pack(),
                ),
            ],
            [
                InlineKeyboardButton(
                    text=_("🔕 Stop monthly summaries"),
                    callback_data=StatsCb(action="sum", value="off").pack(),
                )
            ],
        ]
    )


def monthly_summary_renderer(i18n: I18n) -> Renderer:
    """The summary's text; obsolete (None) if the user opted out or is no longer a coordinator."""

    async def render(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
        result: dict[int, OutgoingMessage | None] = {}
        for row in rows:
            user = await session.get(User, row.user_id) if row.user_id is not None else None
            if user is None or not user.monthly_summary:
                result[row.id] = None
                continue
            try:
                scope = await resolve_scope(session, user.id)
                if scope.kind == "school":
                    raise NotAllowed
                period = Period(
                    date.fromisoformat(row.payload["start"]), date.fromisoformat(row.payload["end"])
                )
            except (NotAllowed, KeyError, ValueError):
                result[row.id] = None
                continue
            data = await overview(session, scope, period)
            locale = user.language or i18n.default_locale
            with i18n.context(), i18n.use_locale(locale):
                t = data.totals
                lines = [
                    _("<b>Monthly summary</b>: {scope}").format(scope=scope_title(scope)),
                    _("Period: {period}").format(period=period_text(period, locale)),
                    "",
                    _("Events held: {n}").format(n=sum(n for _k, n in data.events_by_kind)),
                    _("Signed up «Going»: {n}").format(n=t.signups),
                    _("Attended: {a} · no-shows: {b}").format(a=t.attended, b=t.no_shows),
                    _("Unique participating pupils: <b>{n}</b>, of them with ОВЗ: {o}").format(
                        n=t.unique_pupils, o=t.ovz_pupils
                    ),
                    _("Coverage: {p} of {n} — {s}").format(
                        p=data.coverage_total.participants,
                        n=data.coverage_total.pupils,
                        s=share(data.coverage_total, locale),
                    ),
                ]
                result[row.id] = OutgoingMessage("\n".join(lines), summary_keyboard(period))
        return result

    return render
