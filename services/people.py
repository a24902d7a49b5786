"""Users, consent, roles and the pupils a user stands for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Learner, Role, RoleChange, School, User, UserRole
from models.base import utcnow


@dataclass(frozen=True)
class Profile:
    """What the bot knows of a user, loaded once per update."""

    user: User
    roles: frozenset[Role]
    coordinator_municipality_id: int | None  # None for an admin who serves every municipality
    learners: tuple[Learner, ...]

    @property
    def is_registered(self) -> bool:
        return self.user.consent_at is not None and bool(self.roles)

    def has(self, role: Role) -> bool:
        return role in self.roles


async def get_or_create_user(session: AsyncSession, telegram_id: int) -> User:
    """Only the Telegram id is stored before consent."""
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    if user is None:
        user = User(telegram_id=telegram_id, is_active=True)
        session.add(user)
        await session.flush()
    elif not user.is_active:
        # Writing to the bot again means they unblocked it.
        user.is_active = True
        user.blocked_at = None
    return user


async def load_profile(session: AsyncSession, user: User) -> Profile:
    roles = (await session.scalars(select(UserRole).where(UserRole.user_id == user.id))).all()
    learners = (
        await session.scalars(select(Learner).where(Learner.user_id == user.id).order_by(Learner.id))
    ).all()
    coordinator_scope = next((r.municipality_id for r in roles if r.role is Role.coordinator), None)
    return Profile(
        user=user,
        roles=frozenset(r.role for r in roles),
        coordinator_municipality_id=coordinator_scope,
        learners=tuple(learners),
    )


async def ensure_admin(session: AsyncSession, user: User, admin_ids: Iterable[int]) -> None:
    """The first coordinators come from ADMIN_IDS; they serve every municipality."""
    if user.telegram_id not in set(admin_ids):
        return
    exists = await session.scalar(
        select(UserRole.id).where(UserRole.user_id == user.id, UserRole.role == Role.coordinator)
    )
    if exists is None:
        session.add(UserRole(user_id=user.id, role=Role.coordinator, municipality_id=None, granted_by=None))
        await session.flush()


def give_consent(user: User, language: str) -> None:
    user.consent_at = utcnow()
    user.language = language


async def register(session: AsyncSession, user: User, role: Role, school: School, grade: int | None) -> None:
    """Finish onboarding: a student is one learner, a parent adds a child, a teacher is scoped to a school."""
    if role is Role.coordinator:
        raise ValueError("coordinators are appointed, not registered")
    if role in (Role.student, Role.parent) and (grade is None or not 1 <= grade <= 11):
        raise ValueError("grade must be 1..11")
    existing = await session.scalar(
        select(UserRole).where(UserRole.user_id == user.id, UserRole.role == role)
    )
    if existing is None:
        session.add(
            UserRole(
                user_id=user.id,
                role=role,
                school_id=school.id if role is Role.teacher else None,
                municipality_id=school.municipality_id,
                granted_by=user.id,
            )
        )
        # Every role change is audited, self-chosen ones too (the actor is the user).
        session.add(
            RoleChange(
                user_id=user.id,
                role=role,
                action="grant",
                municipality_id=school.municipality_id,
                school_id=school.id if role is Role.teacher else None,
                actor_id=user.id,
            )
        )
    elif role is Role.teacher:
        existing.school_id = school.id
        existing.municipality_id = school.municipality_id
    if role is Role.student:
        assert grade is not None
        # The same pupil, perhaps at a new school or grade: their answers keep pointing at them (the
        # answers hold their own copy of school and grade, so past counts stay where they were).
        me = await session.scalar(
            select(Learner).where(Learner.user_id == user.id, Learner.is_self.is_(True)).order_by(Learner.id)
        )
        if me is None:
            session.add(Learner(user_id=user.id, school_id=school.id, grade=grade, is_self=True))
        else:
            me.school_id, me.grade = school.id, grade
    elif role is Role.parent:
        assert grade is not None
        session.add(Learner(user_id=user.id, school_id=school.id, grade=grade, is_self=False))
    await session.flush()


async def mark_blocked(session: AsyncSession, telegram_ids: Sequence[int]) -> None:
    """A user who blocked the bot gets nothing more until they write again."""
    users = (await session.scalars(select(User).where(User.telegram_id.in_(telegram_ids)))).all()
    now = utcnow()
    for user in users:
        user.is_active = False
        user.blocked_at = now
