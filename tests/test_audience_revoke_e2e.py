"""Taking roles away: a coordinator's /roles screen (scope, confirmation, audit, the person told in their
language), and every attempt outside one's scope or without the role refused, changing nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from models import Role, RoleChange, TeacherClass, User, UserRole
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows, scalar
from tests.flows import CHUKHLOMA, SCHOOL_A, press_and_wait_edit, send_and_wait, subscribe
from tests.flows_audience import create_invite, labels, open_invite


async def _role_id(app, telegram_id: int, role: Role) -> int:
    return await scalar(
        app,
        select(UserRole.id)
        .join(User, User.id == UserRole.user_id)
        .where(User.telegram_id == telegram_id, UserRole.role == role),
    )


async def _held(app) -> list[tuple[int, Role]]:
    query = (
        select(User.telegram_id, UserRole.role)
        .join(User, User.id == UserRole.user_id)
        .order_by(User.telegram_id, UserRole.role)
    )
    return [tuple(r) for r in await rows(app, query)]


async def _setup(app, emulator):
    """The admin, a teacher of school A (English Telegram) who leads grade 7, a Chukhloma coordinator."""
    admin = emulator.user(ADMIN_ID, language_code="ru")
    teacher = emulator.user(7101, language_code="en")
    code = await create_invite(admin, school=SCHOOL_A)
    assert "You are now a teacher" in await open_invite(teacher, code, consent_label="✅ I agree")
    await press_and_wait_edit(teacher, "7")
    await press_and_wait_edit(teacher, "Done")
    local = emulator.user(7102, language_code="ru")
    code = await create_invite(admin, role="Координатор (муниципалитет)", municipality=CHUKHLOMA)
    assert "Теперь вы координатор" in await open_invite(local, code)
    return admin, teacher, local


async def test_coordinator_takes_a_teacher_role_away(app, emulator):
    admin, teacher, _local = await _setup(app, emulator)
    text = await send_and_wait(admin, "/roles")
    assert "Педагоги и координаторы" in text
    assert f"1. координатор: {CHUKHLOMA} — Telegram id 7102" in text
    assert f"2. педагог: {SCHOOL_A}; классы: 7 — Telegram id 7101" in text
    assert str(ADMIN_ID) not in text  # an admin's own (ADMIN_IDS) role is not offered
    assert labels(admin) == ["Снять №1", "Снять №2"]
    # «Нет» changes nothing.
    await press_and_wait_edit(admin, "Снять №2")
    assert (
        admin.last.text == f"Снять роль «педагог: {SCHOOL_A}» с Telegram id 7101? Человеку придёт сообщение."
    )
    await press_and_wait_edit(admin, "Нет")
    assert admin.last.text == "Ничего не изменено."
    assert (7101, Role.teacher) in await _held(app)
    teacher_role = await _role_id(app, 7101, Role.teacher)
    # «Да» takes it away, with the teacher's classes; recorded; the teacher is told, in English.
    await send_and_wait(admin, "/roles")
    await press_and_wait_edit(admin, "Снять №2")
    before = len(teacher.bot_messages)
    await press_and_wait_edit(admin, "Да, снять роль")
    assert admin.last.text == f"Готово: роль «педагог: {SCHOOL_A}» снята с Telegram id 7101."
    await teacher.wait_messages(before + 1, timeout=10)
    assert teacher.last.text == (
        f"A coordinator has taken away your role: teacher of {SCHOOL_A}. "
        "Your other roles and subscriptions stay as they were."
    )
    assert (7101, Role.teacher) not in await _held(app)
    assert await scalar(app, select(func.count()).select_from(TeacherClass)) == 0
    admin_id = await scalar(app, select(User.id).where(User.telegram_id == ADMIN_ID))
    last = (
        await rows(
            app,
            select(
                User.telegram_id, RoleChange.role, RoleChange.action, RoleChange.actor_id, RoleChange.source
            )
            .join(User, User.id == RoleChange.user_id)
            .order_by(RoleChange.id.desc())
            .limit(1),
        )
    )[0]
    assert tuple(last) == (7101, Role.teacher, "revoke", admin_id, "revoked")
    # The former teacher's teacher commands are gone.
    assert "/broadcast" not in await send_and_wait(teacher, "/help")
    # Pressing «Да» again (a stale confirmation) is refused politely.
    await admin.press(data=f"rl:yes:{teacher_role}", force=True)
    assert (await admin.wait_callback_answer(timeout=10)).text == "У этого человека уже нет этой роли."


async def test_revoking_is_refused_outside_scope_and_without_the_role(app, emulator):
    admin, _teacher, local = await _setup(app, emulator)
    teacher_role = await _role_id(app, 7101, Role.teacher)
    admin_role = await _role_id(app, ADMIN_ID, Role.coordinator)
    own_role = await _role_id(app, 7102, Role.coordinator)
    held = await _held(app)
    changes = await scalar(app, select(func.count()).select_from(RoleChange))
    # A Chukhloma coordinator sees nobody of Kostroma, not themselves.
    text = await send_and_wait(local, "/roles")
    assert "пока нет педагогов и координаторов" in text
    # Forged buttons: a Kostroma teacher, the admin, themselves.
    for role_id in (teacher_role, admin_role, own_role):
        for action in ("ask", "yes"):
            await local.press(data=f"rl:{action}:{role_id}", force=True)
            answer = await local.wait_callback_answer(timeout=10)
            assert answer.text == "Это действие доступно только координаторам.", (action, role_id)
    # A parent: the command and the forged buttons.
    parent = emulator.user(7103, language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_A, 5)
    assert await send_and_wait(parent, "/roles") == "Эта команда доступна только координаторам."
    for action in ("ask", "yes"):
        await parent.press(data=f"rl:{action}:{teacher_role}", force=True)
        assert "недоступна" in (await parent.wait_callback_answer(timeout=10)).text
    # The teacher (not a coordinator) cannot take anybody's role either.
    teacher = emulator.user(7101)
    assert await send_and_wait(teacher, "/roles") == "This command is available to coordinators only."
    await teacher.press(data=f"rl:yes:{own_role}", force=True)
    assert "not available to you" in (await teacher.wait_callback_answer(timeout=10)).text
    # Nothing changed (the parent's own sign-up is the only new record).
    assert await _held(app) == sorted([*held, (7103, Role.parent)])
    assert await scalar(app, select(func.count()).select_from(RoleChange)) == changes + 1
    assert await scalar(app, select(func.count()).select_from(TeacherClass)) == 1
    # The admin's own role is not on the admin's screen either.
    await admin.press(data=f"rl:yes:{admin_role}", force=True)
    assert (
        await admin.wait_callback_answer(timeout=10)
    ).text == "Это действие доступно только координаторам."
    assert (ADMIN_ID, Role.coordinator) in await _held(app)
