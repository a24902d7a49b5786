"""Announcement to exactly the right people, one tap sign-up, a parent choosing the child, the wait list
with promotion and expiry, /my with cancel, «Подробнее» and the .ics file — through the emulator."""

# ruff: noqa: F811  (the fixtures `capp` and `clock` are imported from tests.flows_events)
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import EventKind, Organisation, OrganisationType, Outbox, Role, Rsvp, RsvpStatus
from tests.dbcheck import rows
from tests.flows import SCHOOL_A, SCHOOL_B
from tests.flows_events import (  # noqa: F401  (fixtures)
    advance,
    capp,
    clock,
    count_containing,
    drained,
    local,
    municipality_id,
    person,
    publish,
    pupil,
    run_timers,
)


async def test_announcement_names_both_children_and_skips_the_uninterested(capp, emulator, clock):
    parent = emulator.user(4001, language_code="ru")
    picky = emulator.user(4002, language_code="ru")  # grade 9 but only interested in contests
    young = emulator.user(4003, language_code="ru")
    await person(capp, parent, Role.parent, [(SCHOOL_A, 9), (SCHOOL_B, 10)])
    await pupil(capp, picky, 9, interests=["contest"])
    await pupil(capp, young, 5)
    before = {u.id: len(u.bot_messages) for u in (parent, picky, young)}

    await publish(
        capp, title="День открытых дверей <b>техникума</b>", starts_at=local(5, 15, base=clock.now())
    )
    await parent.wait_for(lambda u: "День открытых дверей" in (u.last.text or ""), timeout=10)
    card = parent.last
    assert "<b>техникума</b>" in card.text, "HTML in the title is shown as text, not markup"
    assert "Касается: 9 класс, МБОУ «Гимназия № 1» г. Костромы; 10 класс, МБОУ «Средняя" in card.text
    assert card.button_labels == ["Пойду", "Возможно", "Не пойду", "Подробнее", "📅 Добавить в календарь"]
    await drained(capp)
    assert len(parent.bot_messages) == before[parent.id] + 1, "one message for both children"
    for other in (picky, young):
        assert len(other.bot_messages) == before[other.id], f"user {other.id} must not be notified"

    # «Пойду» asks whom; the answer is recorded for that child only and the card updates in place.
    card_id = card.message_id
    await parent.press("Пойду")
    await parent.wait_for(lambda u: "Для кого этот ответ?" in (u.last.text or ""), timeout=10)
    assert parent.last.button_labels == [
        "9 класс, МБОУ «Гимназия № 1» г. Костромы",
        "10 класс, МБОУ «Средняя общеобразовательная школа № 7» г. Костромы",
        "Я сам(а)",  # the open day is for parents too
        "« Назад",
    ]
    await parent.press("10 класс, МБОУ «Средняя общеобразовательная школа № 7» г. Костромы")
    await parent.wait_for(lambda u: "Ваши ответы:" in (u.last.text or ""), timeout=10)
    assert parent.last.message_id == card_id
    assert "10 класс, МБОУ «Средняя общеобразовательная школа № 7» г. Костромы: Пойду" in parent.last.text
    stored = await rows(capp, select(Rsvp.grade, Rsvp.status, Rsvp.respondent_role))
    assert stored == [(10, RsvpStatus.going, "parent")]

    # A forged target (a pupil that is not theirs) changes nothing.
    await parent.press(data="rf:1:go:999", force=True)
    answer = await parent.wait_callback_answer(timeout=10)
    assert answer.text == "Это мероприятие не для вашего профиля."
    assert await rows(capp, select(Rsvp.grade)) == [(10,)]

    # /my lists it with a cancel button; cancelling works.
    await parent.send("/my")
    await parent.wait_for(lambda u: "Мои ближайшие мероприятия" in (u.last.text or ""), timeout=10)
    assert "10 класс" in parent.last.text and "Пойду" in parent.last.text
    await parent.press("✖ Отменить 1")
    await parent.wait_for(lambda u: "У вас нет предстоящих мероприятий" in (u.last.text or ""), timeout=10)
    assert await rows(capp, select(Rsvp.status)) == [(RsvpStatus.not_going,)]


async def test_parent_meeting_offers_myself(capp, emulator, clock):
    parent = emulator.user(4101, language_code="ru")
    await person(capp, parent, Role.parent, [(SCHOOL_A, 9)])
    await publish(
        capp, title="Родительское собрание", starts_at=local(4, 18, base=clock.now()), kind=EventKind.parent_meeting,
        for_students=False, for_parents=True,
    )  # fmt: skip
    await parent.wait_for(lambda u: "Родительское собрание" in (u.last.text or ""), timeout=10)
    await parent.press("Пойду")
    await parent.wait_for(lambda u: "Для кого этот ответ?" in (u.last.text or ""), timeout=10)
    assert "Я сам(а)" in parent.last.button_labels
    await parent.press("Я сам(а)")
    await parent.wait_for(lambda u: "я сам(а): Пойду" in (u.last.text or ""), timeout=10)
    assert await rows(capp, select(Rsvp.learner_id, Rsvp.status)) == [(None, RsvpStatus.going)]


async def test_wait_list_promotion_confirmation_and_expiry(capp, emulator, clock):
    first, second, third = (emulator.user(i, language_code="ru") for i in (4201, 4202, 4203))
    for user in (first, second, third):
        await pupil(capp, user, 9)
    await publish(
        capp, title="Профпроба «Электромонтёр»", starts_at=local(6, 14, base=clock.now()),
        kind=EventKind.profession_trial, capacity=1,
    )  # fmt: skip
    for user in (first, second, third):
        await user.wait_for(lambda u: "Осталось мест: 1" in (u.last.text or ""), timeout=10)

    await first.press("Пойду")
    assert (await first.wait_callback_answer(timeout=10)).text == "Записал: Пойду"
    await second.press("Пойду")
    answer = await second.wait_callback_answer(timeout=10)
    assert answer.text.startswith("Мест нет: вы в листе ожидания, место 1.")
    await second.wait_for(lambda u: "в листе ожидания, место 1" in (u.last.text or ""), timeout=10)
    await third.press("Пойду")
    assert "место 2" in (await third.wait_callback_answer(timeout=10)).text
    await third.press("Пойду")  # a double tap keeps the place in line
    assert "место 2" in (await third.wait_callback_answer(timeout=10)).text

    # The first gives up the seat: the second is offered it, with a time to confirm.
    await first.press("Не пойду")
    await first.wait_callback_answer(timeout=10)
    await second.wait_for(lambda u: "Для вас освободилось место" in (u.last.text or ""), timeout=10)
    assert second.last.button_labels == ["✅ Подтвердить", "Отказаться"]
    assert count_containing(third, "освободилось место") == 0

    # The second does not confirm in time: the seat passes to the third.
    await advance(capp, clock, timedelta(hours=20, minutes=30))  # 08:30 next day: offer expired, not night
    counts = await run_timers(capp)
    assert counts["expired_offers"] == 1
    await second.wait_for(lambda u: "Время подтверждения места" in (u.last.text or ""), timeout=10)
    await third.wait_for(lambda u: "Для вас освободилось место" in (u.last.text or ""), timeout=10)
    await second.press("✅ Подтвердить", message_id=next(
        m.message_id for m in second.bot_messages if "освободилось место" in m.content
    ))  # fmt: skip
    assert "время подтверждения истекло" in (await second.wait_callback_answer(timeout=10)).text
    await third.press("✅ Подтвердить")
    await third.wait_for(lambda u: "Место за вами" in (u.last.text or ""), timeout=10)

    statuses = dict(await rows(capp, select(Rsvp.user_id, Rsvp.status).order_by(Rsvp.id)))
    assert sorted(s.value for s in statuses.values()) == ["cancelled", "going", "not_going"]
    # Running the timers again sends nothing new.
    seen = (len(second.bot_messages), len(third.bot_messages))
    await run_timers(capp)
    await drained(capp)
    assert (len(second.bot_messages), len(third.bot_messages)) == seen
    assert count_containing(third, "Место за вами") == 1
    assert count_containing(second, "Время подтверждения места") == 1


async def test_cancel_in_my_on_a_full_event_offers_the_seat_to_the_first_in_line(capp, emulator, clock):
    first, second, third = (emulator.user(i, language_code="ru") for i in (4211, 4212, 4213))
    for user in (first, second, third):
        await pupil(capp, user, 9)
    await publish(capp, title="Профпроба «Сварщик»", starts_at=local(6, 14, base=clock.now()),
                  kind=EventKind.profession_trial, capacity=1)  # fmt: skip
    for user in (first, second, third):
        await user.wait_for(lambda u: "Сварщик" in (u.last.text or ""), timeout=10)
        await user.press("Пойду")
        await user.wait_callback_answer(timeout=10)
    assert await rows(capp, select(Rsvp.status).order_by(Rsvp.id)) == [
        (RsvpStatus.going,), (RsvpStatus.waitlisted,), (RsvpStatus.waitlisted,)
    ]  # fmt: skip
    await first.send("/my")
    await first.wait_for(lambda u: "Мои ближайшие мероприятия" in (u.last.text or ""), timeout=10)
    assert "Профпроба «Сварщик»" in first.last.text and "Пойду" in first.last.text
    await first.press("✖ Отменить 1")
    assert "Запись отменена" in (await first.wait_callback_answer(timeout=10)).text
    await first.wait_for(lambda u: "У вас нет предстоящих мероприятий" in (u.last.text or ""), timeout=10)
    await second.wait_for(lambda u: "Для вас освободилось место" in (u.last.text or ""), timeout=10)
    assert second.last.button_labels == ["✅ Подтвердить", "Отказаться"]
    await drained(capp)
    assert count_containing(third, "освободилось место") == 0
    assert await rows(capp, select(Rsvp.status).order_by(Rsvp.id)) == [
        (RsvpStatus.not_going,), (RsvpStatus.offered,), (RsvpStatus.waitlisted,)
    ]  # fmt: skip


async def test_my_shows_the_title_as_typed(capp, emulator, clock):
    user = emulator.user(4221, language_code="ru")
    await pupil(capp, user, 9)
    title = "Профи &amp; <b>Ко</b> & Co"
    await publish(capp, title=title, starts_at=local(4, 12, base=clock.now()))
    await user.wait_for(lambda u: title in (u.last.text or ""), timeout=10)
    await user.press("Пойду")
    await user.wait_callback_answer(timeout=10)
    await user.send("/my")
    await user.wait_for(lambda u: "Мои ближайшие мероприятия" in (u.last.text or ""), timeout=10)
    assert f"1. {title}" in user.last.text
    assert any(e.get("type") == "bold" for e in user.last.entities)


async def test_details_and_calendar_file(capp, emulator, clock):
    user = emulator.user(4301, language_code="ru")
    await pupil(capp, user, 10)
    long_text = "Подробная программа. " * 40
    await publish(capp, title="Ярмарка профессий", starts_at=local(3, 11, base=clock.now()), description=long_text,
                  venue="ДК «Кострома»")  # fmt: skip
    await user.wait_for(lambda u: "Ярмарка профессий" in (u.last.text or ""), timeout=10)
    assert user.last.text.endswith("…")
    await user.press("Подробнее")
    await user.wait_for(lambda u: (u.last.text or "").rstrip().endswith("Подробная программа."), timeout=10)
    await user.press("📅 Добавить в календарь")
    await user.wait_for(lambda u: u.last.document is not None, timeout=10)
    document = user.last.document
    assert document.file_name.endswith(".ics")
    body = document.data.decode()
    assert "BEGIN:VEVENT" in body and "SUMMARY:Ярмарка профессий" in body
    assert "LOCATION:ДК «Кострома»" in body


async def test_details_at_every_maximum_length_fit_one_message(capp, emulator, clock):
    """Title 200, place 300, link 500, host 300 and description 3000 characters (with & and < that HTML
    escapes): «Подробнее» still arrives, in one message, the description cut with «…»."""
    user = emulator.user(4302, language_code="ru")
    await pupil(capp, user, 10)
    async with capp.sessions.begin() as session:
        host = Organisation(
            municipality_id=await municipality_id(capp), name="Х" * 300, type=OrganisationType.college
        )
        session.add(host)
        await session.flush()
        host_id = host.id
    title = ("Фестиваль <b> & «Профи» " * 10)[:200]
    description = "Начало описания. " + "Программа & <план> дня; " * 200
    description = description[:2999] + "Ω"
    start = local(3, 11, base=clock.now())
    await publish(capp, title=title, starts_at=start, description=description, venue="М" * 300,
                  online_url="https://example.org/" + "a" * 480, organisation_id=host_id, capacity=100_000,
                  registration_deadline=start - timedelta(hours=1), ends_at=start + timedelta(hours=3),
                  ovz_suitable=True, grade_min=10, grade_max=10)  # fmt: skip
    assert len(title) == 200 and len(description) == 3000
    await user.wait_for(lambda u: title in (u.last.text or ""), timeout=10)
    card = user.last.message_id
    await user.press("Подробнее", message_id=card)
    await user.wait_callback_answer(timeout=10)
    await user.wait_for(lambda u: u.last.message_id != card and title in (u.last.text or ""), timeout=10)
    full = user.last.text
    assert len(full.encode("utf-16-le")) // 2 <= 4096
    assert "М" * 300 in full and "a" * 480 in full and "Х" * 300 in full
    assert "Начало описания. Программа & <план> дня;" in full
    assert full.rstrip().endswith("…") and "Ω" not in full
    assert len(full) > 4000, "the description is cut only as much as needed"
    assert "Пойду" in user.last.button_labels


async def test_deadline_reminder_and_tap_after_the_deadline(capp, emulator, clock):
    silent, answered = emulator.user(4401, language_code="ru"), emulator.user(4402, language_code="ru")
    await pupil(capp, silent, 9)
    await pupil(capp, answered, 9)
    start = local(5, 15, base=clock.now())
    await publish(capp, title="Олимпиада", starts_at=start, kind=EventKind.contest,
                  registration_deadline=start - timedelta(days=2))  # fmt: skip
    for user in (silent, answered):
        await user.wait_for(lambda u: "Олимпиада" in (u.last.text or ""), timeout=10)
    await answered.press("Возможно")
    await answered.wait_callback_answer(timeout=10)
    await advance(capp, clock, timedelta(days=2, hours=6))  # 21 h before the deadline
    assert (await run_timers(capp))["deadlines"] == 1
    await silent.wait_for(lambda u: "Запись закрывается" in (u.last.text or ""), timeout=10)
    await run_timers(capp)
    await drained(capp)
    assert count_containing(silent, "Запись закрывается") == 1
    assert count_containing(answered, "Запись закрывается") == 0
    await advance(capp, clock, timedelta(hours=22))  # an hour past the deadline
    await silent.press("Пойду")
    assert (await silent.wait_callback_answer(timeout=10)).text == "Запись на это мероприятие закрыта."
    assert await rows(capp, select(Rsvp.user_id).where(Rsvp.status == RsvpStatus.going)) == []
    # Keys make each notification unique.
    keys = [k for (k,) in await rows(capp, select(Outbox.key))]
    assert len(keys) == len(set(keys))


async def test_card_in_english_for_an_english_user(capp, emulator, clock):
    user = emulator.user(4501, language_code="en")
    await pupil(capp, user, 9)
    async with capp.sessions.begin() as session:
        from sqlalchemy import update

        from models import User

        await session.execute(update(User).where(User.telegram_id == 4501).values(language="en"))
    await publish(
        capp, title="Open day at the college", starts_at=local(3, 11, base=clock.now()), capacity=10
    )
    await user.wait_for(lambda u: "Open day at the college" in (u.last.text or ""), timeout=10)
    assert user.last.button_labels == ["Going", "Maybe", "Not going", "Details", "📅 Add to calendar"], (
        user.dump()
    )
    assert "Seats left: 10" in user.last.text
    await user.press("Going")
    assert (await user.wait_callback_answer(timeout=10)).text == "Saved: Going"
