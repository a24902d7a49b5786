"""The event card: what, when (in the recipient's time zone), where, for whom, seats, and its buttons."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape, unescape
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy
from babel.dates import format_datetime

from bot.callbacks import RsvpCb
from bot.event_callbacks import EventInfoCb, RsvpForCb
from models import Event, EventKind, EventLevel, EventStatus, RsvpStatus

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

LEVEL_LABELS: dict[EventLevel, LazyProxy] = {
    EventLevel.international: __("international"),
    EventLevel.federal: __("all-Russian"),
    EventLevel.regional: __("regional"),
    EventLevel.municipal: __("municipal"),
    EventLevel.school: __("school"),
}

ANSWER_LABELS: dict[RsvpStatus, LazyProxy] = {
    RsvpStatus.going: __("Going"),
    RsvpStatus.maybe: __("Maybe"),
    RsvpStatus.not_going: __("Not going"),
}

STATUS_LABELS: dict[RsvpStatus, LazyProxy] = {
    **ANSWER_LABELS,
    RsvpStatus.waitlisted: __("on the wait list"),
    RsvpStatus.offered: __("a seat is offered, please confirm"),
    RsvpStatus.cancelled: __("cancelled"),
}

ANSWER_CODES = {RsvpStatus.going: "go", RsvpStatus.maybe: "mb", RsvpStatus.not_going: "no"}
CODE_ANSWERS = {code: status for status, code in ANSWER_CODES.items()}
CARD_DESCRIPTION = 400  # longer descriptions are cut on the card; «Подробнее» shows all that fits
MESSAGE_MAX = 4096  # Telegram's limit of a message's text after entity parsing


@dataclass(frozen=True)
class CardContext:
    """What the card needs beside the event, looked up by the caller (once per batch)."""

    zone: ZoneInfo
    locale: str
    place: str | None = None  # school or host organisation name
    host: str | None = None  # the host organisation, when it is not the place
    seats_left: int | None = None
    answer: RsvpStatus | None = None
    # Per person answered for: (who, status, wait-list position); and whom the event concerns.
    answers: Sequence[tuple[str | None, RsvpStatus, int | None]] = field(default_factory=tuple)
    for_whom: Sequence[str] = field(default_factory=tuple)
    full: bool = False  # the whole description («Подробнее»)


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


def learner_label(grade: int | None, school: str | None) -> str:
    """A pupil as the bot names them: a grade and a school, never a name."""
    if grade is None:
        return _("myself")
    label = _("grade {grade}").format(grade=grade)
    return f"{label}, {school}" if school else label


def _answer_line(who: str | None, status: RsvpStatus, position: int | None) -> str:
    if status is RsvpStatus.waitlisted and position is not None:
        state = _("on the wait list, place {n}").format(n=position)
    else:
        state = str(STATUS_LABELS[status])
    if who is None:
        return _("Your answer: <b>{answer}</b>").format(answer=state)
    return f"• {escape(who)}: <b>{state}</b>"


def event_text(event: Event, ctx: CardContext) -> str:
    lines = [f"<b>{escape(str(KIND_LABELS[event.kind]))}</b>", f"<b>{escape(event.title)}</b>", ""]
    if event.status is EventStatus.cancelled:
        lines.insert(0, _("❌ <b>CANCELLED</b>"))
    start = when(event.starts_at, ctx.zone, ctx.locale)
    if event.ends_at is not None:
        start += " – " + format_datetime(event.ends_at.astimezone(ctx.zone), "HH:mm", locale=ctx.locale)
    lines.append(_("🗓 When: {when}").format(when=start))
    where = event.venue or ctx.place
    if where:
        lines.append(_("📍 Where: {where}").format(where=escape(where)))
    if event.online_url:
        lines.append(_("🔗 Online: {url}").format(url=escape(event.online_url)))
    if ctx.host:
        lines.append(_("🏢 Host: {host}").format(host=escape(ctx.host)))
    lines.append("👥 " + escape(audience_line(event)))
    if event.level is not None:
        lines.append(_("🏷 Level: {level}").format(level=LEVEL_LABELS[EventLevel(event.level)]))
    if ctx.for_whom:
        lines.append(_("👧 Concerns: {who}").format(who=escape("; ".join(ctx.for_whom))))
    if event.ovz_suitable:
        lines.append(_("♿ Suitable for children with disabilities (ОВЗ)"))
    if ctx.seats_left is not None:
        lines.append(_("🎟 Seats left: {n}").format(n=ctx.seats_left))
    if event.registration_deadline is not None:
        lines.append(
            _("⏳ Sign up by: {when}").format(when=when(event.registration_deadline, ctx.zone, ctx.locale))
        )
    tail: list[str] = []
    if ctx.answers:
        tail.append("")
        if len(ctx.answers) == 1 and ctx.answers[0][0] is None:
            _who, status, position = ctx.answers[0]
            tail.append(_answer_line(None, status, position))
        else:
            tail.append(_("Your answers:"))
            tail += [_answer_line(who or _("myself"), status, pos) for who, status, pos in ctx.answers]
    elif ctx.answer is not None:
        tail += ["", _answer_line(None, ctx.answer, None)]
    if event.description:
        # The card must fit one message: the full description is cut where the rest leaves no room.
        room = MESSAGE_MAX - visible_length("\n".join([*lines, "", "", *tail]))
        limit = min(CARD_DESCRIPTION, room) if not ctx.full else room
        lines += ["", escape(cut(event.description, limit))]
    return "\n".join([*lines, *tail])


def visible_length(html: str) -> int:
    """How long Telegram counts an HTML text after parsing: tags dropped, entities decoded, in UTF-16 units."""
    return len(unescape(re.sub(r"<[^>]*>", "", html)).encode("utf-16-le")) // 2


def cut(text: str, limit: int) -> str:
    """`text` if it is at most `limit` UTF-16 units long, else its beginning and «…» within `limit`."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    kept = text[: max(limit - 1, 0)]
    while kept and len(kept.encode("utf-16-le")) // 2 > limit - 1:
        kept = kept[:-1]
    return kept.rstrip() + "…"


def event_keyboard(event: Event, answer: RsvpStatus | None = None) -> InlineKeyboardMarkup:
    """«Пойду» «Возможно» / «Не пойду» «Подробнее» / «Добавить в календарь»."""
    buttons = []
    for status, label in ANSWER_LABELS.items():
        text = ("✅ " if status is answer else "") + str(label)
        buttons.append(
            InlineKeyboardButton(
                text=text, callback_data=RsvpCb(event_id=event.id, answer=ANSWER_CODES[status]).pack()
            )
        )
    more = InlineKeyboardButton(
        text=_("Details"), callback_data=EventInfoCb(event_id=event.id, what="more").pack()
    )
    ics = InlineKeyboardButton(
        text=_("📅 Add to calendar"), callback_data=EventInfoCb(event_id=event.id, what="ics").pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[buttons[:2], [buttons[2], more], [ics]])


def choice_keyboard(
    event: Event, status: RsvpStatus, options: Sequence[tuple[int, str]]
) -> InlineKeyboardMarkup:
    """Whom the answer is for: one button per pupil (grade, school) and «я сам(а)»."""
    rows = [
        [
            InlineKeyboardButton(
                text=label,
                callback_data=RsvpForCb(event_id=event.id, answer=ANSWER_CODES[status], target=target).pack(),
            )
        ]
        for target, label in options
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=_("« Back"), callback_data=RsvpForCb(event_id=event.id, answer="back", target=0).pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)
