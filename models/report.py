"""Report summaries (migration 0007): exact aggregates of `rsvps` that the overview reads instead of scanning
every answer. They are derived data, kept in step by database triggers and `services/report_summary.py`:
a trigger marks the event and the pupil of every changed answer (and the pupils of an event whose status
or start changes) as stale, and the summaries are refreshed before they are read."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId


class ReportStaleEvent(Base):
    """An event whose answers changed since its tallies were counted (no foreign key: it may be gone)."""

    __tablename__ = "report_stale_events"

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ReportStalePupil(Base):
    """A pupil (learner) whose participations may have changed since they were summarised."""

    __tablename__ = "report_stale_pupils"

    learner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ReportEventTally(Base):
    """The answers of one event by the pupil's school (0: no school), counted as the overview counts them."""

    __tablename__ = "report_event_tallies"
    __table_args__ = (Index("ix_report_event_tallies_school", "school_id", "event_id"),)

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    school_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    going: Mapped[int] = mapped_column(Integer)
    maybe: Mapped[int] = mapped_column(Integer)
    waitlisted: Mapped[int] = mapped_column(Integer)  # waitlisted or offered a seat
    attended: Mapped[int] = mapped_column(Integer)
    no_shows: Mapped[int] = mapped_column(Integer)
    participations: Mapped[int] = mapped_column(Integer)
    winners: Mapped[int] = mapped_column(Integer)
    prize_winners: Mapped[int] = mapped_column(Integer)
    adults: Mapped[int] = mapped_column(Integer)  # parents' and teachers' own participations


class ReportPupilAtom(Base):
    """One pupil's participations in held events, reduced to what the overview distinguishes: school,
    grade, ОВЗ, month and school year (each in the school's municipality's zone and in the default zone).
    It is the pupil's previous state, so a refresh knows which distinct counts to take them out of."""

    __tablename__ = "report_pupil_atoms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    learner_id: Mapped[int] = mapped_column(BigInteger, index=True)
    municipality_id: Mapped[int] = mapped_column(BigInteger)
    school_id: Mapped[int] = mapped_column(BigInteger)
    grade: Mapped[int | None] = mapped_column(SmallInteger)
    ovz: Mapped[bool] = mapped_column(Boolean)
    month: Mapped[str] = mapped_column(String(7))  # in the municipality's time zone
    default_month: Mapped[str] = mapped_column(String(7), server_default="")  # in the default zone
    school_year: Mapped[int] = mapped_column(SmallInteger)  # in the municipality's time zone
    default_school_year: Mapped[int] = mapped_column(SmallInteger)  # in the default zone (the admin's view)


class ReportPupilCount(Base):
    """Distinct participating pupils: `unit` is «all», «m:<municipality>» or «s:<school>», `measure` is
    «pupils», «ovz», «band:<1–4>», «month:<YYYY-MM>», «school:<id>» (under «all»), «grade:<n>» (under a
    school), or «first» / «first_ovz» (pupils whose first participation is in this school year: summed up
    to a year they give the cumulative count)."""

    __tablename__ = "report_pupil_counts"

    unit: Mapped[str] = mapped_column(String(24), primary_key=True)
    school_year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    measure: Mapped[str] = mapped_column(String(40), primary_key=True)
    learners: Mapped[int] = mapped_column(Integer)
