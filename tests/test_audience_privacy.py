"""152-ФЗ: /privacy explains; /forget removes personal data from every table (checked by querying the
database), keeping participation only as anonymous aggregates; a user who blocks the bot is inactive."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from models import (
    Base,
    Event,
    Feedback,
    FsmRecord,
    Invitation,
    Learner,
    Outbox,
    RoleChange,
    Rsvp,
    RsvpStatus,
    School,
    User,
)
from models.base import utcnow
from services.audience import matching_learners
from services.outbox import enqueue
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows, scalar
from tests.flows import (
    KOSTROMA,
    SCHOOL_A,
    SCHOOL_B,
    press_and_wait_edit,
    publish_event,
    send_and_wait,
    subscribe,
)
from tests.flows_audience import become_teacher, create_invite, labels, open_invite

FUTURE = (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(days=10)).strftime("%d.%m.%Y") + " 11:00"


async def _references_to(app, user_id: int) -> dict[str, int]:
    """Rows in any table whose foreign key points at the user."""
    found: dict[str, int] = {}
    async with app.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if any(fk.column.table.name == "users" for fk in column.foreign_keys):
                    n = await session.scalar(select(func.count()).select_from(table).where(column == user_id))
                    if n:
                        found[f"{table.name}.{column.name}"] = n
    return found


async def test_privacy_explains_what_is_kept(app, emulator):
    user = emulator.user(6000, language_code="ru")
    text = await send_and_wait(user, "/privacy")
    assert "152-ФЗ" in text and "Вы не давали согласия: я храню только ваш Telegram id." in text
    await subscribe(user, "Я родитель", SCHOOL_A, 9)
    text = await send_and_wait(user, "/privacy")
    assert "школу и класс, без имён" in text and "Вы дали согласие" in text and "/forget" in text
    english = emulator.user(6009, language_code="en")
    assert "What I keep and why" in await send_and_wait(english, "/privacy")


async def test_forget_removes_personal_data_from_every_table(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    person = emulator.user(6001, language_code="ru")
    # A parent of two (one with the ОВЗ mark), a teacher with a class, a coordinator who made an invitation.
    await subscribe(person, "Я родитель", SCHOOL_A, 9)
    await press_and_wait_edit(person, "ОВЗ: указать особые потребности (необязательно)")
    await press_and_wait_edit(person, "Да, и я согласен(на) на её хранение")
    await press_and_wait_edit(person, "➕ Добавить ребёнка")
    await press_and_wait_edit(person, KOSTROMA)
    await press_and_wait_edit(person, SCHOOL_B)
    await press_and_wait_edit(person, "10")
    await become_teacher(admin, person, SCHOOL_A)
    await press_and_wait_edit(person, "8")
    code = await create_invite(admin, role="Координатор (муниципалитет)", municipality=KOSTROMA)
    await open_invite(person, code)
    await create_invite(person, school=SCHOOL_B, municipality=None)
    # An answer to an event and feedback: these must stay as anonymous counts.
    await publish_event(admin, title="День открытых дверей в колледже", when=FUTURE)
    await person.wait_for(lambda u: "День открытых дверей в колледже" in (u.last.text or ""), timeout=10)
    await person.press("Пойду")
    await person.wait_for(lambda u: "Для кого этот ответ?" in (u.last.text or ""), timeout=10)
    await person.press(f"9 класс, {SCHOOL_A}")
    await person.wait_for(lambda u: f"9 класс, {SCHOOL_A}: Пойду" in (u.last.text or ""), timeout=10)
    user_id = await scalar(app, select(User.id).where(User.telegram_id == 6001))
    school_a = await scalar(app, select(School.id).where(School.name == SCHOOL_A))
    event_id = await scalar(app, select(Event.id))
    async with app.sessions.begin() as session:
        session.add(Feedback(event_id=event_id, user_id=user_id, respondent_role="parent", rating=5))
        await enqueue(
            session,
            key=f"later:{user_id}",
            chat_id=6001,
            user_id=user_id,
            kind="announcement",
            event_id=event_id,
            not_before=utcnow() + timedelta(days=1),
        )
    # A dialog left half-way (its state is stored).
    await send_and_wait(person, "/invite")
    assert await scalar(
        app, select(func.count()).select_from(FsmRecord).where(FsmRecord.key.like("%:6001:6001:%"))
    )
    before = await _references_to(app, user_id)
    assert {"learners.user_id", "user_roles.user_id", "teacher_classes.user_id", "rsvps.user_id"} <= set(
        before
    )
    rsvps_before = await rows(app, select(Rsvp.school_id, Rsvp.grade, Rsvp.ovz, Rsvp.status))
    pupils = await rows(app, select(Learner.id, Learner.grade).where(Learner.user_id == user_id))
    answered = [pid for pid, grade in pupils if grade == 9]
    assert len(pupils) == 2 and len(answered) == 1

    text = await send_and_wait(person, "/forget")
    assert "Удалить все ваши данные?" in text
    assert labels(person) == ["🗑 Да, удалить мои данные", "Нет, оставить"]
    await press_and_wait_edit(person, "🗑 Да, удалить мои данные")
    assert "Готово: ваши данные удалены." in person.last.text

    assert await _references_to(app, user_id) == {}
    assert await scalar(app, select(func.count()).where(User.telegram_id == 6001)) == 0
    assert await scalar(app, select(func.count()).where(Outbox.chat_id == 6001)) == 0
    assert await scalar(app, select(func.count()).where(FsmRecord.key.like("%:6001:%"))) == 0
    # Aggregates stay: the answers with their school/grade/ОВЗ copies, the feedback, the audit, the link.
    # The event has not happened yet: the forgotten «Пойду» gives its seat back (nobody is left to remind).
    withdrawn = [(school, grade, ovz, RsvpStatus.not_going) for school, grade, ovz, _ in rsvps_before]
    assert await rows(app, select(Rsvp.school_id, Rsvp.grade, Rsvp.ovz, Rsvp.status)) == withdrawn
    # The child who answered stays an anonymous pupil (school, grade, ОВЗ; nobody's), so reports count it
    # as before; the other child is gone. No audience reaches an anonymous pupil.
    assert await rows(app, select(Rsvp.user_id, Rsvp.learner_id)) == [(None, answered[0])]
    assert await rows(
        app, select(Learner.id, Learner.user_id, Learner.school_id, Learner.grade, Learner.ovz)
    ) == [(answered[0], None, school_a, 9, True)]
    async with app.sessions() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        assert (await session.execute(matching_learners(event))).all() == []
    assert await rows(app, select(Feedback.rating, Feedback.user_id)) == [(5, None)]
    assert (
        await scalar(app, select(func.count()).select_from(RoleChange).where(RoleChange.user_id.is_(None)))
        == 3
    )
    assert (
        await scalar(app, select(func.count()).select_from(Invitation).where(Invitation.created_by.is_(None)))
        == 1
    )
    # Coming back starts from scratch, with consent.
    assert "Вы согласны на обработку этих данных?" in await send_and_wait(person, "/start")


async def test_forget_can_be_declined(app, emulator):
    user = emulator.user(6002, language_code="ru")
    await subscribe(user, "Я ученик", SCHOOL_A, 7)
    await send_and_wait(user, "/forget")
    await press_and_wait_edit(user, "Нет, оставить")
    assert user.last.text == "Ничего не удалено."
    assert await scalar(app, select(func.count()).where(User.telegram_id == 6002)) == 1


async def test_forget_in_english(app, emulator):
    user = emulator.user(6003, language_code="en")
    await send_and_wait(user, "/start")
    await press_and_wait_edit(user, "✅ I agree")
    await press_and_wait_edit(user, "I am a pupil")
    await press_and_wait_edit(user, KOSTROMA)
    await press_and_wait_edit(user, SCHOOL_A)
    await press_and_wait_edit(user, "11")
    assert "Delete all your data?" in await send_and_wait(user, "/forget")
    await press_and_wait_edit(user, "🗑 Yes, delete my data")
    assert "Done: your data have been deleted." in user.last.text
    assert await scalar(app, select(func.count()).where(User.telegram_id == 6003)) == 0


async def test_blocked_user_is_marked_inactive_and_gets_nothing(app, emulator):
    pupil = emulator.user(6004, language_code="ru")
    await subscribe(pupil, "Я ученик", SCHOOL_A, 9)
    pupil.block()
    for _ in range(200):
        if await scalar(app, select(User.is_active).where(User.telegram_id == 6004)) is False:
            break
        await asyncio.sleep(0.05)
    assert await scalar(app, select(User.is_active).where(User.telegram_id == 6004)) is False
    admin = emulator.user(ADMIN_ID, language_code="ru")
    confirmation = await publish_event(admin, title="Ярмарка профессий", when=FUTURE)
    assert "подписчикам: 0" in confirmation
    assert await scalar(app, select(func.count()).select_from(Outbox).where(Outbox.chat_id == 6004)) == 0
