"""Lists that grow with the directory are shown 20 a page: a city with 130 schools can still be chosen in
the sign-up dialog, in /profile, in /invite and in /broadcast (Telegram refuses more than 100 buttons under
a message)."""

# ruff: noqa: F811  (the fixtures `capp` and `clock` are imported from tests.flows_events)
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Invitation, Learner, Municipality, Role, School, User
from models.base import utcnow
from sandbox import SimUser
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows
from tests.flows import KOSTROMA, press_and_wait_edit, send_and_wait
from tests.flows_events import capp, clock, municipality_id  # noqa: F401  (fixtures)


def school_labels(user: SimUser) -> list[str]:
    assert user.last is not None
    return [label for label in user.last.button_labels if label.startswith("Школа № ")]


async def test_sign_up_and_profile_page_through_130_schools(capp, emulator, clock):
    kostroma = await municipality_id(capp)
    async with capp.sessions.begin() as session:
        session.add_all(School(municipality_id=kostroma, name=f"Школа № {n:03d}") for n in range(100, 230))
    parent = emulator.user(7001, language_code="ru")
    await send_and_wait(parent, "/start")
    for label in ("✅ Согласен(на)", "Я родитель", KOSTROMA):
        await press_and_wait_edit(parent, label, timeout=10)
    assert parent.last is not None and "Страница 1 из 7" in (parent.last.text or "")
    assert sum(len(row) for row in parent.last.buttons) <= 100
    assert "◀" not in parent.last.button_labels and "▶" in parent.last.button_labels
    first_page = school_labels(parent)
    await press_and_wait_edit(parent, "▶", timeout=10)
    assert "Страница 2 из 7" in (parent.last.text or "")
    second = school_labels(parent)[3]
    assert second not in first_page
    await press_and_wait_edit(parent, second, timeout=10)
    await press_and_wait_edit(parent, "9", timeout=10)
    assert "Готово!" in (parent.last.text or "")

    # A second child, in /profile: the last page, then back one page, and a school there.
    await press_and_wait_edit(parent, "➕ Добавить ещё ребёнка", timeout=10)
    await press_and_wait_edit(parent, KOSTROMA, timeout=10)
    for _ in range(6):
        await press_and_wait_edit(parent, "▶", timeout=10)
    assert "Страница 7 из 7" in (parent.last.text or "") and "▶" not in parent.last.button_labels
    await press_and_wait_edit(parent, "◀", timeout=10)
    assert "Страница 6 из 7" in (parent.last.text or "")
    third = school_labels(parent)[0]
    await press_and_wait_edit(parent, third, timeout=10)
    await press_and_wait_edit(parent, "3", timeout=10)
    assert "Ребёнок добавлен: 3 класс, " + third in (parent.last.text or "")
    learners = await rows(
        capp,
        select(School.name, Learner.grade).join(School, School.id == Learner.school_id).order_by(Learner.id),
    )
    assert learners == [(second, 9), (third, 3)]


async def test_invitation_and_broadcast_page_through_130_schools(capp, emulator, clock):
    kostroma = await municipality_id(capp)
    async with capp.sessions.begin() as session:
        session.add_all(School(municipality_id=kostroma, name=f"Школа № {n:03d}") for n in range(100, 230))
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/invite")
    await press_and_wait_edit(admin, "Педагог (школа)", timeout=10)
    await press_and_wait_edit(admin, KOSTROMA, timeout=10)
    assert "Страница 1 из 7" in (admin.last.text or "") and sum(len(r) for r in admin.last.buttons) <= 100
    await press_and_wait_edit(admin, "▶", timeout=10)
    await press_and_wait_edit(admin, "▶", timeout=10)
    assert "Страница 3 из 7" in (admin.last.text or "")
    school = school_labels(admin)[0]
    await press_and_wait_edit(admin, school, timeout=10)
    assert "Сколько человек смогут воспользоваться ссылкой?" in (admin.last.text or "")
    await press_and_wait_edit(admin, "1", timeout=10)
    assert f"Приглашение: педагог: {school}" in (admin.last.text or "")

    await send_and_wait(admin, "/broadcast", timeout=10)
    for label in (KOSTROMA, "Все", "Все классы"):
        await press_and_wait_edit(admin, label, timeout=10)
    assert (
        "Страница 1 из 7" in (admin.last.text or "")
        and "Все школы муниципалитета" in admin.last.button_labels
    )
    assert sum(len(r) for r in admin.last.buttons) <= 100
    await press_and_wait_edit(admin, "▶", timeout=10)
    assert (
        "Страница 2 из 7" in (admin.last.text or "")
        and "Все школы муниципалитета" in admin.last.button_labels
    )
    chosen = school_labels(admin)[-1]
    await press_and_wait_edit(admin, chosen, timeout=10)
    assert "Пришлите текст объявления" in (admin.last.text or "")
    await send_and_wait(admin, "Собрание в актовом зале", timeout=10)
    await admin.press("Нет")
    await admin.wait_for(lambda u: "Отправить?" in (u.last.text or ""), timeout=10)
    assert chosen in (admin.last.text or "")


async def test_invites_lists_25_invitations_a_page_at_a_time(capp, emulator, clock):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/help")
    kostroma = await municipality_id(capp)
    async with capp.sessions.begin() as session:
        creator = await session.scalar(select(User.id).where(User.telegram_id == ADMIN_ID))
        session.add_all(
            Invitation(code=f"code{n:02d}", role=Role.coordinator, municipality_id=kostroma, created_by=creator,
                       created_at=utcnow(), expires_at=utcnow() + timedelta(days=7), max_uses=1, uses=0)
            for n in range(25)
        )  # fmt: skip
    await send_and_wait(admin, "/invites")
    assert "Страница 1 из 3" in admin.last.text and "1. " in admin.last.text and "11. " not in admin.last.text
    assert len(admin.last.text) <= 4096 and "▶" in admin.last.button_labels
    await press_and_wait_edit(admin, "▶", timeout=10)
    assert "Страница 2 из 3" in admin.last.text and "\n\n11. " in admin.last.text
    assert "Отозвать №15" in admin.last.button_labels and "Отозвать №5" not in admin.last.button_labels
    await admin.press("Отозвать №15")
    assert "Отозвано" in (await admin.wait_callback_answer(timeout=10)).text
    revoked = await rows(capp, select(Invitation.code).where(Invitation.revoked_at.is_not(None)))
    assert revoked == [("code14",)]


async def test_an_admin_pages_through_130_municipalities(capp, emulator, clock):
    async with capp.sessions.begin() as session:
        session.add_all(
            Municipality(region="Тестовая область", name=f"Округ № {n:03d}") for n in range(100, 230)
        )
    admin = emulator.user(ADMIN_ID, language_code="ru")

    def districts(user: SimUser) -> list[str]:
        return [label for label in user.last.button_labels if label.startswith("Округ № ")]

    for command, after in (("/new_event", "Какой это вид?"), ("/broadcast", "Кто получит сообщение?")):
        await send_and_wait(admin, command)
        assert "Страница 1 из 7" in admin.last.text and sum(len(r) for r in admin.last.buttons) <= 100
        first = districts(admin)
        await press_and_wait_edit(admin, "▶", timeout=10)
        assert "Страница 2 из 7" in admin.last.text
        chosen = next(label for label in districts(admin) if label not in first)
        await press_and_wait_edit(admin, chosen, timeout=10)
        assert after in admin.last.text, command
        await send_and_wait(admin, "/cancel")
    await send_and_wait(admin, "/plan")
    assert "Страница 1 из 7" in admin.last.text
    await press_and_wait_edit(admin, "▶", timeout=10)
    assert "Страница 2 из 7" in admin.last.text
    count = len(admin.bot_messages)
    await admin.press(districts(admin)[0])
    await admin.wait_for(
        lambda u: len(u.bot_messages) >= count + 3 and u.last.document is not None, timeout=10
    )
    assert admin.last.document.file_name == "plan_template.csv"
