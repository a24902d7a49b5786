"""Who a broadcast reaches: always computed here, on the server, from the author's own roles.

A teacher reaches the pupils and/or parents of their classes (a class is a grade at their school; pupils
are known by school and grade only) or of their whole school; a coordinator reaches their municipality,
filtered by role, grade band and school. The filter the author picked is checked again against the
database before anything is queued, so forged button data can never widen it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, cast

from sqlalchemy import Select, and_, false, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from models import Learner, Role, School, TeacherClass, User, UserRole

AUDIENCE_ROLES = ("student", "parent", "teacher")


class AudienceError(Exception):
    """The author may not address this audience; `code` names why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class AudienceFilter:
    """What the author chose. `scope`: classes | school (teachers), municipality (coordinators)."""

    scope: str
    roles: tuple[str, ...]
    municipality_id: int | None = None
    school_id: int | None = None
    grade_min: int = 1
    grade_max: int = 11
    grades: tuple[int, ...] = ()  # a teacher's classes, filled in on the server

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["roles"] = list(self.roles)
        data["grades"] = list(self.grades)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AudienceFilter:
        return cls(
            scope=str(data["scope"]),
            roles=tuple(str(r) for r in data.get("roles", ())),
            municipality_id=data.get("municipality_id"),
            school_id=data.get("school_id"),
            grade_min=int(data.get("grade_min", 1)),
            grade_max=int(data.get("grade_max", 11)),
            grades=tuple(int(g) for g in data.get("grades", ())),
        )


async def teacher_school(session: AsyncSession, user_id: int) -> int | None:
    return await session.scalar(
        select(UserRole.school_id)
        .where(UserRole.user_id == user_id, UserRole.role == Role.teacher, UserRole.school_id.is_not(None))
        .order_by(UserRole.id)
        .limit(1)
    )


async def teacher_grades(session: AsyncSession, user_id: int, school_id: int) -> tuple[int, ...]:
    grades = await session.scalars(
        select(TeacherClass.grade)
        .where(TeacherClass.user_id == user_id, TeacherClass.school_id == school_id)
        .distinct()
        .order_by(TeacherClass.grade)
    )
    return tuple(grades.all())


async def authorize(session: AsyncSession, author_id: int, chosen: AudienceFilter) -> AudienceFilter:
    """Check `chosen` against the author's roles in the database; return the filter to use.

    Raises AudienceError when the author may not address it.
    """
    roles = set(chosen.roles)
    if not roles or not roles <= set(AUDIENCE_ROLES):
        raise AudienceError("no_roles")
    if not 1 <= chosen.grade_min <= chosen.grade_max <= 11:
        raise AudienceError("grades")
    held = (await session.scalars(select(UserRole).where(UserRole.user_id == author_id))).all()
    if chosen.scope == "municipality":
        coordinator = [r for r in held if r.role is Role.coordinator]
        if not coordinator:
            raise AudienceError("forbidden")
        if chosen.municipality_id is None:
            raise AudienceError("forbidden")
        if not any(r.municipality_id in (None, chosen.municipality_id) for r in coordinator):
            raise AudienceError("forbidden")
        if chosen.school_id is not None:
            school = await session.get(School, chosen.school_id)
            if school is None or school.municipality_id != chosen.municipality_id:
                raise AudienceError("forbidden")
        return AudienceFilter(
            scope="municipality",
            roles=tuple(r for r in AUDIENCE_ROLES if r in roles),
            municipality_id=chosen.municipality_id,
            school_id=chosen.school_id,
            grade_min=chosen.grade_min,
            grade_max=chosen.grade_max,
        )
    if chosen.scope in ("classes", "school"):
        schools = {r.school_id for r in held if r.role is Role.teacher and r.school_id is not None}
        if chosen.school_id is None or chosen.school_id not in schools:
            raise AudienceError("forbidden")
        if "teacher" in roles:
            raise AudienceError("forbidden")
        grades: tuple[int, ...] = ()
        if chosen.scope == "classes":
            grades = await teacher_grades(session, author_id, chosen.school_id)
            if not grades:
                raise AudienceError("no_classes")
        school = await session.get(School, chosen.school_id)
        return AudienceFilter(
            scope=chosen.scope,
            roles=tuple(r for r in AUDIENCE_ROLES if r in roles),
            municipality_id=school.municipality_id if school else None,
            school_id=chosen.school_id,
            grades=grades,
        )
    raise AudienceError("forbidden")


def _learner_condition(audience: AudienceFilter) -> ColumnElement[bool]:
    """Pupils in the audience who belong to somebody (anonymous ones left by /forget have no one to tell)."""
    conditions: list[ColumnElement[bool]] = [Learner.user_id.is_not(None)]
    if audience.school_id is not None:
        conditions.append(Learner.school_id == audience.school_id)
    else:
        in_municipality = select(School.id).where(School.municipality_id == audience.municipality_id)
        conditions.append(Learner.school_id.in_(in_municipality))
    if audience.grades:
        conditions.append(Learner.grade.in_(audience.grades))
    else:
        conditions.append(Learner.grade.between(audience.grade_min, audience.grade_max))
    kinds = []
    if "student" in audience.roles:
        kinds.append(Learner.is_self.is_(True))
    if "parent" in audience.roles:
        kinds.append(Learner.is_self.is_(False))
    conditions.append(or_(*kinds) if kinds else false())
    return and_(*conditions)


def recipients(audience: AudienceFilter, exclude_user_id: int | None = None) -> Select[Any]:
    """(id, telegram_id) of every active, consenting user in an authorized audience, once each."""
    parts: list[Select[Any]] = []
    if "student" in audience.roles or "parent" in audience.roles:
        parts.append(select(Learner.user_id.label("user_id")).where(_learner_condition(audience)))
    if "teacher" in audience.roles and audience.scope == "municipality":
        if audience.school_id is not None:
            at_school: ColumnElement[bool] = UserRole.school_id == audience.school_id
        else:
            at_school = UserRole.school_id.in_(
                select(School.id).where(School.municipality_id == audience.municipality_id)
            )
        parts.append(
            select(UserRole.user_id.label("user_id")).where(UserRole.role == Role.teacher, at_school)
        )
    if not parts:
        return cast(Select[Any], select(User.id, User.telegram_id).where(false()))
    candidates = union(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    query = cast(Select[Any], select(User.id, User.telegram_id)).where(
        User.id.in_(select(candidates.c.user_id)),
        User.is_active.is_(True),
        User.consent_at.is_not(None),
    )
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return query


async def count(session: AsyncSession, audience: AudienceFilter, exclude_user_id: int | None = None) -> int:
    sub = recipients(audience, exclude_user_id).subquery()
    return int(await session.scalar(select(func.count()).select_from(sub)) or 0)
