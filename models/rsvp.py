"""A participation: one pupil (or the user themself) answering one event."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UtcDateTime, utcnow


class RsvpStatus(enum.StrEnum):
    going = "going"
    maybe = "maybe"
    not_going = "not_going"
    waitlisted = "waitlisted"
    cancelled = "cancelled"


class Rsvp(Base):
    """Unique per event and learner; a user's own answer (no learner) is unique per event and user."""

    __tablename__ = "rsvps"
    __table_args__ = (
        Index(
            "uq_rsvps_event_learner",
            "event_id",
            "learner_id",
            unique=True,
            sqlite_where=text("learner_id IS NOT NULL"),
            postgresql_where=text("learner_id IS NOT NULL"),
        ),
        Index(
            "uq_rsvps_event_user_self",
            "event_id",
            "user_id",
            unique=True,
            sqlite_where=text("learner_id IS NULL"),
            postgresql_where=text("learner_id IS NULL"),
        ),
        Index("ix_rsvps_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"))
    status: Mapped[RsvpStatus] = mapped_column(
        Enum(RsvpStatus, native_enum=False, length=16, validate_strings=True)
    )
    attended: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
