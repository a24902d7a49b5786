"""Profiles after sign-up: a parent's children (school and grade, never a name), the ОВЗ mark given
with consent, a pupil's own school and grade, a teacher's classes, and the preferences screen.

Every function re-checks ownership: learner ids come from callback data and are not trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import EventKind, Learner, Role, School, TeacherClass, User, UserRole
from services.invitations import grant_role
from services.leaving import let_pupils_go
from services.people import SELF, record_role_change

MAX_CHILDREN = 10
QUIET_PRESETS: dict[str, tuple[int, int]] = {
    "20-08": (20 * 60, 8 * 60),
    "21-08": (21 * 60, 8 * 60),
    "22-07": (22 * 60, 7 * 60),
    "23-07": (23 * 60, 7 * 60),
    "off": (0, 0),
}
DIGESTS = ("instant", "weekly")
LANGUAGES = ("ru", "en")


class ProfileError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _check_grade(grade: int) -> None:
    if not 1 <= grade <= 11:
        raise ProfileError("bad_grade")


async def own_learner(session: AsyncSession, user: User, learner_id: int) -> Learner:
    learner = await session.get(Learner, learner_id)
    if learner is None or learner.user_id != user.id:
        raise ProfileError("not_yours")
    return learner


async def children(session: AsyncSession, user: User) -> Sequence[Learner]:
    query = select(Learner).where(Learner.user_id == user.id, Learner.is_self.is_(False)).order_by(Learner.id)
    return (await session.scalars(query)).all()


async def add_child(session: AsyncSession, user: User, school: School, grade: int) -> Learner:
    """One more child (a school and a grade); the user becomes a parent if they were not one yet."""
    _check_grade(grade)
    if user.consent_at is None:
        raise ProfileError("no_consent")
    count = await session.scalar(
        select(func.count()).where(Learner.user_id == user.id, Learner.is_self.is_(False))
    )
    if (count or 0) >= MAX_CHILDREN:
        raise ProfileError("too_many")
    has_parent = await session.scalar(
        select(UserRole.id).where(UserRole.user_id == user.id, UserRole.role == Role.parent)
    )
    if has_parent is None:
        await grant_role(
            session,
            user,
            Role.parent,
            municipality_id=school.municipality_id,
            school_id=None,
            actor_id=user.id,
            source=SELF,
        )
    learner = Learner(user_id=user.id, school_id=school.id, grade=grade, is_self=False)
    session.add(learner)
    await session.flush()
    return learner


async def change_learner(
    session: AsyncSession, user: User, learner_id: int, school: School, grade: int
) -> Learner:
    _check_grade(grade)
    learner = await own_learner(session, user, learner_id)
    learner.school_id = school.id
    learner.grade = grade
    await session.flush()
    return learner


async def remove_learner(session: AsyncSession, user: User, learner_id: int) -> None:
    """Remove a child; a parent without children is no longer a parent (nothing to send them)."""
    learner = await own_learner(session, user, learner_id)
    is_self = learner.is_self
    session.expunge(learner)
    await let_pupils_go(session, [learner_id])  # past counts stay, future seats are offered on
    if not is_self and not await children(session, user):
        removed = await session.execute(
            delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == Role.parent)
        )
        if getattr(removed, "rowcount", 0):
            record_role_change(session, user.id, Role.parent, "revoke", source=SELF, actor_id=user.id)
        await session.flush()


async def set_ovz(session: AsyncSession, user: User, learner_id: int, ovz: bool) -> Learner:
    """The ОВЗ mark, set only on the parent's explicit consent; clearing it forgets it."""
    learner = await own_learner(session, user, learner_id)
    if learner.is_self:
        raise ProfileError("not_yours")
    learner.ovz = ovz
    await session.flush()
    return learner


async def teacher_school(session: AsyncSession, user: User) -> School | None:
    role = await session.scalar(
        select(UserRole).where(UserRole.user_id == user.id, UserRole.role == Role.teacher)
    )
    if role is None or role.school_id is None:
        return None
    return await session.get(School, role.school_id)


async def teacher_grades(session: AsyncSession, user: User) -> list[int]:
    return await teacher_grades_of(session, user.id)


async def teacher_grades_of(session: AsyncSession, user_id: int) -> list[int]:
    query = select(TeacherClass.grade).where(TeacherClass.user_id == user_id).order_by(TeacherClass.grade)
    return list((await session.scalars(query)).all())


async def toggle_teacher_class(session: AsyncSession, user: User, grade: int) -> list[int]:
    """Add or remove a class the teacher leads, at the school of their teacher role."""
    _check_grade(grade)
    school = await teacher_school(session, user)
    if school is None:
        raise ProfileError("not_teacher")
    existing = await session.scalar(
        select(TeacherClass).where(
            TeacherClass.user_id == user.id, TeacherClass.school_id == school.id, TeacherClass.grade == grade
        )
    )
    if existing is None:
        session.add(TeacherClass(user_id=user.id, school_id=school.id, grade=grade, letter=""))
    else:
        await session.delete(existing)
    await session.flush()
    return await teacher_grades(session, user)


# Preferences -------------------------------------------------------------------------------------


def toggle_interest(user: User, kind: str) -> list[str]:
    """Empty interests mean every kind of event."""
    valid = {k.value for k in EventKind}
    if kind not in valid:
        raise ProfileError("bad_value")
    current = list(user.interests or [])
    if kind in current:
        current.remove(kind)
    else:
        current.append(kind)
    user.interests = [k.value for k in EventKind if k.value in current]
    return user.interests


def set_interests(user: User, kinds: Iterable[str]) -> None:
    valid = {k.value for k in EventKind}
    user.interests = [k for k in kinds if k in valid]


def set_quiet_hours(user: User, preset: str) -> None:
    if preset not in QUIET_PRESETS:
        raise ProfileError("bad_value")
    user.quiet_start, user.quiet_end = QUIET_PRESETS[preset]


def quiet_preset(user: User) -> str | None:
    for name, (start, end) in QUIET_PRESETS.items():
        if (user.quiet_start, user.quiet_end) == (start, end):
            return name
    return None


def set_digest(user: User, digest: str) -> None:
    if digest not in DIGESTS:
        raise ProfileError("bad_value")
    user.digest = digest


def set_language(user: User, language: str) -> None:
    if language not in LANGUAGES:
        raise ProfileError("bad_value")
    user.language = language
