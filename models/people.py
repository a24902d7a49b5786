"""Users, their roles, and the pupils they stand for (a student themself, or a parent's children)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UtcDateTime, utcnow


class Role(enum.StrEnum):
    student = "student"
    parent = "parent"
    teacher = "teacher"
    coordinator = "coordinator"


class User(Base):
    """A Telegram account. Only the id is kept until consent is given."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Preferences (one settings screen). Empty interests mean every kind of event.
    interests: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    reminders_on: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    quiet_start: Mapped[int] = mapped_column(SmallInteger, default=21 * 60, server_default=str(21 * 60))
    quiet_end: Mapped[int] = mapped_column(SmallInteger, default=8 * 60, server_default=str(8 * 60))
    digest: Mapped[str] = mapped_column(String(8), default="instant", server_default="instant")
    monthly_summary: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class UserRole(Base):
    """A role held by a user, scoped to a school or a municipality; one user may hold several."""

    __tablename__ = "user_roles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16, validate_strings=True))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id", ondelete="SET NULL"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Learner(Base):
    """A pupil as the bot knows them: a school and a grade, never a name.

    A student's own profile is a learner with `is_self`; each child of a parent is one more. After
    `/forget` a learner who answered events stays *anonymous* (`user_id` NULL, nobody's child any more):
    the answers keep pointing at it, so participations and unique-pupil counts of past reports do not
    change. Every "a user's pupils" query must therefore select by `user_id`, never take all learners.
    """

    __tablename__ = "learners"
    __table_args__ = (CheckConstraint("grade BETWEEN 1 AND 11", name="grade_range"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # NULL: an anonymous pupil left by /forget (migration 0008).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    grade: Mapped[int] = mapped_column(SmallInteger)
    is_self: Mapped[bool] = mapped_column(Boolean, default=False)
    ovz: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TeacherClass(Base):
    """A class a teacher leads (grade and optional letter at a school): the reach of their broadcasts."""

    __tablename__ = "teacher_classes"
    __table_args__ = (
        UniqueConstraint("user_id", "school_id", "grade", "letter"),
        CheckConstraint("grade BETWEEN 1 AND 11", name="grade_range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    grade: Mapped[int] = mapped_column(SmallInteger)
    letter: Mapped[str] = mapped_column(String(4), default="", server_default="")


class Invitation(Base):
    """A deep link (`t.me/<bot>?start=<code>`) that grants a scoped role; expiring, limited, revocable."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16, validate_strings=True))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id", ondelete="CASCADE"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    # A coordinator invitation for a whole region (`Municipality.region`, migration 0011): no municipality;
    # redeeming it grants a coordinator role for each municipality the region has then.
    region: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RoleChange(Base):
    """Audit of every role granted or taken away: who, what, by whom, when."""

    __tablename__ = "role_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16, validate_strings=True))
    action: Mapped[str] = mapped_column(String(16))  # grant | revoke
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id", ondelete="SET NULL"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="SET NULL"))
    # How it came about (migration 0010): admin_ids (the ADMIN_IDS setting, no actor), invitation,
    # self (a pupil or parent signing up), moved (a teacher's old school, left for an invitation's new one),
    # revoked (by a coordinator, the actor). NULL on rows older than 0010.
    source: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
