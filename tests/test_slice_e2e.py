"""The first vertical slice, end to end through the Bot API emulator, in Russian:
subscribe → publish → announcement through the outbox → «Пойду» → /stats."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from models import Learner, Outbox, OutboxStatus, Role, Rsvp, RsvpStatus, User, UserRole
from tests.conftest import ADMIN_ID
from tests.dbcheck import outbox_drained, rows, scalar
from tests.flows import CHUKHLOMA, SCHOOL_A, SCHOOL_B, publish_event, send_and_wait, subscribe
from tests.flows_audience import become_teacher

FUTURE = (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(days=10)).strftime("%d.%m.%Y") + " 11:00"


async def test_start_asks_consent_with_buttons_in_russian(app, emulator):
    user = emulator.user(1001, first_name="Мария", language_code="ru")
    text = await send_and_wait(user, "/start")
    assert "Вы согласны на обработку этих данных?" in text
    assert "Имена не сохраняются" in text
    labels = [b.text for row in user.last.buttons for b in row]
    assert labels == ["✅ Согласен(на)", "Не согласен(на)"]
    # Before consent only the Telegram id is stored.
    stored = await rows(app, select(User.telegram_id, User.language, User.consent_at))
    assert stored == [(1001, None, None)]


async def test_parent_subscribes_with_buttons_only(app, emulator):
    parent = emulator.user(1002, first_name="Ольга", language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_B, 9)
    assert "Буду присылать мероприятия для вашего ребёнка: 9 класс" in parent.last.text
    learners = await rows(app, select(Learner.grade, Learner.is_self))
    assert learners == [(9, False)]
    roles = await rows(app, select(UserRole.role))
    assert roles == [(Role.parent,)]
    consent = await scalar(app, select(User.consent_at).where(User.telegram_id == 1002))
    assert consent is not None
    # Questions were asked in the parent's terms.
    history = " ".join(m.text or "" for m in parent.bot_messages)
    assert "Готово!" in history


async def test_student_and_teacher_subscribe(app, emulator):
    student = emulator.user(1003, language_code="ru")
    await subscribe(student, "Я ученик", SCHOOL_A, 10)
    assert "Буду присылать мероприятия для 10 класса" in student.last.text
    teacher = emulator.user(1004, language_code="ru")
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await become_teacher(admin, teacher, SCHOOL_A)
    assert "Теперь вы педагог: МБОУ «Гимназия № 1» г. Костромы" in teacher.last.text
    assert await scalar(app, select(func.count()).select_from(Learner)) == 1


async def test_declining_consent_stores_nothing(app, emulator):
    user = emulator.user(1005, language_code="ru")
    await send_and_wait(user, "/start")
    await user.press("Не согласен(на)")
    await user.wait_for(lambda u: "ничего не сохранено" in (u.last.text or ""))
    assert await scalar(app, select(User.consent_at).where(User.telegram_id == 1005)) is None


async def test_announcement_reaches_exactly_the_matching_subscribers(app, emulator):
    pupil = emulator.user(2001, language_code="ru")  # grade 9, Kostroma school A: matches
    parent = emulator.user(2002, language_code="ru")  # child in grade 10, school B: matches
    young = emulator.user(2003, language_code="ru")  # grade 5: outside 8–11
    elsewhere = emulator.user(2004, language_code="ru")  # grade 9 in another municipality
    teacher = emulator.user(2005, language_code="ru")  # the event is not for teachers
    await subscribe(pupil, "Я ученик", SCHOOL_A, 9)
    await subscribe(parent, "Я родитель", SCHOOL_B, 10)
    await subscribe(young, "Я ученик", SCHOOL_A, 5)
    await subscribe(elsewhere, "Я ученик", "МОУ Чухломская средняя школа", 9, municipality=CHUKHLOMA)
    await become_teacher(emulator.user(ADMIN_ID, language_code="ru"), teacher, SCHOOL_A)
    before = {u.id: len(u.bot_messages) for u in (pupil, parent, young, elsewhere, teacher)}

    admin = emulator.user(ADMIN_ID, language_code="ru")
    confirmation = await publish_event(admin, title="День открытых дверей в техникуме", when=FUTURE)
    assert "Опубликовано: «День открытых дверей в техникуме»" in confirmation
    assert "подписчикам: 2" in confirmation

    for user in (pupil, parent):
        await user.wait_for(lambda u: "День открытых дверей в техникуме" in (u.last.text or ""))
        card = user.last
        assert "Когда:" in card.text and "11:00" in card.text
        assert "Для кого: ученики, родители, 8–11 классы" in card.text
        assert [b.text for row in card.buttons for b in row][:3] == ["Пойду", "Возможно", "Не пойду"]
    await outbox_drained(app)
    for user in (young, elsewhere, teacher):
        assert len(user.bot_messages) == before[user.id], f"user {user.id} must not be notified"
    # It went through the durable outbox, one row per recipient, each sent once.
    sent = await rows(
        app, select(Outbox.chat_id, Outbox.status, Outbox.message_id).where(Outbox.kind == "announcement")
    )
    assert sorted(chat for chat, _, _ in sent) == [2001, 2002]
    assert all(status is OutboxStatus.sent and message_id for _, status, message_id in sent)


async def test_going_updates_the_card_and_stats_count_it(app, emulator):
    pupil = emulator.user(3001, language_code="ru")
    other = emulator.user(3002, language_code="ru")
    await subscribe(pupil, "Я ученик", SCHOOL_A, 9)
    await subscribe(other, "Я ученик", SCHOOL_B, 11)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await publish_event(admin, title="Профпроба «Электромонтёр»", when=FUTURE, kind="Профессиональная проба")
    await pupil.wait_for(lambda u: "Профпроба" in (u.last.text or ""))
    await other.wait_for(lambda u: "Профпроба" in (u.last.text or ""))

    card_id = pupil.last.message_id
    await pupil.press("Пойду")
    answer = await pupil.wait_callback_answer()
    assert answer.text == "Записал: Пойду"
    await pupil.wait_for(lambda u: "Ваш ответ: Пойду" in (u.last.text or ""))
    assert pupil.last.message_id == card_id, "the card is updated in place"
    assert pupil.last.buttons[0][0].text == "✅ Пойду"

    await other.press("Возможно")
    await other.wait_for(lambda u: "Ваш ответ: Возможно" in (u.last.text or ""))

    text = await send_and_wait(admin, "/stats")
    assert "Профпроба «Электромонтёр»" in text
    assert "Оповещено: 2 · Пойду: 1 · Возможно: 1 · Не пойду: 0" in text


async def test_changing_ones_mind_keeps_one_answer(app, emulator):
    pupil = emulator.user(3101, language_code="ru")
    await subscribe(pupil, "Я ученик", SCHOOL_A, 9)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await publish_event(admin, title="Ярмарка профессий", when=FUTURE, kind="Ярмарка / фестиваль профессий")
    await pupil.wait_for(lambda u: "Ярмарка профессий" in (u.last.text or ""))
    await pupil.press("Пойду")
    await pupil.wait_for(lambda u: "Ваш ответ: Пойду" in (u.last.text or ""))
    await pupil.press("✅ Пойду")  # a double tap on the same answer
    await pupil.wait_callback_answer()
    await pupil.press("Не пойду")
    await pupil.wait_for(lambda u: "Ваш ответ: Не пойду" in (u.last.text or ""))
    answers = await rows(app, select(Rsvp.status))
    assert answers == [(RsvpStatus.not_going,)]
