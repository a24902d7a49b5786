"""/stats for coordinators: each event with its counts."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from models import Role
from services.people import Profile
from services.stats import event_counts

router = Router(name="stats")


@router.message(Command("stats"), HasRole(Role.coordinator))
async def stats(message: Message, session: AsyncSession, profile: Profile, i18n: I18n) -> None:
    rows = await event_counts(session, profile.coordinator_municipality_id)
    if not rows:
        await message.answer(_("No published events yet. Create one with /new_event."))
        return
    lines = [_("<b>Events and answers</b>"), ""]
    for n, row in enumerate(rows, 1):
        date = format_date(row.event.starts_at, "dd.MM.y", locale=i18n.current_locale)
        lines.append(f"{n}. <b>{escape(row.event.title)}</b> — {date}")
        lines.append(
            _("Notified: {notified} · Going: {going} · Maybe: {maybe} · Not going: {not_going}").format(
                notified=row.notified, going=row.going, maybe=row.maybe, not_going=row.not_going
            )
        )
    await message.answer("\n".join(lines))


@router.message(Command("stats"))
async def stats_refused(message: Message) -> None:
    await message.answer(_("Statistics are available to coordinators only."))
