"""Roles by invitation only: a coordinator's scoped, expiring, use-limited, revocable links; the audit of
role changes; and every privileged action refused to a user without the role (security tests)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from models import Invitation, Municipality, Role, RoleChange, School, TeacherClass, User, UserRole
from models.base import utcnow
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows, scalar
from tests.flows import CHUKHLOMA, KOSTROMA, SCHOOL_A, SCHOOL_B, press_and_wait_edit, send_and_wait, subscribe
from tests.flows_audience import become_teacher, create_invite, labels, open_invite


async def _roles(app, telegram_id: int) -> list[tuple[Role, int | None, int | None]]:
    query = (
        select(UserRole.role, UserRole.municipality_id, UserRole.school_id)
        .join(User, User.id == UserRole.user_id)
        .where(User.telegram_id == telegram_id)
        .order_by(UserRole.role)
    )
    return [tuple(r) for r in await rows(app, query)]


async def _id(app, model, name: str) -> int:
    return await scalar(app, select(model.id).where(model.name == name))


async def test_teacher_by_invitation_with_classes_and_audit(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    teacher = emulator.user(5001, language_code="ru")
    code = await create_invite(admin, school=SCHOOL_A)
    invite_text = admin.last.text
    assert "Приглашение: педагог: МБОУ «Гимназия № 1» г. Костромы" in invite_text
    assert f"https://t.me/profbot_sandbox_bot?start={code}" in invite_text
    assert "использовано: 0 из 1" in invite_text
    text = await open_invite(teacher, code)
    assert "Теперь вы педагог: МБОУ «Гимназия № 1» г. Костромы" in text
    assert "Какие классы вы ведёте?" in text
    await press_and_wait_edit(teacher, "7")
    await press_and_wait_edit(teacher, "9")
    assert "✅ 7" in labels(teacher) and "✅ 9" in labels(teacher)
    await press_and_wait_edit(teacher, "Готово")
    assert "Сохранено. Ваши классы: 7, 9." in teacher.last.text
    school_a = await _id(app, School, SCHOOL_A)
    assert await _roles(app, 5001) == [(Role.teacher, await _id(app, Municipality, KOSTROMA), school_a)]
    assert await rows(
        app, select(TeacherClass.grade, TeacherClass.school_id).order_by(TeacherClass.grade)
    ) == [
        (7, school_a),
        (9, school_a),
    ]
    # The change is recorded with who did it and when.
    audit = await rows(
        app,
        select(
            RoleChange.user_id,
            RoleChange.role,
            RoleChange.action,
            RoleChange.municipality_id,
            RoleChange.school_id,
            RoleChange.actor_id,
            RoleChange.invitation_id,
            RoleChange.source,
            RoleChange.at,
        ).order_by(RoleChange.id),
    )
    admin_id = await scalar(app, select(User.id).where(User.telegram_id == ADMIN_ID))
    teacher_id = await scalar(app, select(User.id).where(User.telegram_id == 5001))
    invitation_id = await scalar(app, select(Invitation.id))
    kostroma = await _id(app, Municipality, KOSTROMA)
    assert len(audit) == 2
    # The admin's global coordinator role, from ADMIN_IDS on their first update: no actor, no invitation.
    assert audit[0][:8] == (admin_id, Role.coordinator, "grant", None, None, None, None, "admin_ids")
    # The teacher's role, by the admin's invitation, in the invitation's scope.
    assert audit[1][:8] == (
        teacher_id,
        Role.teacher,
        "grant",
        kostroma,
        school_a,
        admin_id,
        invitation_id,
        "invitation",
    )
    assert audit[0][8] is not None and audit[0][8] <= audit[1][8]
    assert await scalar(app, select(Invitation.uses)) == 1
    # /profile shows the classes.
    profile = await send_and_wait(teacher, "/profile")
    assert "Педагог: МБОУ «Гимназия № 1» г. Костромы; классы: 7, 9" in profile


async def test_used_expired_and_revoked_invitations_are_refused(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    first, second = emulator.user(5002, language_code="ru"), emulator.user(5003, language_code="ru")
    code = await create_invite(admin, school=SCHOOL_B)
    assert "Теперь вы педагог" in await open_invite(first, code)
    # Reused: the one use is gone.
    assert "уже использовано" in await open_invite(second, code)
    assert await _roles(app, 5003) == []

    expired = await create_invite(admin, school=SCHOOL_B, uses=5)
    async with app.sessions.begin() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.code == expired)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert "Срок действия приглашения истёк" in await open_invite(second, expired)
    assert await _roles(app, 5003) == []

    revoked = await create_invite(admin, school=SCHOOL_B, uses=5)
    text = await send_and_wait(admin, "/invites")
    assert "<b>" not in text and "Действующие приглашения" in text
    assert revoked in text and expired not in text and code not in text
    await admin.press("Отозвать №1")
    answer = await admin.wait_callback_answer(timeout=10)
    assert answer.text == "Отозвано: ссылка больше не действует."
    assert "отозвано" in await open_invite(second, revoked)
    assert await _roles(app, 5003) == []
    assert "недействительна" in await open_invite(second, "no-such-code")
    assert await _roles(app, 5003) == []
    # The audit holds the admin's grant (ADMIN_IDS) and the one teacher grant, nothing for the refusals.
    assert await rows(
        app,
        select(User.telegram_id, RoleChange.role, RoleChange.action, RoleChange.source)
        .join(User, User.id == RoleChange.user_id)
        .order_by(RoleChange.id),
    ) == [(ADMIN_ID, Role.coordinator, "grant", "admin_ids"), (5002, Role.teacher, "grant", "invitation")]


async def test_invitation_before_consent_asks_consent_first(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    code = await create_invite(admin, school=SCHOOL_A)
    newcomer = emulator.user(5004, language_code="ru")
    text = await send_and_wait(newcomer, f"/start {code}")
    assert "Вы согласны на обработку этих данных?" in text
    assert await _roles(app, 5004) == []
    await newcomer.press("Не согласен(на)")
    await newcomer.wait_for(lambda u: "ничего не сохранено" in (u.last.text or ""), timeout=10)
    assert await _roles(app, 5004) == []
    assert await scalar(app, select(Invitation.uses)) == 0
    text = await open_invite(newcomer, code)
    assert "Теперь вы педагог" in text
    assert await scalar(app, select(User.consent_at).where(User.telegram_id == 5004)) is not None


async def test_coordinator_invitation_scopes_the_new_coordinator(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    coordinator = emulator.user(5005, language_code="ru")
    code = await create_invite(admin, role="Координатор (муниципалитет)", municipality=CHUKHLOMA)
    assert "координатор: Чухломский муниципальный район" in admin.last.text
    assert "Теперь вы координатор: Чухломский муниципальный район" in await open_invite(coordinator, code)
    chukhloma = await _id(app, Municipality, CHUKHLOMA)
    assert await _roles(app, 5005) == [(Role.coordinator, chukhloma, None)]
    help_text = await send_and_wait(coordinator, "/help")
    assert "/invite" in help_text and "/import" in help_text
    # A municipal coordinator invites teachers only into their own municipality: no municipality question,
    # only its schools are offered.
    await send_and_wait(coordinator, "/invite")
    await press_and_wait_edit(coordinator, "Педагог (школа)")
    assert labels(coordinator) == ["МОУ Судайская средняя школа", "МОУ Чухломская средняя школа"]
    # A forged school of another municipality is refused and nothing is created.
    school_a = await _id(app, School, SCHOOL_A)
    await coordinator.press(data=f"iv:school:{school_a}", force=True)
    answer = await coordinator.wait_callback_answer(timeout=10)
    assert "недействительна" in answer.text
    assert await scalar(app, select(func.count()).select_from(Invitation)) == 1


async def test_teacher_who_is_also_a_parent_holds_both_roles(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    user = emulator.user(5006, language_code="ru")
    await subscribe(user, "Я родитель", SCHOOL_B, 4)
    await become_teacher(admin, user, SCHOOL_A)
    roles = [r for r, _m, _s in await _roles(app, 5006)]
    assert sorted(roles) == [Role.parent, Role.teacher]
    profile = await send_and_wait(user, "/profile")
    assert "Ребёнок 1: 4 класс" in profile and "Педагог: МБОУ «Гимназия № 1» г. Костромы" in profile
    # The same invitation again: already held.
    code = await create_invite(admin, school=SCHOOL_A, uses=5)
    await open_invite(user, code)
    assert "У вас уже есть эта роль." in user.last.text


async def test_privileged_actions_are_refused_without_the_role(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await create_invite(admin, school=SCHOOL_A, uses=5)
    parent = emulator.user(5007, language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_A, 9)
    for command in ("/invite", "/invites", "/import"):
        assert await send_and_wait(parent, command) == "Эта команда доступна только координаторам."
    invitation_id = await scalar(app, select(Invitation.id))
    school_a = await _id(app, School, SCHOOL_A)
    forged = [
        "iv:role:1",
        f"iv:school:{school_a}",
        "iv:uses:30",
        f"iv:revoke:{invitation_id}",
        "im:directory",
        "im:tpl_pupils",
        "pf:class:5",
        "pf:classes_done:0:0",
    ]
    for data in forged:
        await parent.press(data=data, force=True)
        answer = await parent.wait_callback_answer(timeout=10)
        assert "недоступна" in answer.text or "устарела" in answer.text, (data, answer.text)
    assert await scalar(app, select(func.count()).select_from(Invitation)) == 1
    assert await scalar(app, select(Invitation.revoked_at)) is None
    assert await scalar(app, select(func.count()).select_from(TeacherClass)) == 0
    assert [r for r, _m, _s in await _roles(app, 5007)] == [Role.parent]
    assert not any(m.document for m in parent.bot_messages), "no template was sent"
    # A municipal coordinator cannot revoke an invitation of another municipality.
    other = emulator.user(5008, language_code="ru")
    chukhloma_code = await create_invite(admin, role="Координатор (муниципалитет)", municipality=CHUKHLOMA)
    await open_invite(other, chukhloma_code)
    await other.press(data=f"iv:revoke:{invitation_id}", force=True)
    answer = await other.wait_callback_answer(timeout=10)
    assert "только координаторам" in answer.text
    assert await scalar(app, select(Invitation.revoked_at).where(Invitation.id == invitation_id)) is None


async def test_invitation_in_english(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="en")
    teacher = emulator.user(5009, language_code="en")
    await send_and_wait(admin, "/invite")
    assert admin.last.text == "New invitation. Which role will it give?"
    await press_and_wait_edit(admin, "Teacher (a school)")
    await press_and_wait_edit(admin, KOSTROMA)
    await press_and_wait_edit(admin, SCHOOL_B)
    await press_and_wait_edit(admin, "1")
    assert (
        "Invitation: teacher of МБОУ «Средняя общеобразовательная школа № 7» г. Костромы" in admin.last.text
    )
    code = admin.last.text.split("?start=")[1].split()[0]
    text = await open_invite(teacher, code, consent_label="✅ I agree")
    assert "You are now a teacher of МБОУ «Средняя общеобразовательная школа № 7» г. Костромы." in text
    assert "Which classes do you lead?" in text
    assert "This invitation has already been used." in await open_invite(
        emulator.user(5010, language_code="en"), code, "✅ I agree"
    )


async def test_a_link_never_narrows_a_coordinator(app, emulator):
    """An admin (every municipality) or a municipal coordinator opening a coordinator link keeps their
    scope; the link is declined politely and not used up, so its real addressee can still use it."""
    admin = emulator.user(ADMIN_ID, language_code="ru")
    chukhloma_code = await create_invite(admin, role="Координатор (муниципалитет)", municipality=CHUKHLOMA)
    text = await open_invite(admin, chukhloma_code)
    assert "Вы уже координатор всех муниципалитетов" in text and "не использована" in text
    assert await _roles(app, ADMIN_ID) == [(Role.coordinator, None, None)]
    assert await scalar(app, select(Invitation.uses).where(Invitation.code == chukhloma_code)) == 0
    # A coordinator of Kostroma opening the Chukhloma link keeps Kostroma.
    kostroma_code = await create_invite(admin, role="Координатор (муниципалитет)", municipality=KOSTROMA)
    local = emulator.user(5011, language_code="ru")
    assert "Теперь вы координатор: город Кострома" in await open_invite(local, kostroma_code)
    text = await open_invite(local, chukhloma_code)
    assert "Вы уже координатор другого муниципалитета" in text
    kostroma = await _id(app, Municipality, KOSTROMA)
    assert await _roles(app, 5011) == [(Role.coordinator, kostroma, None)]
    assert await scalar(app, select(Invitation.uses).where(Invitation.code == chukhloma_code)) == 0
    assert await scalar(app, select(func.count()).where(RoleChange.role == Role.coordinator)) == 2
    # The link still works for the person it was made for.
    newcomer = emulator.user(5012, language_code="ru")
    assert "Теперь вы координатор: Чухломский" in await open_invite(newcomer, chukhloma_code)


async def test_a_teacher_moving_schools_leaves_the_old_school_and_its_classes(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    teacher = emulator.user(5013, language_code="ru")
    await become_teacher(admin, teacher, SCHOOL_A)
    await press_and_wait_edit(teacher, "7")
    await press_and_wait_edit(teacher, "9")
    await press_and_wait_edit(teacher, "Готово")
    school_a, school_b = await _id(app, School, SCHOOL_A), await _id(app, School, SCHOOL_B)
    assert await rows(
        app, select(TeacherClass.school_id, TeacherClass.grade).order_by(TeacherClass.grade)
    ) == [
        (school_a, 7),
        (school_a, 9),
    ]
    code = await create_invite(admin, school=SCHOOL_B)
    text = await open_invite(teacher, code)
    assert f"Вы больше не педагог: {SCHOOL_A}; классы этой школы удалены." in text
    assert f"Теперь вы педагог: {SCHOOL_B}." in text
    assert not any(label.startswith("✅") for label in labels(teacher)), (
        "no class of the old school is ticked"
    )
    kostroma = await _id(app, Municipality, KOSTROMA)
    assert await _roles(app, 5013) == [(Role.teacher, kostroma, school_b)]
    assert await rows(app, select(TeacherClass.school_id, TeacherClass.grade)) == []
    # Recorded: the old school left (by the inviting admin, through the new invitation), the new one granted.
    admin_id = await scalar(app, select(User.id).where(User.telegram_id == ADMIN_ID))
    invitation_id = await scalar(app, select(Invitation.id).where(Invitation.code == code))
    audit = await rows(
        app,
        select(
            RoleChange.action,
            RoleChange.school_id,
            RoleChange.actor_id,
            RoleChange.invitation_id,
            RoleChange.source,
        )
        .join(User, User.id == RoleChange.user_id)
        .where(User.telegram_id == 5013)
        .order_by(RoleChange.id),
    )
    assert audit[1:] == [
        ("revoke", school_a, admin_id, invitation_id, "moved"),
        ("grant", school_b, admin_id, invitation_id, "invitation"),
    ]
    assert audit[0][:2] == ("grant", school_a)
    # Classes are now marked at the new school.
    await press_and_wait_edit(teacher, "5")
    await press_and_wait_edit(teacher, "Готово")
    assert await rows(app, select(TeacherClass.school_id, TeacherClass.grade)) == [(school_b, 5)]
    profile = await send_and_wait(teacher, "/profile")
    assert f"Педагог: {SCHOOL_B}; классы: 5" in profile and SCHOOL_A not in profile


async def test_valid_until_falls_back_to_the_timezone_setting(app):
    """An invitation without a municipality (none is made today, but the text must not assume Moscow)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from handlers.invitations import describe

    invitation = Invitation(
        code="abc",
        role=Role.coordinator,
        municipality_id=None,
        expires_at=datetime(2030, 1, 1, 0, 0, tzinfo=UTC),
        max_uses=1,
        uses=0,
    )
    async with app.sessions() as session:
        with app.i18n.context(), app.i18n.use_locale("en"):
            text = await describe(session, invitation, app.bot, ZoneInfo("Asia/Vladivostok"))
    assert "Valid until 01.01.2030 10:00" in text
