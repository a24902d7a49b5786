"""What counts as participation: one definition for the overview's live queries and its summaries.

A pupil participates in an event they attended, or said «Пойду» to while attendance is not marked (yet);
a parent's or teacher's own answer (no pupil) is an adult participation. Only held events count.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_

from models import EventStatus, Rsvp, RsvpStatus

HELD = (EventStatus.published, EventStatus.finished)


def _present() -> ColumnElement[bool]:
    return or_(Rsvp.attended.is_(True), and_(Rsvp.attended.is_(None), Rsvp.status == RsvpStatus.going))


def participant() -> ColumnElement[bool]:
    """A pupil who attended, or said «Пойду» where attendance is not marked (yet)."""
    return and_(Rsvp.learner_id.is_not(None), _present())


def adult_participant() -> ColumnElement[bool]:
    """A parent's or teacher's own answer that counts as taking part."""
    return and_(Rsvp.learner_id.is_(None), _present())


def answer_tallies() -> list[ColumnElement[int]]:
    """Sign-ups, «Возможно», wait list, attended, no-shows, participations: counted alike everywhere."""
    return [
        func.count().filter(Rsvp.status == RsvpStatus.going),
        func.count().filter(Rsvp.status == RsvpStatus.maybe),
        func.count().filter(Rsvp.status.in_([RsvpStatus.waitlisted, RsvpStatus.offered])),
        func.count().filter(Rsvp.attended.is_(True)),
        func.count().filter(Rsvp.attended.is_(False)),
        func.count().filter(participant()),
    ]


def result_tallies() -> list[ColumnElement[int]]:
    """Winners and prize-winners among participants."""
    p = participant()
    return [
        func.count().filter(p, Rsvp.result == "winner"),
        func.count().filter(p, Rsvp.result == "prize_winner"),
    ]
