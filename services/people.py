"""Users, consent, roles and the pupils a user stands for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Learner, Role, RoleChange, School, User, UserRole
from models.base import utcnow

# RoleChange.source: what brought the change about (the actor, when there is one, is RoleChange.actor_id).
ADMIN_IDS = "admin_ids"  # the ADMIN_IDS setting: granted on the admin's first update, revoked at start-up
SELF = "self"  # a pupil or parent signing up, or a parent removing their last child
INVITATION = "invitation"
MOVED = "moved"  # a teacher's old school, left for the school of a new invitation
REVOKED = "revoked"  # taken away by a coordinator (/roles)


@dataclass(frozen=True)
class Profile:
    """What the bot knows of a user, loaded once per update."""

    user: User
    roles: frozenset[Role]
    # The municipalities a coordinator serves (one, or each of a region's); None for an admin who serves
    # every municipality; empty for everyone who is not a coordinator.
    coordinator_municipalities: frozenset[int] | None
    learners: tuple[Learner, ...]

    @property
    def is_admin(self) -> bool:
        return self.has(Role.coordinator) and self.coordinator_municipalities is None

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
    scopes = [r.municipality_id for r in roles if r.role is Role.coordinator]
    coordinator_scope = None if None in scopes else frozenset(m for m in scopes if m is not None)
    return Profile(
        user=user,
        roles=frozenset(r.role for r in roles),
        coordinator_municipalities=coordinator_scope,
        learners=tuple(learners),
    )


def record_role_change(
    session: AsyncSession,
    user_id: int,
    role: Role,
    action: str,
    *,
    source: str,
    municipality_id: int | None = None,
    school_id: int | None = None,
    actor_id: int | None = None,
    invitation_id: int | None = None,
) -> RoleChange:
    """Every grant or loss of a role is written down: whose, which scope, by whom (or what), when."""
    change = RoleChange(
        user_id=user_id,
        role=role,
        action=action,
        municipality_id=municipality_id,
        school_id=school_id,
        actor_id=actor_id,
        invitation_id=invitation_id,
        source=source,
        at=utcnow(),
    )
    session.add(change)
    return change


async def ensure_admin(session: AsyncSession, user: User, admin_ids: Iterable[int]) -> None:
    """The first coordinators come from ADMIN_IDS; they serve every municipality.

    The grant is recorded with no actor and the source `admin_ids` (the setting did it).
    """
    if user.telegram_id not in set(admin_ids):
        return
    held = (
        await session.scalars(
            select(UserRole).where(UserRole.user_id == user.id, UserRole.role == Role.coordinator)
        )
    ).all()
    if any(r.municipality_id is None for r in held):
        return
    # A municipal coordinator named in ADMIN_IDS is widened to every municipality (one coordinator role).
    for narrower in held:
        await session.delete(narrower)
    session.add(UserRole(user_id=user.id, role=Role.coordinator, municipality_id=None, granted_by=None))
    record_role_change(session, user.id, Role.coordinator, "grant", source=ADMIN_IDS)
    await session.flush()


async def revoke_former_admins(session: AsyncSession, admin_ids: Iterable[int]) -> list[int]:
    """At start-up: whoever holds the global coordinator role but is no longer in ADMIN_IDS loses it.

    Only ADMIN_IDS grants that role (a coordinator invitation is always for a municipality or a region's municipalities), so an id
    removed from the setting is an admin no more. Returns the users' Telegram ids.
    """
    keep = set(admin_ids)
    held = (
        await session.execute(
            select(UserRole, User.telegram_id)
            .join(User, User.id == UserRole.user_id)
            .where(UserRole.role == Role.coordinator, UserRole.municipality_id.is_(None))
        )
    ).all()
    gone = []
    for role, telegram_id in held:
        if telegram_id in keep:
            continue
        await session.delete(role)
        record_role_change(session, role.user_id, Role.coordinator, "revoke", source=ADMIN_IDS)
        gone.append(telegram_id)
    await session.flush()
    return gone


def give_consent(user: User, language: str) -> None:
    user.consent_at = utcnow()
    user.language = language


async def register(session: AsyncSession, user: User, role: Role, school: School, grade: int | None) -> None:
    """Finish onboarding: a student is one learner, a parent adds a child."""
    if role not in (Role.student, Role.parent):
        # Teachers and coordinators come by invitation only (services/invitations.py), always audited.
        raise ValueError("teachers and coordinators are appointed, not registered")
    if grade is None or not 1 <= grade <= 11:
        raise ValueError("grade must be 1..11")
    existing = await session.scalar(
        select(UserRole).where(UserRole.user_id == user.id, UserRole.role == role)
    )
    if existing is None:
        session.add(
            UserRole(user_id=user.id, role=role, municipality_id=school.municipality_id, granted_by=user.id)
        )
        # Every role change is audited, self-chosen ones too (the actor is the user).
        record_role_change(
            session,
            user.id,
            role,
            "grant",
            source=SELF,
            municipality_id=school.municipality_id,
            actor_id=user.id,
        )
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
