"""Unit tests of the audience services: invitations, profiles, preferences, import parsing, forgetting."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from models import Invitation, Learner, Municipality, PupilCount, Role, RoleChange, School, User, UserRole
from models.base import utcnow
from services import directory_import as di
from services.invitations import InvitationError, create_invitation, redeem, revoke_invitation
from services.people import Profile, give_consent, load_profile
from services.privacy import forget_user
from services.profiles import ProfileError, add_child, set_ovz, set_quiet_hours, toggle_interest

pytestmark = pytest.mark.usefixtures("directory")


async def _user(session, telegram_id: int, consent: bool = True) -> User:
    user = User(telegram_id=telegram_id, is_active=True)
    session.add(user)
    await session.flush()
    if consent:
        give_consent(user, "ru")
    return user


async def _coordinator(session, telegram_id: int, municipality_id: int | None) -> Profile:
    user = await _user(session, telegram_id)
    session.add(UserRole(user_id=user.id, role=Role.coordinator, municipality_id=municipality_id))
    await session.flush()
    return await load_profile(session, user)


async def _ids(session) -> tuple[int, int, int, int]:
    kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
    chukhloma = await session.scalar(select(Municipality.id).where(Municipality.name != "город Кострома"))
    school_k = await session.scalar(select(School.id).where(School.municipality_id == kostroma))
    school_c = await session.scalar(select(School.id).where(School.municipality_id == chukhloma))
    return kostroma, chukhloma, school_k, school_c


async def test_invitation_scope_and_limits(sessions):
    async with sessions.begin() as session:
        kostroma, chukhloma, school_k, school_c = await _ids(session)
        admin = await _coordinator(session, 1, None)
        local = await _coordinator(session, 2, kostroma)
        nobody = await load_profile(session, await _user(session, 3))
        with pytest.raises(InvitationError, match="forbidden"):
            await create_invitation(session, nobody, Role.teacher, school_id=school_k)
        with pytest.raises(InvitationError, match="forbidden"):
            await create_invitation(session, local, Role.teacher, school_id=school_c)
        with pytest.raises(InvitationError, match="forbidden"):
            await create_invitation(session, local, Role.coordinator, municipality_id=chukhloma)
        with pytest.raises(InvitationError, match="bad_role"):
            await create_invitation(session, admin, Role.parent, school_id=school_k)
        with pytest.raises(InvitationError, match="unknown_school"):
            await create_invitation(session, admin, Role.teacher, school_id=None)
        with pytest.raises(InvitationError, match="bad_limits"):
            await create_invitation(session, admin, Role.teacher, school_id=school_k, max_uses=0)
        ok = await create_invitation(session, local, Role.teacher, school_id=school_k, max_uses=2)
        assert (ok.municipality_id, ok.school_id, ok.uses) == (kostroma, school_k, 0)
        assert ok.expires_at > utcnow() + timedelta(days=6)
        foreign = await create_invitation(session, admin, Role.coordinator, municipality_id=chukhloma)
        with pytest.raises(InvitationError, match="forbidden"):
            await revoke_invitation(session, local, foreign.id)
        with pytest.raises(InvitationError, match="forbidden"):
            await revoke_invitation(session, nobody, ok.id)
        assert foreign.revoked_at is None and ok.revoked_at is None


async def test_redeem_refusals_and_last_use(sessions):
    async with sessions.begin() as session:
        _kostroma, _chukhloma, school_k, _school_c = await _ids(session)
        admin = await _coordinator(session, 1, None)
        invitation = await create_invitation(session, admin, Role.teacher, school_id=school_k, max_uses=1)
        code = invitation.code
        first, second = await _user(session, 10), await _user(session, 11)
        silent = await _user(session, 12, consent=False)
        with pytest.raises(InvitationError, match="no_consent"):
            await redeem(session, silent, code)
        with pytest.raises(InvitationError, match="unknown"):
            await redeem(session, first, "nope")
        await redeem(session, first, code)
        with pytest.raises(InvitationError, match="used_up"):
            await redeem(session, second, code)
        again = await create_invitation(session, admin, Role.teacher, school_id=school_k, max_uses=5)
        with pytest.raises(InvitationError, match="already"):
            await redeem(session, first, again.code)
        again.expires_at = utcnow() - timedelta(seconds=1)
        with pytest.raises(InvitationError, match="expired"):
            await redeem(session, second, again.code)
        third = await create_invitation(session, admin, Role.teacher, school_id=school_k, max_uses=5)
        await revoke_invitation(session, admin, third.id)
        with pytest.raises(InvitationError, match="revoked"):
            await redeem(session, second, third.code)
        roles = (await session.execute(select(UserRole.user_id, UserRole.role))).all()
        assert (second.id, Role.teacher) not in roles and (first.id, Role.teacher) in roles
        audit = (await session.execute(select(RoleChange.user_id, RoleChange.actor_id))).all()
        assert audit == [(first.id, admin.user.id)]
        assert (await session.get(Invitation, invitation.id)).uses == 1


async def test_children_and_preferences(sessions):
    async with sessions.begin() as session:
        _kostroma, _chukhloma, school_k, school_c = await _ids(session)
        parent = await _user(session, 20)
        k, c = await session.get(School, school_k), await session.get(School, school_c)
        first = await add_child(session, parent, k, 9)
        await add_child(session, parent, c, 2)
        assert (await load_profile(session, parent)).roles == {Role.parent}
        with pytest.raises(ProfileError, match="bad_grade"):
            await add_child(session, parent, k, 12)
        with pytest.raises(ProfileError, match="bad_grade"):
            await add_child(session, parent, k, 0)
        for grade in range(1, 9):
            await add_child(session, parent, k, grade)
        with pytest.raises(ProfileError, match="too_many"):
            await add_child(session, parent, k, 5)
        stranger = await _user(session, 21)
        with pytest.raises(ProfileError, match="not_yours"):
            await set_ovz(session, stranger, first.id, True)
        assert (await session.get(Learner, first.id)).ovz is False
        with pytest.raises(ProfileError, match="bad_value"):
            toggle_interest(parent, "rave")
        assert toggle_interest(parent, "fair") == ["fair"]
        assert toggle_interest(parent, "fair") == []
        with pytest.raises(ProfileError, match="bad_value"):
            set_quiet_hours(parent, "00-24")
        set_quiet_hours(parent, "23-07")
        assert (parent.quiet_start, parent.quiet_end) == (23 * 60, 7 * 60)


async def test_forget_is_idempotent(sessions):
    async with sessions.begin() as session:
        _kostroma, _chukhloma, school_k, _school_c = await _ids(session)
        parent = await _user(session, 30)
        await add_child(session, parent, await session.get(School, school_k), 5)
        user_id = parent.id
        await forget_user(session, user_id)
        await forget_user(session, user_id)
        assert await session.scalar(select(func.count()).select_from(User)) == 0
        assert await session.scalar(select(func.count()).select_from(Learner)) == 0


def test_read_table_formats():
    assert di.read_table("a.csv", b"x,y\n1,2\n\n") == [(1, ["x", "y"]), (2, ["1", "2"])]
    assert di.read_table("a.csv", "x;y\n1;2\n".encode("cp1251")) == [(1, ["x", "y"]), (2, ["1", "2"])]
    assert di.read_table("a.txt", b"x\ty\n1\t2\n") == [(1, ["x", "y"]), (2, ["1", "2"])]
    for name, data, code in [
        ("a.csv", b"", "empty"),
        ("a.csv", b"  \n ", "empty"),
        ("a.doc", b"hello", "not_spreadsheet"),
        ("a.csv", b"\x00\x01binary", "not_spreadsheet"),
        ("a.xlsx", b"PK\x03\x04junk", "not_spreadsheet"),
        ("a.csv", b"x" * (di.MAX_BYTES + 1), "too_big"),
    ]:
        with pytest.raises(di.ImportRefused) as refused:
            di.read_table(name, data)
        assert refused.value.problems[0].code == code, name


def test_template_round_trip_and_school_year():
    table = di.read_table("t.xlsx", di.template_xlsx("pupils"))
    assert table[0] == (1, ["Муниципалитет", "Школа", "Класс", "Учеников", "Учебный год"])
    assert di.current_school_year(date(2026, 9, 1)) == 2026
    assert di.current_school_year(date(2026, 5, 31)) == 2025
    assert di._parse_year("2025/2026", 2000) == 2025
    assert di._parse_year("", 2024) == 2024
    assert di._parse_year("прошлый", 2024) is None


async def test_pupil_import_replaces_counts_and_checks_rights(sessions):
    async with sessions.begin() as session:
        admin = await _coordinator(session, 1, None)
        nobody = await load_profile(session, await _user(session, 2))
        csv_ = (
            "municipality,school,grade,pupils\nгород Кострома,МБОУ «Лицей № 17» г. Костромы,5,30\n".encode()
        )
        refused = await di.import_pupil_counts(session, nobody, "a.csv", csv_, date(2026, 1, 10))
        assert [p.code for p in refused.problems] == ["forbidden"]
        result = await di.import_pupil_counts(session, admin, "a.csv", csv_, date(2026, 1, 10))
        assert result.ok and result.created == {"pupil_counts": 1}
        again = csv_.replace(b",30", b",31")
        await di.import_pupil_counts(session, admin, "a.csv", again, date(2026, 1, 10))
        rows_ = (
            await session.execute(select(PupilCount.grade, PupilCount.pupils, PupilCount.school_year))
        ).all()
        assert rows_ == [(5, 31, 2025)]
        bad = b"municipality,school,grade,pupils\n\xd0\xb3,x,5,-3\n"
        result = await di.import_pupil_counts(session, admin, "a.csv", bad, date(2026, 1, 10))
        assert [p.code for p in result.problems] == ["unknown_school"]
