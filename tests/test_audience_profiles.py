"""Profiles end to end: a parent subscribed within 6 taps, two children in different schools, the ОВЗ
mark only with consent, changing and removing a child, a pupil changing grade; in Russian and English."""

from __future__ import annotations

from sqlalchemy import select

from models import Learner, Role, School, UserRole
from tests.dbcheck import rows
from tests.flows import CHUKHLOMA, KOSTROMA, SCHOOL_A, SCHOOL_B, press_and_wait_edit, send_and_wait, subscribe
from tests.flows_audience import labels

CHUKHLOMA_SCHOOL = "МОУ Чухломская средняя школа"


async def _learners(app, telegram_id: int) -> list[tuple[str, int, bool, bool]]:
    from models import User

    query = (
        select(School.name, Learner.grade, Learner.is_self, Learner.ovz)
        .join(School, School.id == Learner.school_id)
        .join(User, User.id == Learner.user_id)
        .where(User.telegram_id == telegram_id)
        .order_by(Learner.id)
    )
    return [tuple(r) for r in await rows(app, query)]


async def test_parent_is_subscribed_within_six_taps_of_start(app, emulator):
    parent = emulator.user(4001, language_code="ru")
    await send_and_wait(parent, "/start")
    for label in ("✅ Согласен(на)", "Я родитель", KOSTROMA, SCHOOL_B, "9"):
        await press_and_wait_edit(parent, label, timeout=10)
    assert "Готово! Буду присылать мероприятия для вашего ребёнка: 9 класс" in parent.last.text
    # What the parent really did, as the emulator saw it: the buttons pressed and the messages typed.
    presses = len(parent.callback_ids)
    typed = [m.text for m in parent.chat if not m.from_bot]
    assert typed == ["/start"]
    assert presses == 5 and presses + len(typed) <= 6
    # Every press was answered with a change of the same dialog message: no extra screen in between.
    assert len(parent.bot_messages) == 1, parent.dump()
    # Teachers are not self-selectable: the role question offers pupil and parent only.
    history = [m for m in parent.bot_messages]
    assert not any("Я педагог" in b.text for m in history for row in m.buttons for b in row)
    assert await _learners(app, 4001) == [(SCHOOL_B, 9, False, False)]
    # The optional ОВЗ question and a second child are offered, not required.
    assert labels(parent) == ["ОВЗ: указать особые потребности (необязательно)", "➕ Добавить ещё ребёнка"]


async def test_role_question_has_no_teacher_and_forged_teacher_code_is_refused(app, emulator):
    user = emulator.user(4002, language_code="ru")
    await send_and_wait(user, "/start")
    await press_and_wait_edit(user, "✅ Согласен(на)")
    assert labels(user) == ["Я ученик", "Я родитель"]
    await user.press(data="ob:role:3", force=True)  # the old «Я педагог» code
    answer = await user.wait_callback_answer(timeout=10)
    assert "недействительна" in answer.text
    assert await rows(app, select(UserRole.role)) == []


async def test_parent_with_two_children_in_different_schools(app, emulator):
    parent = emulator.user(4003, language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_A, 9)
    await press_and_wait_edit(parent, "➕ Добавить ещё ребёнка", timeout=10)
    assert "Выберите муниципалитет" in parent.last.text
    await press_and_wait_edit(parent, CHUKHLOMA)
    await press_and_wait_edit(parent, CHUKHLOMA_SCHOOL)
    await press_and_wait_edit(parent, "3")
    text = parent.last.text
    assert "Ребёнок добавлен: 3 класс, МОУ Чухломская средняя школа" in text
    assert "Ребёнок 1: 9 класс, МБОУ «Гимназия № 1» г. Костромы" in text
    assert "Ребёнок 2: 3 класс, МОУ Чухломская средняя школа" in text
    assert await _learners(app, 4003) == [(SCHOOL_A, 9, False, False), (CHUKHLOMA_SCHOOL, 3, False, False)]
    roles = await rows(app, select(UserRole.role))
    assert roles == [(Role.parent,)]


async def test_ovz_mark_is_stored_only_with_explicit_consent(app, emulator):
    parent = emulator.user(4004, language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_B, 7)
    await press_and_wait_edit(parent, "ОВЗ: указать особые потребности (необязательно)")
    text = parent.last.text
    assert "ограниченные возможности здоровья" in text
    assert "Отвечать необязательно" in text
    assert "согласны ли вы" in text
    assert (await _learners(app, 4004))[0][3] is False, "nothing is stored by asking"
    await press_and_wait_edit(parent, "Да, и я согласен(на) на её хранение")
    assert "Сохранено: отметка ОВЗ есть." in parent.last.text
    assert (
        "Ребёнок 1: 7 класс, МБОУ «Средняя общеобразовательная школа № 7» г. Костромы · ОВЗ"
        in parent.last.text
    )
    assert (await _learners(app, 4004))[0][3] is True
    # Withdrawing it from the profile forgets it.
    await press_and_wait_edit(parent, "✏️ Ребёнок 1")
    await press_and_wait_edit(parent, "ОВЗ (особые образовательные потребности)")
    await press_and_wait_edit(parent, "Нет или не хочу указывать")
    assert (await _learners(app, 4004))[0][3] is False


async def test_change_and_remove_a_child(app, emulator):
    parent = emulator.user(4005, language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_A, 5)
    text = await send_and_wait(parent, "/profile")
    assert "Ребёнок 1: 5 класс" in text
    await press_and_wait_edit(parent, "✏️ Ребёнок 1")
    await press_and_wait_edit(parent, "✏️ Изменить школу и класс")
    await press_and_wait_edit(parent, KOSTROMA)
    await press_and_wait_edit(parent, SCHOOL_B)
    await press_and_wait_edit(parent, "6")
    assert "Сохранено: 6 класс, МБОУ «Средняя общеобразовательная школа № 7» г. Костромы." in parent.last.text
    assert await _learners(app, 4005) == [(SCHOOL_B, 6, False, False)]
    await press_and_wait_edit(parent, "✏️ Ребёнок 1")
    await press_and_wait_edit(parent, "🗑 Удалить этого ребёнка")
    assert "Удалить ребёнка (6 класс" in parent.last.text
    await press_and_wait_edit(parent, "Да, удалить")
    assert "Удалено." in parent.last.text
    assert "Дети пока не добавлены." in parent.last.text
    assert await _learners(app, 4005) == []
    assert await rows(app, select(UserRole.role)) == [], "a parent without children is no longer a parent"


async def test_forged_learner_id_of_someone_else_changes_nothing(app, emulator):
    victim = emulator.user(4006, language_code="ru")
    attacker = emulator.user(4007, language_code="ru")
    await subscribe(victim, "Я родитель", SCHOOL_A, 9)
    await subscribe(attacker, "Я родитель", SCHOOL_B, 4)
    from models import User

    query = select(Learner.id).join(User, User.id == Learner.user_id).where(User.telegram_id == 4006)
    victim_child = (await rows(app, query))[0][0]
    for data in (f"pf:remove:{victim_child}:0", f"pf:ovz_set:{victim_child}:1", f"pf:edit:{victim_child}:0"):
        await attacker.press(data=data, force=True)
        answer = await attacker.wait_callback_answer(timeout=10)
        assert "устарела" in answer.text
    assert await _learners(app, 4006) == [(SCHOOL_A, 9, False, False)]


async def test_pupil_changes_own_grade(app, emulator):
    pupil = emulator.user(4008, language_code="ru")
    await subscribe(pupil, "Я ученик", SCHOOL_A, 8)
    text = await send_and_wait(pupil, "/profile")
    assert "Ученик: 8 класс, МБОУ «Гимназия № 1» г. Костромы" in text
    await press_and_wait_edit(pupil, "✏️ Изменить мою школу и класс")
    await press_and_wait_edit(pupil, KOSTROMA)
    await press_and_wait_edit(pupil, SCHOOL_A)
    await press_and_wait_edit(pupil, "9")
    assert await _learners(app, 4008) == [(SCHOOL_A, 9, True, False)]


async def test_text_instead_of_a_button_changes_nothing(app, emulator):
    parent = emulator.user(4009, language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_A, 9)
    await press_and_wait_edit(parent, "➕ Добавить ещё ребёнка")
    text = await send_and_wait(parent, "пятый класс")
    assert "Пожалуйста, выберите одну из кнопок выше" in text
    assert await _learners(app, 4009) == [(SCHOOL_A, 9, False, False)]


async def test_parent_in_english(app, emulator):
    parent = emulator.user(4010, language_code="en")
    text = await send_and_wait(parent, "/start")
    assert "Do you agree to the processing of these data?" in text
    await press_and_wait_edit(parent, "✅ I agree")
    await press_and_wait_edit(parent, "I am a parent")
    await press_and_wait_edit(parent, KOSTROMA)
    await press_and_wait_edit(parent, SCHOOL_A)
    await press_and_wait_edit(parent, "10")
    assert "Done! You will receive events for your child: grade 10" in parent.last.text
    await press_and_wait_edit(parent, "➕ Add another child")
    await press_and_wait_edit(parent, CHUKHLOMA)
    await press_and_wait_edit(parent, CHUKHLOMA_SCHOOL)
    await press_and_wait_edit(parent, "2")
    assert "Child added: grade 2, МОУ Чухломская средняя школа." in parent.last.text
    assert "Child 1: grade 10" in parent.last.text and "Child 2: grade 2" in parent.last.text
    await press_and_wait_edit(parent, "✏️ Child 2")
    await press_and_wait_edit(parent, "ОВЗ (special needs)")
    assert "special educational needs" in parent.last.text
    await press_and_wait_edit(parent, "Yes, and I agree to store it")
    assert "Saved: the ОВЗ mark is kept." in parent.last.text
    assert await _learners(app, 4010) == [(SCHOOL_A, 10, False, False), (CHUKHLOMA_SCHOOL, 2, False, True)]
