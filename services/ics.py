"""«Добавить в календарь»: the event as an iCalendar (.ics) file any phone calendar opens."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from icalendar import Event as IcsEvent

from models import Event

DEFAULT_LENGTH = timedelta(hours=2)


def event_ics(event: Event, place: str | None = None, domain: str = "profbot") -> bytes:
    """One VEVENT in UTC; the UID is stable so re-adding updates rather than duplicates."""
    calendar = Calendar()
    calendar.add("prodid", "-//profbot//career guidance events//RU")
    calendar.add("version", "2.0")
    item = IcsEvent()
    item.add("uid", f"event-{event.id}@{domain}")
    item.add("summary", event.title)
    item.add("dtstart", event.starts_at)
    item.add("dtend", event.ends_at or event.starts_at + DEFAULT_LENGTH)
    item.add("dtstamp", event.changed_at or event.published_at or event.created_at or event.starts_at)
    item.add("sequence", max(event.version - 1, 0))
    location = event.venue or place or event.online_url
    if location:
        item.add("location", location)
    description = event.description or ""
    if event.online_url:
        description = (description + "\n" + event.online_url).strip()
    if description:
        item.add("description", description)
    calendar.add_component(item)
    return calendar.to_ical()
