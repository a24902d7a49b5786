"""The event card: what, when (in the recipient's time zone), where, for whom, and the answer buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy
from babel.dates import format_datetime

from bot.callbacks import RsvpCb
from models import Event, EventKind, RsvpStatus

KIND_LABELS: dict[EventKind, LazyProxy] = {
    EventKind.open_day: __("Open day"),
    EventKind.holiday_programme: __("Holiday programme «Каникулы с пользой»"),
    EventKind.profession_trial: __("Profession trial"),
    EventKind.excursion: __("Enterprise excursion"),
    EventKind.fair: __("Fair / festival"),
    EventKind.online_lesson: __("Online lesson"),
    EventKind.contest: __("Contest / olympiad"),
    EventKind.master_class: __("Master class"),
    EventKind.consultation: __("Consultation"),
    EventKind.class_hour: __("Class hour"),
    EventKind.parent_meeting: __("Parent meeting"),
    EventKind.other: __("Event"),
}

ANSWER_LABELS: dict[RsvpStatus, LazyProxy] = {
    RsvpStatus.going: __("Going"),
    RsvpStatus.maybe: __("Maybe"),
    RsvpStatus.not_going: __("Not going"),
}

ANSWER_CODES = {RsvpStatus.going: "go", RsvpStatus.maybe: "mb", RsvpStatus.not_going: "no"}
CODE_ANSWERS = {code: status for status, code in ANSWER_CODES.items()}


@dataclass(frozen=True)
class CardContext:
    """What the card needs beside the event, looked up by the caller (once per batch)."""

    zone: ZoneInfo
    locale: str
    place: str | None = None  # school or host organisation name
    seats_left: int | None = None
    answer: RsvpStatus | None = None


def when(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    return format_datetime(moment.astimezone(zone), "d MMMM y, HH:mm", locale=locale)


def audience_line(event: Event) -> str:
    who = []
    if event.for_students:
        who.append(_("pupils"))
    if event.for_parents:
        who.append(_("parents"))
    if event.for_teachers:
        who.append(_("teachers"))
    grades = (
        _("grade {grade}").format(grade=event.grade_min)
        if event.grade_min == event.grade_max
        else _("grades {low}–{high}").format(low=event.grade_min, high=event.grade_max)
    )
    return _("For: {who}, {grades}").format(who=", ".join(who), grades=grades)


def event_text(event: Event, ctx: CardContext) -> str:
    lines = [f"<b>{escape(str(KIND_LABELS[event.kind]))}</b>", f"<b>{escape(event.title)}</b>", ""]
    lines.append(_("🗓 When: {when}").format(when=when(event.starts_at, ctx.zone, ctx.locale)))
    where = ", ".join(part for part in (ctx.place, event.venue) if part)
    if where:
        lines.append(_("📍 Where: {where}").format(where=escape(where)))
    if event.online_url:
        lines.append(_("🔗 Online: {url}").format(url=escape(event.online_url)))
    lines.append("👥 " + escape(audience_line(event)))
    if ctx.seats_left is not None:
        lines.append(_("🎟 Seats left: {n}").format(n=ctx.seats_left))
    if event.description:
        lines += ["", escape(event.description)]
    if ctx.answer is not None:
        lines += ["", _("Your answer: <b>{answer}</b>").format(answer=ANSWER_LABELS[ctx.answer])]
    return "\n".join(lines)


def event_keyboard(event: Event, answer: RsvpStatus | None = None) -> InlineKeyboardMarkup:
    buttons = []
    for status, label in ANSWER_LABELS.items():
        text = ("✅ " if status is answer else "") + str(label)
        buttons.append(
            InlineKeyboardButton(
                text=text, callback_data=RsvpCb(event_id=event.id, answer=ANSWER_CODES[status]).pack()
            )
        )
    return InlineKeyboardMarkup(inline_keyboard=[buttons[:2], buttons[2:]])
