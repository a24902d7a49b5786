"""Who an event is for: the recipients are always computed here, on the server, from the event."""

from __future__ import annotations

from sqlalchemy import Select, String, and_, cast, false, func, or_, select, union
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from models import Event, EventKind, Learner, Role, School, User, UserRole


def school_in_scope(
    event: Event, school_id: InstrumentedAttribute[int] | InstrumentedAttribute[int | None]
) -> ColumnElement[bool]:
    if event.school_id is not None:
        return school_id == event.school_id
    in_municipality = select(School.id).where(School.municipality_id == event.municipality_id)
    return school_id.in_(in_municipality)


def interested(event: Event) -> ColumnElement[bool]:
    """Empty interests mean every kind; otherwise the event's kind must be among them.

    The JSON list is compared as text (`["open_day", "contest"]`), which both SQLite and PostgreSQL give.
    """
    text = func.coalesce(cast(User.interests, String), "[]")
    return or_(func.replace(text, " ", "") == "[]", text.like(f'%"{EventKind(event.kind).value}"%'))


def matching_learners(event: Event) -> Select[int | None, int]:
    """(user_id, learner_id) of every pupil the event is for, from students and from parents.

    Pupils with ОВЗ hear of every event of their grade; the card says whether it suits them. Anonymous
    pupils left by /forget (no user) have nobody to tell.
    """
    kinds = []
    if event.for_students:
        kinds.append(Learner.is_self.is_(True))
    if event.for_parents:
        kinds.append(Learner.is_self.is_(False))
    return select(Learner.user_id, Learner.id).where(
        Learner.user_id.is_not(None),
        Learner.grade.between(event.grade_min, event.grade_max),
        school_in_scope(event, Learner.school_id),
        or_(*kinds) if kinds else false(),
    )


def recipients(event: Event) -> Select[int, int]:
    """(user_id, telegram_id) of every active, consenting, interested user who should hear of the event, once each."""
    learner_users = matching_learners(event).with_only_columns(Learner.user_id.label("user_id"))
    parts = [learner_users]
    if event.for_teachers:
        parts.append(
            select(UserRole.user_id.label("user_id")).where(
                UserRole.role == Role.teacher,
                and_(UserRole.school_id.is_not(None), school_in_scope(event, UserRole.school_id)),
            )
        )
    candidates = union(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return (
        select(User.id, User.telegram_id)
        .where(
            User.id.in_(select(candidates.c.user_id)),
            User.is_active.is_(True),
            User.consent_at.is_not(None),
            interested(event),
        )
        .order_by(User.id)
    )
