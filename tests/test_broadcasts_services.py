"""Broadcast rules as plain service calls: who may address whom, the count, starting once, settings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.settings import ConfigError, load_settings
from models import Learner, Municipality, Outbox, Role, School, TeacherClass, User, UserRole
from models.base import utcnow
from services import broadcast_audience, broadcasts
from services.broadcast_audience import AudienceError, AudienceFilter
from services.broadcasts import BroadcastError
from tests.flows import CHUKHLOMA, KOSTROMA, SCHOOL_A, SCHOOL_B

pytestmark = pytest.mark.usefixtures("directory")


async def _school(session, name: str) -> School:
    school = await session.scalar(select(School).where(School.name == name))
    assert school is not None
    return school


async def _person(session, telegram_id: int, role: Role, *, school=None, grade=None, municipality_id=None):
    user = User(telegram_id=telegram_id, consent_at=utcnow(), is_active=True)
    session.add(user)
    await session.flush()
    session.add(
        UserRole(
            user_id=user.id,
            role=role,
            school_id=school.id if school is not None and role is Role.teacher else None,
            municipality_id=municipality_id
            if municipality_id is not None
            else (school.municipality_id if school else None),
        )
    )
    if grade is not None:
        session.add(Learner(user_id=user.id, school_id=school.id, grade=grade, is_self=role is Role.student))
    await session.flush()
    return user


async def test_a_teacher_reaches_only_their_own_school(sessions):
    async with sessions.begin() as session:
        a, b = await _school(session, SCHOOL_A), await _school(session, SCHOOL_B)
        teacher = await _person(session, 1, Role.teacher, school=a)
        session.add(TeacherClass(user_id=teacher.id, school_id=a.id, grade=9, letter="Б"))
        for i, (school, grade) in enumerate([(a, 9), (a, 9), (a, 10), (b, 9)]):
            await _person(session, 100 + i, Role.parent, school=school, grade=grade)
        await session.flush()
        mine = await broadcast_audience.authorize(
            session, teacher.id, AudienceFilter(scope="classes", roles=("parent",), school_id=a.id)
        )
        assert mine.grades == (9,)
        assert await broadcast_audience.count(session, mine, teacher.id) == 2
        whole = await broadcast_audience.authorize(
            session, teacher.id, AudienceFilter(scope="school", roles=("parent",), school_id=a.id)
        )
        assert await broadcast_audience.count(session, whole, teacher.id) == 3
        forged = [
            AudienceFilter(scope="school", roles=("parent",), school_id=b.id),
            AudienceFilter(scope="municipality", roles=("parent",), municipality_id=a.municipality_id),
            AudienceFilter(scope="school", roles=("teacher",), school_id=a.id),
            AudienceFilter(scope="school", roles=(), school_id=a.id),
            AudienceFilter(scope="everyone", roles=("parent",)),
        ]
        for chosen in forged:
            with pytest.raises(AudienceError):
                await broadcast_audience.authorize(session, teacher.id, chosen)


async def test_a_coordinator_reaches_only_their_municipality_and_admins_any(sessions):
    async with sessions.begin() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == KOSTROMA))
        chukhloma = await session.scalar(select(Municipality.id).where(Municipality.name == CHUKHLOMA))
        chukhloma_school = await _school(session, "МОУ Чухломская средняя школа")
        coordinator = await _person(session, 1, Role.coordinator, municipality_id=kostroma)
        admin = await _person(session, 2, Role.coordinator)
        await session.execute(
            UserRole.__table__.update().where(UserRole.user_id == admin.id).values(municipality_id=None)
        )
        await _person(session, 10, Role.student, school=chukhloma_school, grade=8)
        with pytest.raises(AudienceError):
            await broadcast_audience.authorize(
                session,
                coordinator.id,
                AudienceFilter(scope="municipality", roles=("student",), municipality_id=chukhloma),
            )
        with pytest.raises(AudienceError):  # a school of another municipality
            await broadcast_audience.authorize(
                session,
                coordinator.id,
                AudienceFilter(
                    scope="municipality",
                    roles=("student",),
                    municipality_id=kostroma,
                    school_id=chukhloma_school.id,
                ),
            )
        allowed = await broadcast_audience.authorize(
            session,
            admin.id,
            AudienceFilter(
                scope="municipality", roles=("student",), municipality_id=chukhloma, grade_min=8, grade_max=9
            ),
        )
        assert await broadcast_audience.count(session, allowed, admin.id) == 1


async def test_starting_twice_queues_once_and_only_the_author_can(sessions):
    async with sessions.begin() as session:
        a = await _school(session, SCHOOL_A)
        teacher = await _person(session, 1, Role.teacher, school=a)
        other = await _person(session, 2, Role.teacher, school=a)
        await _person(session, 10, Role.student, school=a, grade=7)
        draft = await broadcasts.create_draft(
            session,
            teacher,
            AudienceFilter(scope="school", roles=("student",), school_id=a.id),
            text="Привет",
            plain_length=6,
        )
        assert draft.recipients == 1
        with pytest.raises(BroadcastError):
            await broadcasts.start(session, draft.id, other.id, None)
        assert await broadcasts.start(session, draft.id, teacher.id, None) == 1
        with pytest.raises(BroadcastError):
            await broadcasts.start(session, draft.id, teacher.id, None)
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 1
        with pytest.raises(BroadcastError):
            broadcasts.check_content(0, None)
        with pytest.raises(BroadcastError):
            broadcasts.check_content(901, "photo")


def test_paid_broadcast_settings_are_validated():
    settings = load_settings(_env_file=None, PAID_BROADCAST="true", OUTBOX_PAID_RATE="800")
    assert settings.delivery_rate == 800
    assert load_settings(_env_file=None).delivery_rate == 30
    with pytest.raises(ConfigError, match="PAID_BROADCAST"):
        load_settings(_env_file=None, PAID_BROADCAST="perhaps")
    with pytest.raises(ConfigError, match="OUTBOX_PAID_RATE"):
        load_settings(_env_file=None, OUTBOX_PAID_RATE="5000")
