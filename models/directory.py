"""Where pupils learn and where events happen: municipalities, schools, host organisations."""

from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId


class OrganisationType(enum.StrEnum):
    """Host types: profession trials are counted by them."""

    college = "college"
    university = "university"
    enterprise = "enterprise"
    additional_education = "additional_education"
    employment_centre = "employment_centre"
    other = "other"


class Municipality(Base):
    __tablename__ = "municipalities"
    __table_args__ = (UniqueConstraint("region", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    region: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")


class School(Base):
    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("municipality_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("municipality_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[OrganisationType] = mapped_column(
        Enum(OrganisationType, native_enum=False, length=32, validate_strings=True)
    )


class PupilCount(Base):
    """Pupils of a grade at a school in a school year (its starting calendar year): coverage denominators."""

    __tablename__ = "pupil_counts"
    __table_args__ = (
        UniqueConstraint("school_id", "grade", "school_year"),
        CheckConstraint("grade BETWEEN 1 AND 11", name="grade_range"),
        CheckConstraint("pupils >= 0", name="pupils_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    grade: Mapped[int] = mapped_column(SmallInteger)
    school_year: Mapped[int] = mapped_column(SmallInteger)
    pupils: Mapped[int] = mapped_column(Integer)
