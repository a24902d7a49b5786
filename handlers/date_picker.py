"""An inline calendar: a month of day buttons (past days shown but inert), then a row of times."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.event_callbacks import PickCb

TIMES = ("09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00", "17:00", "18:00", "19:00")
MAX_MONTHS_AHEAD = 24


def _button(text: str, action: str, value: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PickCb(action=action, value=value).pack())


def month_keyboard(year: int, month: int, today: date, locale: str) -> InlineKeyboardMarkup:
    """Days of the month; «‹ ›» move between months, from this one to two years ahead."""
    title = format_date(date(year, month, 1), "LLLL y", locale=locale).capitalize()
    prev_month = (year * 12 + month - 2) // 12, (year * 12 + month - 2) % 12 + 1
    next_month = (year * 12 + month) // 12, (year * 12 + month) % 12 + 1
    rows = [
        [
            _button("‹", "month", prev_month[0] * 100 + prev_month[1])
            if (year, month) > (today.year, today.month)
            else _button(" ", "noop", 0),
            _button(title, "noop", 0),
            _button("›", "month", next_month[0] * 100 + next_month[1]),
        ]
    ]
    for week in calendar.Calendar().monthdayscalendar(year, month):
        row = []
        for day in week:
            if day == 0:
                row.append(_button(" ", "noop", 0))
            elif date(year, month, day) < today:
                row.append(_button("·", "noop", 0))
            else:
                row.append(_button(str(day), "day", year * 10000 + month * 100 + day))
        rows.append(row)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def time_keyboard() -> InlineKeyboardMarkup:
    buttons = [_button(t, "time", int(t.replace(":", ""))) for t in TIMES]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 4] for i in range(0, len(buttons), 4)])


def month_allowed(value: int, today: date) -> tuple[int, int] | None:
    year, month = divmod(value, 100)
    if not 1 <= month <= 12:
        return None
    distance = (year - today.year) * 12 + month - today.month
    return (year, month) if 0 <= distance <= MAX_MONTHS_AHEAD else None


def day_from(value: int) -> date | None:
    try:
        return date(value // 10000, value // 100 % 100, value % 100)
    except ValueError:
        return None


def time_from(value: int) -> time | None:
    hours, minutes = divmod(value, 100)
    return time(hours, minutes) if 0 <= hours < 24 and 0 <= minutes < 60 else None


def parse_time(text: str) -> time | None:
    try:
        return datetime.strptime(text.strip().replace(".", ":"), "%H:%M").time()
    except ValueError:
        return None


def parse_moment(text: str, zone: ZoneInfo) -> datetime | None:
    """DD.MM.YYYY HH:MM in the municipality's zone."""
    try:
        return datetime.strptime(text.strip(), "%d.%m.%Y %H:%M").replace(tzinfo=zone)
    except ValueError:
        return None


def pick_prompt() -> str:
    return _("Choose the day in the calendar, or type the date and time as DD.MM.YYYY HH:MM.")
