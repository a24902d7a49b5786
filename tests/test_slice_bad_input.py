"""Bad input in the slice gets a clear answer in Russian and changes nothing it should not."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from models import Event, Learner, Municipality, Rsvp, School, User, UserRole
from models.fsm import FsmRecord
from tests.conftest import ADMIN_ID
from tests.dbcheck import outbox_drained, rows, scalar
from tests.flows import CHUKHLOMA, SCHOOL_A, publish_event, send_and_wait, subscribe

FUTURE = (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(days=10)).strftime("%d.%m.%Y") + " 11:00"


async def _count(app, model) -> int:
    return int(await scalar(app, select(func.count()).select_from(model)))


async def test_text_where_a_button_is_expected(app, emulator):
    user = emulator.user(5001, language_code="ru")
    await send_and_wait(user, "/start")
    await user.press("✅ Согласен(на)")
    await user.wait_for(lambda u: (u.last.text or "").startswith("Кто вы?"))
    text = await send_and_wait(user, "Я мама ученика 5 класса")
    assert text.startswith("Пожалуйста, выберите вариант кнопкой.")
    assert "Кто вы?" in text
    assert [b.text for row in user.last.buttons for b in row] == ["Я ученик", "Я родитель"]
    assert await _count(app, UserRole) == 0
    # The dialog goes on from where it was.
    await user.press("Я родитель")
    await user.wait_for(lambda u: "Выберите муниципалитет" in (u.last.text or ""))


async def test_forged_and_stale_callbacks_change_nothing(app, emulator):
    user = emulator.user(5002, language_code="ru")
    await subscribe(user, "Я ученик", SCHOOL_A, 9)
    learners_before = await rows(app, select(Learner.grade, Learner.school_id))

    # A button of a finished step.
    await user.press(data="ob:grade:7", force=True)
    answer = await user.wait_callback_answer(timeout=10)
    assert answer.text == "Эта кнопка устарела. Отправьте /start, чтобы начать заново."
    # RSVP for an event that does not exist; an answer code no button has; garbage data.
    await user.press(data="rs:999999:go", force=True)
    assert (await user.wait_callback_answer(timeout=10)).text == "Этого мероприятия больше нет."
    await user.press(data="rs:1:yes", force=True)
    assert (await user.wait_callback_answer(timeout=10)).text == "Эта кнопка недействительна."
    await user.press(data="zz:' OR 1=1 --", force=True)
    assert (await user.wait_callback_answer(timeout=10)).text == "Эта кнопка устарела."
    assert await rows(app, select(Learner.grade, Learner.school_id)) == learners_before
    assert await _count(app, Rsvp) == 0


async def test_forged_grade_and_school_in_onboarding(app, emulator):
    user = emulator.user(5003, language_code="ru")
    await send_and_wait(user, "/start")
    await user.press("✅ Согласен(на)")
    await user.wait_for(lambda u: (u.last.text or "").startswith("Кто вы?"))
    await user.press(data="ob:role:7", force=True)
    assert "недействительна" in (await user.wait_callback_answer(timeout=10)).text
    await user.press("Я ученик")
    await user.wait_for(lambda u: "Выберите муниципалитет" in (u.last.text or ""))
    await user.press("город Кострома")
    await user.wait_for(lambda u: "Выберите школу" in (u.last.text or ""))
    # A school of another municipality (Chukhloma, while Kostroma was chosen), then one that does not exist.
    chukhloma_school = await scalar(
        app,
        select(School.id)
        .join(Municipality, Municipality.id == School.municipality_id)
        .where(Municipality.name == CHUKHLOMA)
        .limit(1),
    )
    assert chukhloma_school is not None
    for forged in (chukhloma_school, 999999):
        before = len(user.callback_answers)
        await user.press(data=f"ob:school:{forged}", force=True)
        answer = await user.wait_callback_answer(timeout=10)
        assert len(user.callback_answers) == before + 1
        assert answer.text == "Эта кнопка недействительна. Пожалуйста, выберите ещё раз.", forged
        assert "Выберите школу" in (user.last.text or ""), "the dialog stays at the school question"
        assert await _count(app, Learner) == 0 and await _count(app, UserRole) == 0
        dialog = await scalar(app, select(FsmRecord.data).where(FsmRecord.key.like("%:5003:%")))
        assert "school_id" not in (dialog or {}), dialog
    await user.press(SCHOOL_A)
    await user.wait_for(lambda u: "В каком вы классе?" in (u.last.text or ""))
    await user.press(data="ob:grade:12", force=True)
    assert "недействительна" in (await user.wait_callback_answer(timeout=10)).text
    await user.press(data="ob:grade:0", force=True)
    assert "недействительна" in (await user.wait_callback_answer(timeout=10)).text
    assert await _count(app, Learner) == 0


async def test_unknown_command_and_stray_text(app, emulator):
    user = emulator.user(5004, language_code="ru")
    assert await send_and_wait(user, "/launch_rockets") == "Я не знаю такой команды. Список команд — /help."
    assert "отправьте /start" in await send_and_wait(user, "привет")
    huge = "я" * 4096
    assert "отправьте /start" in await send_and_wait(user, huge)
    assert await scalar(app, select(User.consent_at).where(User.telegram_id == 5004)) is None


async def test_start_twice(app, emulator):
    user = emulator.user(5005, language_code="ru")
    await send_and_wait(user, "/start")
    text = await send_and_wait(user, "/start")  # again, mid-dialog: the same question, nothing stored
    assert "Вы согласны" in text
    await subscribe(user, "Я родитель", SCHOOL_A, 4)
    text = await send_and_wait(user, "/start")  # after registration: a summary, no second child
    assert text.startswith("С возвращением!")
    assert "ребёнок в 4 классе" in text
    assert await _count(app, Learner) == 1
    assert await _count(app, FsmRecord) == 0


async def test_privileged_commands_are_refused(app, emulator):
    user = emulator.user(5006, language_code="ru")
    await subscribe(user, "Я ученик", SCHOOL_A, 9)
    # Teachers may create events too, so the refusal names both roles; /plan is for coordinators alone.
    assert await send_and_wait(user, "/new_event") == "Эта команда доступна только педагогам и координаторам."
    assert await send_and_wait(user, "/events") == "Эта команда доступна только педагогам и координаторам."
    assert await send_and_wait(user, "/plan") == "Эта команда доступна только координаторам."
    assert await send_and_wait(user, "/stats") == "Статистика доступна только координаторам и педагогам."
    # A forged button of the coordinator's dialog.
    await user.press(data="ne:publish:yes", force=True)
    assert (await user.wait_callback_answer(timeout=10)).text == "Эта кнопка устарела."
    assert await _count(app, Event) == 0


async def test_coordinator_dialog_rejects_bad_values(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/new_event")
    await admin.press("город Кострома")
    await admin.wait_for(lambda u: "Какой это вид?" in (u.last.text or ""))
    assert "кнопкой выше" in await send_and_wait(admin, "открытый урок")
    await admin.press("День открытых дверей")  # on the dialog's message, above the reminder
    await admin.wait_for(lambda u: any("Введите название" in (m.text or "") for m in u.bot_messages))
    assert "слишком длинное" in await send_and_wait(admin, "Д" * 201)
    await send_and_wait(admin, "Встреча <b>с</b> инженерами & «ГРЭС»")
    assert "Не удалось разобрать дату" in await send_and_wait(admin, "завтра утром")
    assert "уже прошло" in await send_and_wait(admin, "01.01.2020 10:00")
    assert "Отменено" in await send_and_wait(admin, "/cancel")
    assert await _count(app, Event) == 0


async def test_html_in_title_is_shown_as_text(app, emulator):
    pupil = emulator.user(5007, language_code="ru")
    await subscribe(pupil, "Я ученик", SCHOOL_A, 9)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    title = "Встреча <b>с</b> инженерами & «ГРЭС» <script>"
    confirmation = await publish_event(admin, title=title, when=FUTURE)
    assert "Опубликовано" in confirmation
    await pupil.wait_for(lambda u: title in (u.last.text or ""), timeout=10)


async def test_blocked_user_is_marked_inactive_and_skipped(app, emulator):
    pupil = emulator.user(5008, language_code="ru")
    quitter = emulator.user(5009, language_code="ru")
    await subscribe(pupil, "Я ученик", SCHOOL_A, 9)
    await subscribe(quitter, "Я ученик", SCHOOL_A, 9)
    quitter.block()
    await emulator.wait_idle(timeout=10)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    confirmation = await publish_event(
        admin, title="Экскурсия на ГРЭС", when=FUTURE, kind="Экскурсия на предприятие"
    )
    assert "подписчикам: 1" in confirmation
    await pupil.wait_for(lambda u: "Экскурсия на ГРЭС" in (u.last.text or ""), timeout=10)
    await outbox_drained(app)
    assert await scalar(app, select(User.is_active).where(User.telegram_id == 5009)) is False
