"""A participation: one pupil (or the user themself) answering one event."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UtcDateTime, utcnow


class RsvpStatus(enum.StrEnum):
    going = "going"
    maybe = "maybe"
    not_going = "not_going"
    waitlisted = "waitlisted"
    offered = "offered"  # promoted from the wait list, must confirm before offer_expires_at
    cancelled = "cancelled"


# Reports (migration 0006): participation by the pupil's school, answered from the index alone.
REPORT_INDEX_COLUMNS = ("school_id", "event_id", "status", "attended", "learner_id", "grade", "ovz", "result")


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
        # Reports (migration 0006): participation by the pupil's school, answered from the index alone.
        Index("ix_rsvps_report", *REPORT_INDEX_COLUMNS),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Indexed (migration 0007): report summaries are refreshed pupil by pupil.
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"), index=True)
    status: Mapped[RsvpStatus] = mapped_column(
        Enum(RsvpStatus, native_enum=False, length=16, validate_strings=True)
    )
    # Who the participant is, copied at sign-up: counts survive /forget as anonymous aggregates.
    respondent_role: Mapped[str | None] = mapped_column(String(16))  # student | parent | teacher
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"), index=True)
    grade: Mapped[int | None] = mapped_column(SmallInteger)
    ovz: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    offer_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attended: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[str | None] = mapped_column(String(32))  # winner | prize_winner
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
