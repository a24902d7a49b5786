"""Roles by invitation: teacher and coordinator roles are granted only through scoped, expiring,
use-limited, revocable deep links; every change of role is written to `role_changes`.

The checks live here (not only in handler filters) so that forged callback data or a direct call
with the wrong profile is refused the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Invitation, Municipality, Role, School, TeacherClass, User, UserRole
from models.base import utcnow
from services import directory
from services.people import INVITATION, MOVED, REVOKED, Profile, record_role_change

INVITABLE = (Role.teacher, Role.coordinator)
DEFAULT_DAYS = 7
MAX_USES_CHOICES = (1, 5, 30)


class InvitationError(Exception):
    """A refused invitation action; `code` says why (the handler turns it into a sentence)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def may_manage(profile: Profile, municipality_id: int | None) -> bool:
    """A coordinator acts inside their municipalities; an admin (no municipality) everywhere."""
    if not profile.has(Role.coordinator):
        return False
    scope = profile.coordinator_municipalities
    return scope is None or (municipality_id is not None and municipality_id in scope)


async def may_invite_region(session: AsyncSession, profile: Profile, region: str) -> bool:
    """A region invitation: an admin, or a coordinator who serves every municipality of that region."""
    munis = await directory.region_municipalities(session, region)
    if not munis or not profile.has(Role.coordinator):
        return False
    return all(may_manage(profile, m.id) for m in munis)


async def _may_see(session: AsyncSession, profile: Profile, invitation: Invitation) -> bool:
    if invitation.region is not None:
        return await may_invite_region(session, profile, invitation.region)
    return may_manage(profile, invitation.municipality_id)


async def create_invitation(
    session: AsyncSession,
    actor: Profile,
    role: Role,
    *,
    school_id: int | None = None,
    municipality_id: int | None = None,
    region: str | None = None,
    days: int = DEFAULT_DAYS,
    max_uses: int = 1,
) -> Invitation:
    """A teacher invitation is scoped to a school, a coordinator one to a municipality or a whole region."""
    if not actor.has(Role.coordinator):
        raise InvitationError("forbidden")
    if role not in INVITABLE:
        raise InvitationError("bad_role")
    if not 1 <= max_uses <= 100 or not 1 <= days <= 90:
        raise InvitationError("bad_limits")
    if role is Role.teacher:
        region = None
        school = await session.get(School, school_id) if school_id is not None else None
        if school is None:
            raise InvitationError("unknown_school")
        municipality_id = school.municipality_id
    elif region is not None:
        school_id = municipality_id = None
        if not await directory.region_municipalities(session, region):
            raise InvitationError("unknown_region")
        if not await may_invite_region(session, actor, region):
            raise InvitationError("forbidden")
    else:
        school_id = None
        if municipality_id is None or await session.get(Municipality, municipality_id) is None:
            raise InvitationError("unknown_municipality")
    if region is None and not may_manage(actor, municipality_id):
        raise InvitationError("forbidden")
    invitation = Invitation(
        code=secrets.token_urlsafe(12),
        role=role,
        municipality_id=municipality_id,
        school_id=school_id,
        region=region,
        created_by=actor.user.id,
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(days=days),
        max_uses=max_uses,
        uses=0,
    )
    session.add(invitation)
    await session.flush()
    return invitation


async def active_invitations(session: AsyncSession, actor: Profile) -> Sequence[Invitation]:
    """Unrevoked, unexpired, not used up invitations the actor may see (their municipalities, a region
    all of whose municipalities they serve, or everything for an admin)."""
    if not actor.has(Role.coordinator):
        return []
    query = select(Invitation).where(
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
        Invitation.uses < Invitation.max_uses,
    )
    scope = actor.coordinator_municipalities
    if scope is not None:
        query = query.where(or_(Invitation.municipality_id.in_(list(scope)), Invitation.region.is_not(None)))
    found = (await session.scalars(query.order_by(Invitation.id))).all()
    return [i for i in found if await _may_see(session, actor, i)]


async def revoke_invitation(session: AsyncSession, actor: Profile, invitation_id: int) -> Invitation:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None:
        raise InvitationError("unknown")
    if not await _may_see(session, actor, invitation):
        raise InvitationError("forbidden")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
    await session.flush()
    return invitation


def invitation_problem(invitation: Invitation | None, now: datetime) -> str | None:
    """Why an invitation cannot be used now, or None."""
    if invitation is None:
        return "unknown"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    if invitation.uses >= invitation.max_uses:
        return "used_up"
    return None


async def grant_role(
    session: AsyncSession,
    user: User,
    role: Role,
    *,
    municipality_id: int | None,
    school_id: int | None,
    actor_id: int | None,
    source: str,
    invitation_id: int | None = None,
) -> UserRole:
    """Give a role (or re-scope one already held) and record who did it and when."""
    existing = await session.scalar(
        select(UserRole).where(UserRole.user_id == user.id, UserRole.role == role)
    )
    if existing is None:
        existing = UserRole(
            user_id=user.id,
            role=role,
            municipality_id=municipality_id,
            school_id=school_id,
            granted_by=actor_id,
            granted_at=utcnow(),
        )
        session.add(existing)
    else:
        existing.municipality_id = municipality_id
        existing.school_id = school_id
        existing.granted_by = actor_id
        existing.granted_at = utcnow()
    record_role_change(
        session,
        user.id,
        role,
        "grant",
        source=source,
        municipality_id=municipality_id,
        school_id=school_id,
        actor_id=actor_id,
        invitation_id=invitation_id,
    )
    await session.flush()
    return existing


@dataclass(frozen=True)
class Redeemed:
    invitation: Invitation
    left_school_id: int | None = None  # a teacher who moved: the school they are no longer a teacher of


async def redeem(session: AsyncSession, user: User, code: str) -> Redeemed:
    """Use an invitation: grant its role in its scope, once per user, within its limits. A region
    invitation grants a coordinator role for each municipality the region has now (one row each).

    A role already held is never narrowed: a coordinator (an admin above all) keeps their scope and the
    link is declined without being used up. A teacher of another school moves to the invitation's school:
    the old school is recorded as left (`moved`) and its classes are removed.

    The use counter is bumped with a guarded UPDATE so two people racing for the last use cannot both win.
    """
    if user.consent_at is None:
        raise InvitationError("no_consent")
    invitation = await session.scalar(select(Invitation).where(Invitation.code == code[:64]))
    problem = invitation_problem(invitation, utcnow())
    if problem is not None:
        raise InvitationError(problem)
    assert invitation is not None
    held_rows = (
        await session.scalars(
            select(UserRole)
            .where(UserRole.user_id == user.id, UserRole.role == invitation.role)
            .order_by(UserRole.id)
        )
    ).all()
    held = held_rows[0] if held_rows else None
    left_school: int | None = None
    targets: list[int | None] = [invitation.municipality_id]
    if invitation.role is Role.coordinator:
        if invitation.region is not None:
            targets = [m.id for m in await directory.region_municipalities(session, invitation.region)]
            if not targets:
                raise InvitationError("unknown_region")
        if held_rows:
            scopes = {r.municipality_id for r in held_rows}
            if None in scopes:
                raise InvitationError("wider")
            if set(targets) <= scopes:
                raise InvitationError("already")
            # A coordinator's scope is never changed by a link: an admin (every municipality) would lose
            # everything but one, a municipal coordinator their own. The link is not used up.
            raise InvitationError("other_municipality")
    elif held is not None:
        if held.municipality_id == invitation.municipality_id and held.school_id == invitation.school_id:
            raise InvitationError("already")
        # A teacher moving schools: the new school replaces the old one, whose classes no longer apply.
        left_school = held.school_id
    claimed = await session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.uses < Invitation.max_uses,
            Invitation.revoked_at.is_(None),
        )
        .values(uses=Invitation.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 1) != 1:
        raise InvitationError("used_up")
    await session.refresh(invitation)
    if held is not None:
        record_role_change(
            session,
            user.id,
            held.role,
            "revoke",
            source=MOVED,
            municipality_id=held.municipality_id,
            school_id=held.school_id,
            actor_id=invitation.created_by,
            invitation_id=invitation.id,
        )
        await session.execute(
            delete(TeacherClass).where(
                TeacherClass.user_id == user.id, TeacherClass.school_id.is_distinct_from(invitation.school_id)
            )
        )
    if invitation.role is Role.coordinator:
        # One coordinator role per municipality (a region's: each of them), each grant recorded.
        for municipality_id in targets:
            session.add(
                UserRole(
                    user_id=user.id,
                    role=Role.coordinator,
                    municipality_id=municipality_id,
                    granted_by=invitation.created_by,
                    granted_at=utcnow(),
                )
            )
            record_role_change(
                session,
                user.id,
                Role.coordinator,
                "grant",
                source=INVITATION,
                municipality_id=municipality_id,
                actor_id=invitation.created_by,
                invitation_id=invitation.id,
            )
        await session.flush()
    else:
        await grant_role(
            session,
            user,
            invitation.role,
            municipality_id=invitation.municipality_id,
            school_id=invitation.school_id,
            actor_id=invitation.created_by,
            source=INVITATION,
            invitation_id=invitation.id,
        )
    return Redeemed(invitation, left_school)


@dataclass(frozen=True)
class HeldRole:
    """A teacher or coordinator role as the /roles screen shows it (people are known by Telegram id)."""

    role: UserRole
    telegram_id: int
    language: str | None


def _revocable(actor: Profile, role: UserRole) -> bool:
    """Teacher and municipal coordinator roles inside the actor's scope, never their own.

    Admins' global role comes from ADMIN_IDS and goes with it (`revoke_former_admins`), not from here.
    """
    if role.role not in INVITABLE or role.user_id == actor.user.id:
        return False
    if role.role is Role.coordinator and role.municipality_id is None:
        return False
    return may_manage(actor, role.municipality_id)


async def revocable_roles(session: AsyncSession, actor: Profile) -> list[HeldRole]:
    if not actor.has(Role.coordinator):
        return []
    query = (
        select(UserRole, User.telegram_id, User.language)
        .join(User, User.id == UserRole.user_id)
        .where(UserRole.role.in_(INVITABLE))
        .order_by(UserRole.role, UserRole.municipality_id, UserRole.school_id, UserRole.id)
    )
    if actor.coordinator_municipalities is not None:
        query = query.where(UserRole.municipality_id.in_(list(actor.coordinator_municipalities)))
    held = (await session.execute(query)).all()
    return [
        HeldRole(role, telegram_id, language)
        for role, telegram_id, language in held
        if _revocable(actor, role)
    ]


async def held_role(session: AsyncSession, actor: Profile, user_role_id: int) -> HeldRole:
    """The role the actor may take away, or InvitationError (unknown / forbidden)."""
    if not actor.has(Role.coordinator):
        raise InvitationError("forbidden")
    found = (
        await session.execute(
            select(UserRole, User.telegram_id, User.language)
            .join(User, User.id == UserRole.user_id)
            .where(UserRole.id == user_role_id)
        )
    ).first()
    if found is None:
        raise InvitationError("role_gone")
    role, telegram_id, language = found
    if not _revocable(actor, role):
        raise InvitationError("forbidden")
    return HeldRole(role, telegram_id, language)


async def revoke_role(session: AsyncSession, actor: Profile, user_role_id: int) -> HeldRole:
    """Take a teacher or coordinator role away (a teacher's classes go with it) and record it."""
    held = await held_role(session, actor, user_role_id)
    role = held.role
    if role.role is Role.teacher:
        await session.execute(delete(TeacherClass).where(TeacherClass.user_id == role.user_id))
    record_role_change(
        session,
        role.user_id,
        role.role,
        "revoke",
        source=REVOKED,
        municipality_id=role.municipality_id,
        school_id=role.school_id,
        actor_id=actor.user.id,
    )
    await session.delete(role)
    await session.flush()
    return held
