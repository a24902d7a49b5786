"""Where roles come from and go: ADMIN_IDS grants and start-up revocations, recorded in role_changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import build_app
from models import Municipality, Role, RoleChange, School, User, UserRole
from services.people import ensure_admin, give_consent, register, revoke_former_admins
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("directory")


async def _user(session, telegram_id: int) -> User:
    user = User(telegram_id=telegram_id, is_active=True)
    session.add(user)
    await session.flush()
    give_consent(user, "ru")
    return user


async def _audit(session) -> list[tuple]:
    query = select(
        RoleChange.user_id,
        RoleChange.role,
        RoleChange.action,
        RoleChange.municipality_id,
        RoleChange.school_id,
        RoleChange.actor_id,
        RoleChange.invitation_id,
        RoleChange.source,
    ).order_by(RoleChange.id)
    return [tuple(r) for r in (await session.execute(query)).all()]


async def _coordinator_scopes(session, user: User) -> list[int | None]:
    query = select(UserRole.municipality_id).where(
        UserRole.user_id == user.id, UserRole.role == Role.coordinator
    )
    return list((await session.scalars(query)).all())


async def test_admin_ids_grant_is_recorded_once(sessions):
    async with sessions.begin() as session:
        admin, other = await _user(session, 9001), await _user(session, 9002)
        await ensure_admin(session, admin, [9001])
        await ensure_admin(session, admin, [9001])  # every update calls it: one grant only
        await ensure_admin(session, other, [9001])
        assert await _coordinator_scopes(session, admin) == [None]
        assert await _coordinator_scopes(session, other) == []
        assert await _audit(session) == [
            (admin.id, Role.coordinator, "grant", None, None, None, None, "admin_ids")
        ]
        assert (await session.scalar(select(RoleChange.at))) is not None


async def test_municipal_coordinator_named_in_admin_ids_is_widened(sessions):
    async with sessions.begin() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        user = await _user(session, 9003)
        session.add(UserRole(user_id=user.id, role=Role.coordinator, municipality_id=kostroma))
        await session.flush()
        await ensure_admin(session, user, [9003])
        assert await _coordinator_scopes(session, user) == [None]
        assert await _audit(session) == [
            (user.id, Role.coordinator, "grant", None, None, None, None, "admin_ids")
        ]


async def test_ids_removed_from_admin_ids_lose_the_global_role(sessions):
    async with sessions.begin() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        stays, goes = await _user(session, 9001), await _user(session, 9002)
        municipal = await _user(session, 9004)
        await ensure_admin(session, stays, [9001, 9002])
        await ensure_admin(session, goes, [9001, 9002])
        session.add(UserRole(user_id=municipal.id, role=Role.coordinator, municipality_id=kostroma))
        await session.flush()
        assert await revoke_former_admins(session, [9001]) == [9002]
        assert await _coordinator_scopes(session, stays) == [None]
        assert await _coordinator_scopes(session, goes) == []
        # A municipal coordinator (by invitation) is not an ADMIN_IDS admin: untouched.
        assert await _coordinator_scopes(session, municipal) == [kostroma]
        assert (await _audit(session))[-1] == (
            goes.id,
            Role.coordinator,
            "revoke",
            None,
            None,
            None,
            None,
            "admin_ids",
        )
        assert await revoke_former_admins(session, [9001]) == []  # nothing more to take


async def test_start_up_revokes_admins_no_longer_in_admin_ids(emulator, database_url):
    """The bot's own start-up (App.prepare) applies the current ADMIN_IDS."""
    first = build_app(make_settings(emulator, database_url, ADMIN_IDS="9001,9002"))
    await first.prepare()
    async with first.sessions.begin() as session:
        for telegram_id in (9001, 9002):
            await ensure_admin(session, await _user(session, telegram_id), [9001, 9002])
    await first.stop()
    second = build_app(make_settings(emulator, database_url, ADMIN_IDS="9001"))
    try:
        await second.prepare()
        async with second.sessions() as session:
            held = (
                await session.execute(
                    select(User.telegram_id, UserRole.municipality_id)
                    .join(UserRole, UserRole.user_id == User.id)
                    .order_by(User.telegram_id)
                )
            ).all()
            assert [tuple(r) for r in held] == [(9001, None)]
            revoked = await session.scalar(
                select(User.telegram_id)
                .join(RoleChange, RoleChange.user_id == User.id)
                .where(RoleChange.action == "revoke", RoleChange.source == "admin_ids")
            )
            assert revoked == 9002
    finally:
        await second.stop()


async def test_teachers_and_coordinators_cannot_register_themselves(sessions):
    async with sessions.begin() as session:
        school = await session.scalar(select(School).order_by(School.id))
        user = await _user(session, 7001)
        for role in (Role.teacher, Role.coordinator):
            with pytest.raises(ValueError, match="appointed"):
                await register(session, user, role, school, None)
        assert (await session.scalars(select(UserRole))).all() == []
        assert await _audit(session) == []
        await register(session, user, Role.student, school, 9)
        assert await _audit(session) == [
            (user.id, Role.student, "grant", school.municipality_id, None, user.id, None, "self")
        ]
