"""Typed callback data of the event features (issue 4); every value is re-checked on the server."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class RsvpForCb(CallbackData, prefix="rf"):
    """An answer for one target: a pupil id of the user's, or 0 for «я сам(а)»."""

    event_id: int
    answer: str
    target: int


class EventInfoCb(CallbackData, prefix="ei"):
    """«Подробнее» (more) and «Добавить в календарь» (ics)."""

    event_id: int
    what: str


class OfferCb(CallbackData, prefix="wo"):
    """Confirm (1) or decline (0) a seat offered from the wait list."""

    rsvp_id: int
    accept: int


class MyCb(CallbackData, prefix="my"):
    """Cancel one's sign-up from /my."""

    rsvp_id: int


class ManageCb(CallbackData, prefix="me"):
    """An organiser's action on an event: open, move, place, title, description, seats, deadline, cancel."""

    event_id: int
    action: str


class EventReportCb(CallbackData, prefix="er"):
    """«📊 Report» on an organiser's event card: the event's report, as `/stats <event>`."""

    event_id: int


class AttendCb(CallbackData, prefix="at"):
    """Attendance screen: toggle a participant, set a result, add a walk-in, finish; `page` of the list
    the button was on (the sheet is redrawn at that page)."""

    event_id: int
    action: str
    value: int = 0
    page: int = 0


class FeedbackCb(CallbackData, prefix="fb"):
    event_id: int
    rating: int


class PickCb(CallbackData, prefix="dp"):
    """The inline date picker: `action` is month (value yyyymm), day (yyyymmdd) or time (hhmm)."""

    action: str
    value: int


class PlanImportCb(CallbackData, prefix="pl"):
    """The import dialog: the municipality (`mun`) and the final confirmation (`go`)."""

    step: str
    value: str
