"""A dated career-guidance event and whom it is for."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UtcDateTime, utcnow


class EventKind(enum.StrEnum):
    open_day = "open_day"
    holiday_programme = "holiday_programme"
    profession_trial = "profession_trial"
    excursion = "excursion"
    fair = "fair"
    online_lesson = "online_lesson"
    contest = "contest"
    master_class = "master_class"
    consultation = "consultation"
    class_hour = "class_hour"
    parent_meeting = "parent_meeting"
    other = "other"


class EventLevel(enum.StrEnum):
    international = "international"
    federal = "federal"
    regional = "regional"
    municipal = "municipal"
    school = "school"


class EventStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"
    finished = "finished"


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("grade_min BETWEEN 1 AND 11 AND grade_max BETWEEN grade_min AND 11", name="grades"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        Index("ix_events_municipality_status_start", "municipality_id", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[EventKind] = mapped_column(
        Enum(EventKind, native_enum=False, length=32, validate_strings=True)
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    venue: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    level: Mapped[EventLevel] = mapped_column(
        Enum(EventLevel, native_enum=False, length=16, validate_strings=True), default=EventLevel.municipal
    )
    grade_min: Mapped[int] = mapped_column(SmallInteger, default=1)
    grade_max: Mapped[int] = mapped_column(SmallInteger, default=11)
    for_students: Mapped[bool] = mapped_column(Boolean, default=True)
    for_parents: Mapped[bool] = mapped_column(Boolean, default=False)
    for_teachers: Mapped[bool] = mapped_column(Boolean, default=False)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="CASCADE"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    capacity: Mapped[int | None] = mapped_column(Integer)
    registration_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ovz_suitable: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[EventStatus] = mapped_column(
        Enum(EventStatus, native_enum=False, length=16, validate_strings=True), default=EventStatus.draft
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Bumped on every change of time or place: change notices are keyed by it, so each goes out once.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
