"""Editing a published event in /events: title and description (cards show them from then on), the number
of seats (fewer than those going is refused; more seats go to the wait list in order), forged buttons and
bad input — through the emulator, on a movable clock."""

# ruff: noqa: F811  (the fixtures `capp` and `clock` are imported from tests.flows_events)
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import EventKind, Outbox, Role, Rsvp, RsvpStatus, User
from sandbox import SimUser
from services.events import EventError, edit_details, set_capacity, set_deadline
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows
from tests.flows_events import (  # noqa: F401  (fixtures)
    SCHOOL_A,
    capp,
    clock,
    count_containing,
    drained,
    event_row,
    local,
    person,
    publish,
    pupil,
)


async def say(user: SimUser, text: str, fragment: str) -> str:
    """Send a message and wait for a bot message containing `fragment`; returns its text."""
    seen = len(user.bot_messages)
    await user.send(text)
    await user.wait_for(lambda u: any(fragment in m.content for m in u.bot_messages[seen:]), timeout=10)
    return next(m.content for m in user.bot_messages[seen:] if fragment in m.content)


async def open_event(admin: SimUser, title_fragment: str) -> None:
    await say(admin, "/events", "Ваши предстоящие мероприятия")
    await admin.press(next(label for label in admin.last.button_labels if title_fragment in label))
    await admin.wait_for(lambda u: "🎟 Число мест" in u.last.button_labels, timeout=10)


async def admin_user(emulator) -> SimUser:
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await say(admin, "/help", "/events")
    return admin


async def test_edit_title_and_description_shows_on_cards(capp, emulator, clock):
    kid = emulator.user(6001, language_code="ru")
    await pupil(capp, kid, 9)
    admin = await admin_user(emulator)
    event_id = await publish(capp, title="Ярмарка профессий", starts_at=local(5, 12, base=clock.now()))
    await kid.wait_for(lambda u: "Ярмарка профессий" in (u.last.text or ""), timeout=10)

    await open_event(admin, "Ярмарка профессий")
    await admin.press("✏️ Название")
    await admin.wait_for(lambda u: "Введите новое название" in (u.last.text or ""), timeout=10)
    assert "слишком длинное" in await say(admin, "Я" * 201, "слишком длинное")
    assert "пустое" in await say(admin, "   ", "пустое")
    await say(admin, "Ярмарка <b>рабочих</b> профессий", "Сохранено")
    await admin.wait_for(lambda u: "Ярмарка <b>рабочих</b> профессий" in (u.last.text or ""), timeout=10)
    assert "🎟 Число мест" in admin.last.button_labels  # the card again, with the organiser's buttons

    await admin.press("📝 Описание")
    await admin.wait_for(lambda u: "Введите новое описание" in (u.last.text or ""), timeout=10)
    assert "слишком длинное" in await say(admin, "а" * 3001, "слишком длинное")
    await say(admin, "Стенды 20 предприятий & <i>мастер-классы</i>", "Сохранено")
    await admin.wait_for(lambda u: "<i>мастер-классы</i>" in (u.last.text or ""), timeout=10)

    # The registration deadline: not after the start; then a good one, shown on the card.
    await admin.press("⏳ Срок записи")
    await admin.wait_for(lambda u: "До начала" in u.last.button_labels, timeout=10)
    late = local(6, 12, base=clock.now()).strftime("%d.%m.%Y %H:%M")
    assert "не позже начала" in await say(admin, late, "Срок записи должен")
    assert "ДД.ММ.ГГГГ" in await say(admin, "завтра", "ДД.ММ.ГГГГ")
    deadline = local(4, 18, base=clock.now())
    await say(admin, deadline.strftime("%d.%m.%Y %H:%M"), "Сохранено")
    await admin.wait_for(lambda u: "⏳ Запись до" in (u.last.text or ""), timeout=10)

    event = await event_row(capp, event_id)
    assert event.registration_deadline == deadline
    assert event.title == "Ярмарка <b>рабочих</b> профессий"
    assert event.description == "Стенды 20 предприятий & <i>мастер-классы</i>"
    assert event.version == 1, "a new title or description is no change of time or place"
    # The pupil's card, opened in full, shows the new title and description.
    await kid.press("Подробнее")
    await kid.wait_for(lambda u: "Ярмарка <b>рабочих</b> профессий" in (u.last.text or ""), timeout=10)
    assert "Стенды 20 предприятий & <i>мастер-классы</i>" in kid.last.text
    await drained(capp)
    assert await rows(capp, select(Outbox.kind).where(Outbox.kind == "event_changed")) == []


async def test_seats_lower_refused_raise_offers_the_wait_list_in_order(capp, emulator, clock):
    first, second, third, fourth = (emulator.user(i, language_code="ru") for i in (6101, 6102, 6103, 6104))
    for user in (first, second, third, fourth):
        await pupil(capp, user, 9)
    admin = await admin_user(emulator)
    event_id = await publish(
        capp, title="Профпроба «Повар»", starts_at=local(6, 14, base=clock.now()),
        kind=EventKind.profession_trial, capacity=2,
    )  # fmt: skip
    for user in (first, second, third, fourth):
        await user.wait_for(lambda u: "Профпроба" in (u.last.text or ""), timeout=10)
        await user.press("Пойду")
        await user.wait_callback_answer(timeout=10)

    await open_event(admin, "Профпроба")
    await admin.press("🎟 Число мест")
    await admin.wait_for(lambda u: "Введите новое число мест" in (u.last.text or ""), timeout=10)
    assert "занято: 2" in admin.last.text
    # Bad input: text, zero, negative; then fewer seats than are taken.
    assert "целым числом" in await say(admin, "много", "целым числом")
    for bad in ("0", "-5"):
        assert "от 1 до 100000" in await say(admin, bad, "от 1 до 100000")
    refused = await say(admin, "1", "Уже идут")
    assert "Уже идут 2 чел." in refused
    assert (await event_row(capp, event_id)).capacity == 2

    # Three seats: the first on the wait list (the third to answer) is offered the seat, once.
    await say(admin, "3", "Сохранено: мест — 3")
    await third.wait_for(lambda u: "Для вас освободилось место" in (u.last.text or ""), timeout=10)
    assert third.last.button_labels == ["✅ Подтвердить", "Отказаться"]
    await drained(capp)
    assert count_containing(fourth, "освободилось место") == 0
    assert count_containing(third, "освободилось место") == 1
    statuses = dict(await rows(capp, select(Rsvp.user_id, Rsvp.status).order_by(Rsvp.id)))
    assert list(statuses.values()) == [
        RsvpStatus.going, RsvpStatus.going, RsvpStatus.offered, RsvpStatus.waitlisted
    ]  # fmt: skip

    # No limit: everyone still waiting is offered a seat.
    await open_event(admin, "Профпроба")
    await admin.press("🎟 Число мест")
    await admin.wait_for(lambda u: "Без ограничений" in u.last.button_labels, timeout=10)
    await admin.press("Без ограничений")
    await admin.wait_for(lambda u: "не ограничено" in (u.last.text or ""), timeout=10)
    await fourth.wait_for(lambda u: "Для вас освободилось место" in (u.last.text or ""), timeout=10)
    assert (await event_row(capp, event_id)).capacity is None
    await drained(capp)
    assert count_containing(third, "освободилось место") == 1
    assert count_containing(fourth, "освободилось место") == 1


async def test_forged_edits_are_refused_and_change_nothing(capp, emulator, clock):
    parent = emulator.user(6201, language_code="ru")
    await person(capp, parent, Role.parent, [(SCHOOL_A, 9)])
    teacher = emulator.user(6202, language_code="ru")
    await person(capp, teacher, Role.teacher)
    waiting = emulator.user(6203, language_code="ru")
    await pupil(capp, waiting, 9)
    event_id = await publish(
        capp, title="Экскурсия в депо", starts_at=local(4, 12, base=clock.now()), capacity=1, kind="excursion"
    )
    await waiting.wait_for(lambda u: "Экскурсия в депо" in (u.last.text or ""), timeout=10)
    for user in (parent, teacher):
        await user.press(data=f"me:{event_id}:seats_none", force=True)
        answer = await user.wait_callback_answer(timeout=10)
        assert answer.text, "a forged button gets a polite refusal"
        await user.press(data=f"me:{event_id}:title", force=True)
        await user.wait_callback_answer(timeout=10)
    # The teacher (not the organiser of a municipal event) is told plainly; a typed title goes nowhere.
    assert "не можете" in answer.text
    # No dialog was opened: the typed title is just text the bot does not take as an answer.
    assert "Я понимаю кнопки и команды" in await say(
        teacher, "Взломанное название", "Я понимаю кнопки и команды"
    )
    event = await event_row(capp, event_id)
    assert (event.title, event.capacity) == ("Экскурсия в депо", 1)


async def test_services_recheck_the_organisers_right(capp, emulator, clock):
    teacher = emulator.user(6301, language_code="ru")
    teacher_id = await person(capp, teacher, Role.teacher)
    event_id = await publish(
        capp, title="Форум «Профи»", starts_at=local(4, 12, base=clock.now()), capacity=5
    )
    async with capp.sessions() as session:
        user = await session.get(User, teacher_id)
        assert user is not None
        for attempt in (
            edit_details(session, user, event_id, clock.now(), title="Чужое"),
            set_capacity(session, user, event_id, None, clock.now()),
            set_deadline(session, user, event_id, None, clock.now()),
        ):
            with pytest.raises(EventError) as refused:
                await attempt
            assert refused.value.code == "forbidden"
        await session.rollback()
    event = await event_row(capp, event_id)
    assert (event.title, event.capacity) == ("Форум «Профи»", 5)


async def test_report_button_on_the_card(capp, emulator, clock):
    """«📊 Отчёт» on the organiser's card sends the event's report with its chart, as `/stats <event>`; the
    same button forged by a parent gets a polite refusal and nothing else."""
    kid = emulator.user(6401, language_code="ru")
    await pupil(capp, kid, 9)
    parent = emulator.user(6402, language_code="ru")
    await person(capp, parent, Role.parent, [(SCHOOL_A, 9)])
    admin = await admin_user(emulator)
    event_id = await publish(capp, title="День открытых дверей", starts_at=local(5, 12, base=clock.now()))
    await kid.wait_for(lambda u: "День открытых дверей" in (u.last.text or ""), timeout=10)
    await kid.press("Пойду")
    await kid.wait_for(lambda u: any("Ваш ответ: Пойду" in m.content for m in u.bot_messages), timeout=10)

    await open_event(admin, "День открытых дверей")
    before = len(admin.bot_messages)
    await admin.press("📊 Отчёт")
    await admin.wait_for(lambda u: any(m.photo for m in u.bot_messages[before:]), timeout=10)
    report = next(m.content for m in admin.bot_messages[before:] if "Отчёт по мероприятию" in m.content)
    assert f"№{event_id}" in report and "День открытых дверей" in report
    assert (
        "📥 Список участников (XLSX)"
        in next(m for m in admin.bot_messages[before:] if "Отчёт по мероприятию" in m.content).button_labels
    )

    seen = len(parent.bot_messages)
    await parent.press(data=f"er:{event_id}", force=True)
    answer = await parent.wait_callback_answer(timeout=10)
    assert "Среди доступных вам мероприятий нет" in (answer.text or "")
    await parent.press(data="er:x", force=True)  # not even a number
    await parent.wait_callback_answer(timeout=10)
    assert len(parent.bot_messages) == seen


async def test_change_of_place_reaches_everyone_signed_up_once(capp, emulator, clock):
    going, maybe, waiting, no = (emulator.user(i, language_code="ru") for i in (6401, 6402, 6403, 6404))
    for user in (going, maybe, waiting, no):
        await pupil(capp, user, 9)
    admin = await admin_user(emulator)
    event_id = await publish(capp, title="Мастер-класс «Кондитер»", starts_at=local(5, 12, base=clock.now()),
                             venue="Колледж, ауд. 12", capacity=1, kind=EventKind.master_class)  # fmt: skip
    for user, label in ((going, "Пойду"), (maybe, "Возможно"), (waiting, "Пойду"), (no, "Не пойду")):
        await user.wait_for(lambda u: "Кондитер" in (u.last.text or ""), timeout=10)
        await user.press(label)
        await user.wait_callback_answer(timeout=10)
    assert await rows(capp, select(Rsvp.status).order_by(Rsvp.id)) == [
        (RsvpStatus.going,), (RsvpStatus.maybe,), (RsvpStatus.waitlisted,), (RsvpStatus.not_going,)
    ]  # fmt: skip

    await open_event(admin, "Кондитер")
    await admin.press("📍 Изменить место")
    await admin.wait_for(lambda u: "Введите новое место" in (u.last.text or ""), timeout=10)
    assert "3 чел." in await say(admin, "Кулинарная студия, ул. Советская, 5", "Сохранено")
    for user in (going, maybe, waiting):
        await user.wait_for(lambda u: "Мероприятие изменилось" in (u.last.text or ""), timeout=10)
        assert "Кулинарная студия, ул. Советская, 5" in user.last.text
    await drained(capp)
    for user in (going, maybe, waiting):
        assert count_containing(user, "Мероприятие изменилось") == 1
    assert count_containing(no, "изменилось") == 0
    event = await event_row(capp, event_id)
    assert (event.venue, event.version) == ("Кулинарная студия, ул. Советская, 5", 2)


async def test_a_started_event_cannot_be_moved_or_get_a_new_place(capp, emulator, clock):
    kid = emulator.user(6501, language_code="ru")
    await pupil(capp, kid, 9)
    admin = await admin_user(emulator)
    start = local(2, 12, base=clock.now())
    event_id = await publish(capp, title="Квест по профессиям", starts_at=start, venue="Школа № 1")
    await kid.wait_for(lambda u: "Квест по профессиям" in (u.last.text or ""), timeout=10)
    await kid.press("Пойду")
    await kid.wait_callback_answer(timeout=10)
    # The organiser opens the dialogs before the start and answers after it.
    await open_event(admin, "Квест")
    await admin.press("📍 Изменить место")
    await admin.wait_for(lambda u: "Введите новое место" in (u.last.text or ""), timeout=10)
    clock.advance(start + timedelta(minutes=5) - clock.now())
    assert "нельзя изменить" in await say(admin, "Другое место", "нельзя изменить")
    clock.advance(-timedelta(minutes=10))
    await open_event(admin, "Квест")
    await admin.press("🗓 Перенести")
    await admin.wait_for(lambda u: "ДД.ММ.ГГГГ ЧЧ:ММ" in (u.last.text or ""), timeout=10)
    clock.advance(timedelta(minutes=10))
    later = local(3, 12, base=start).strftime("%d.%m.%Y %H:%M")
    assert "нельзя изменить" in await say(admin, later, "нельзя изменить")
    event = await event_row(capp, event_id)
    assert (event.starts_at, event.venue, event.version) == (start, "Школа № 1", 1)
    await drained(capp)
    assert await rows(capp, select(Outbox.kind).where(Outbox.kind == "event_changed")) == []
    assert count_containing(kid, "изменилось") == 0
