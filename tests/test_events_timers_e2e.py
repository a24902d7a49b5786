"""Reminders at 24 h and 2 h, quiet hours, a restart before a reminder is due, changes and cancellation,
and the weekly digest — driven by a movable clock, never by sleeping."""

# ruff: noqa: F811  (the fixtures `capp` and `clock` are imported from tests.flows_events)
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from models import EventStatus, Municipality, Outbox, OutboxStatus, Role, School
from sandbox import SimUser
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows, scalar
from tests.flows import send_and_wait
from tests.flows_events import (  # noqa: F401  (fixtures)
    MSK,
    advance,
    capp,
    clock,
    count_containing,
    drained,
    event_row,
    local,
    make_app,
    person,
    publish,
    pupil,
    run_timers,
    start_clock,
)


async def test_reminders_at_24h_and_2h_once_each(capp, emulator, clock):
    going, maybe, no, muted = (emulator.user(i, language_code="ru") for i in (5001, 5002, 5003, 5004))
    for user in (going, maybe, no):
        await pupil(capp, user, 9)
    await pupil(capp, muted, 9, reminders_on=False)
    start = local(3, 15, base=clock.now())
    await publish(capp, title="Мастер-класс «Сварщик»", starts_at=start)
    for user, label in ((going, "Пойду"), (maybe, "Возможно"), (no, "Не пойду"), (muted, "Пойду")):
        await user.wait_for(lambda u: "Мастер-класс" in (u.last.text or ""), timeout=10)
        await user.press(label)
        await user.wait_callback_answer(timeout=10)

    await advance(capp, clock, start - timedelta(hours=25) - clock.now())
    assert (await run_timers(capp))["reminders"] == 0
    await advance(capp, clock, timedelta(hours=1, minutes=5))  # 23 h 55 min before
    assert (await run_timers(capp))["reminders"] == 2
    for user in (going, maybe):
        await user.wait_for(lambda u: "Напоминание" in (u.last.text or ""), timeout=10)
        assert "начнётся через 24 ч" in user.last.text and "Мастер-класс «Сварщик»" in user.last.text
    assert (await run_timers(capp))["reminders"] == 0  # a second run sends nothing
    await advance(capp, clock, timedelta(hours=22))  # 1 h 55 min before
    assert (await run_timers(capp))["reminders"] == 2
    await going.wait_for(lambda u: "начнётся через 2 ч" in (u.last.text or ""), timeout=10)
    await drained(capp)
    for user in (going, maybe):
        assert count_containing(user, "Напоминание") == 2
    for user in (no, muted):
        assert count_containing(user, "Напоминание") == 0


async def test_reminder_in_quiet_hours_waits_for_the_morning(capp, emulator, clock):
    early = emulator.user(5101, language_code="ru")
    await pupil(capp, early, 9)
    start = local(2, 9, base=clock.now())  # 09:00: its 2 h reminder falls at 07:00, in the night
    await publish(capp, title="Экскурсия на завод", starts_at=start, kind="excursion")
    await early.wait_for(lambda u: "Экскурсия на завод" in (u.last.text or ""), timeout=10)
    await early.press("Пойду")
    await early.wait_callback_answer(timeout=10)
    await advance(capp, clock, start - timedelta(hours=1, minutes=55) - clock.now())  # 07:05 local
    await run_timers(capp)
    seen = len(early.bot_messages)
    held = await rows(capp, select(Outbox.status, Outbox.payload).where(Outbox.kind == "reminder"))
    assert held == [(OutboxStatus.pending, {"offset": 120})]
    await capp.delivery.run(budget=2)
    assert len(early.bot_messages) == seen, "nothing at 07:05"
    await advance(capp, clock, timedelta(minutes=56))  # 08:01 local
    await early.wait_for(lambda u: "Напоминание" in (u.last.text or ""), timeout=10)
    assert "начнётся через 2 ч" in early.last.text


async def test_restart_before_a_reminder_is_due_sends_it_once(emulator, database_url):
    clock = start_clock()
    first = await make_app(emulator, database_url, clock)
    user = emulator.user(5201, language_code="ru")
    try:
        await pupil(first, user, 9)
        start = local(2, 16, base=clock.now())
        await publish(first, title="Фестиваль профессий", starts_at=start, kind="fair")
        await user.wait_for(lambda u: "Фестиваль профессий" in (u.last.text or ""), timeout=10)
        await user.press("Пойду")
        await user.wait_callback_answer(timeout=10)
    finally:
        await first.stop()
    # The bot is down while the 24 h reminder falls due.
    clock.advance(start - timedelta(hours=20) - clock.now())
    second = await make_app(emulator, database_url, clock, seed=False)
    try:
        await user.wait_for(lambda u: "Напоминание" in (u.last.text or ""), timeout=15)
        assert "24 ч" in user.last.text
        await run_timers(second)
        await run_timers(second)
        await drained(second)
        assert count_containing(user, "Напоминание") == 1
        assert await scalar(second, select(func.count()).where(Outbox.kind == "reminder")) == 1
    finally:
        await second.stop()


async def test_change_and_cancellation_reach_everyone_signed_up(capp, emulator, clock):
    going, maybe, no = (emulator.user(i, language_code="ru") for i in (5301, 5302, 5303))
    for user in (going, maybe, no):
        await pupil(capp, user, 10)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/help")
    start = local(6, 11, base=clock.now())
    await publish(capp, title="День открытых дверей в КГУ", starts_at=start, venue="ул. Дзержинского, 17")
    for user, label in ((going, "Пойду"), (maybe, "Возможно"), (no, "Не пойду")):
        await user.wait_for(lambda u: "КГУ" in (u.last.text or ""), timeout=10)
        await user.press(label)
        await user.wait_callback_answer(timeout=10)

    await send_and_wait(admin, "/events", timeout=10)
    await admin.press(next(label for label in admin.last.button_labels if "КГУ" in label))
    await admin.wait_for(lambda u: "🗓 Перенести" in u.last.button_labels, timeout=10)
    await admin.press("🗓 Перенести")
    await admin.wait_for(lambda u: "ДД.ММ.ГГГГ ЧЧ:ММ" in (u.last.text or ""), timeout=10)
    text = await send_and_wait(admin, "01.01.2020 10:00", timeout=10)
    assert "уже прошло" in text
    new_start = local(7, 13, base=clock.now())
    text = await send_and_wait(admin, new_start.strftime("%d.%m.%Y %H:%M"), timeout=10)
    assert "Сохранено" in text and "2 чел." in text
    for user in (going, maybe):
        await user.wait_for(lambda u: "Мероприятие изменилось" in (u.last.text or ""), timeout=10)
        assert "13:00" in user.last.text
    await drained(capp)
    assert count_containing(no, "изменилось") == 0

    await send_and_wait(admin, "/events", timeout=10)
    await admin.press(next(label for label in admin.last.button_labels if "КГУ" in label))
    await admin.wait_for(lambda u: "❌ Отменить мероприятие" in u.last.button_labels, timeout=10)
    await admin.press("❌ Отменить мероприятие")
    await admin.wait_for(lambda u: "Да, отменить" in u.last.button_labels, timeout=10)
    confirm = admin.last
    yes = next(b.callback_data for row in confirm.buttons for b in row if b.text == "Да, отменить")
    await admin.press("Да, отменить")
    await admin.wait_for(lambda u: "отменено" in (u.last.text or ""), timeout=10)
    await admin.press(data=yes, force=True, message_id=confirm.message_id)  # a second tap
    await admin.wait_callback_answer(timeout=10)
    for user in (going, maybe):
        await user.wait_for(lambda u: "Мероприятие отменено" in (u.last.text or ""), timeout=10)
    await drained(capp)
    assert count_containing(no, "отменено") == 0
    for user in (going, maybe):
        assert count_containing(user, "Мероприятие отменено") == 1
    # A tap on the old card of a cancelled event is refused politely.
    card = next(m for m in going.bot_messages if m.button_labels and "Пойду" in " ".join(m.button_labels))
    await going.press("Возможно", message_id=card.message_id)
    assert "отменено или уже прошло" in (await going.wait_callback_answer(timeout=10)).text
    # And no reminder goes out for it.
    await advance(capp, clock, new_start - timedelta(hours=3) - clock.now())
    assert (await run_timers(capp))["reminders"] == 0


async def test_weekly_digest_collects_announcements(capp, emulator, clock):
    weekly, instant = emulator.user(5401, language_code="ru"), emulator.user(5402, language_code="ru")
    await pupil(capp, weekly, 9, digest="weekly")
    await pupil(capp, instant, 9)
    await publish(capp, title="Урок «ПроеКТОриЯ»", starts_at=local(10, 12, base=clock.now()), kind="online_lesson",
                  online_url="https://proektoria.online")  # fmt: skip
    await publish(capp, title="Квиз о профессиях", starts_at=local(11, 12, base=clock.now()), kind="other")
    await instant.wait_for(lambda u: count_containing(u, "Квиз") == 1, timeout=10)
    seen = len(weekly.bot_messages)
    assert count_containing(weekly, "ПроеКТОриЯ") == 0
    # Move to the next Monday 10:05 local; the digest goes out once, naming both events.
    now_local = clock.now().astimezone(local(0, 0).tzinfo)
    days = (7 - now_local.weekday()) % 7 or 7
    monday = local(days, 10, 5, base=clock.now())
    await advance(capp, clock, monday - clock.now())
    assert (await run_timers(capp))["digests"] == 1
    await weekly.wait_for(lambda u: "Мероприятия недели для вас" in (u.last.text or ""), timeout=10)
    digest = weekly.last
    assert "Урок «ПроеКТОриЯ»" in digest.text and "Квиз о профессиях" in digest.text
    assert (await run_timers(capp))["digests"] == 0
    await drained(capp)
    assert len(weekly.bot_messages) == seen + 1
    await weekly.press("Квиз о профессиях")
    await weekly.wait_for(lambda u: "Пойду" in u.last.button_labels, timeout=10)


async def test_teacher_sees_only_their_school_and_role_is_rechecked(capp, emulator, clock):
    teacher = emulator.user(5501, language_code="ru")
    await person(capp, teacher, Role.teacher)
    text = await send_and_wait(teacher, "/events", timeout=10)
    assert "нет предстоящих мероприятий" in text
    # A forged cancel of a municipal event by a teacher is refused.
    event_id = await publish(capp, title="Ярмарка вакансий", starts_at=local(4, 12, base=clock.now()))
    await teacher.press(data=f"me:{event_id}:cancel_yes", force=True)
    assert "не можете" in (await teacher.wait_callback_answer(timeout=10)).text
    event = await event_row(capp, event_id)
    assert (event.status, event.cancelled_at, event.version) == (EventStatus.published, None, 1)


def next_weekday(clock_now: datetime, weekday: int, hour: int, minute: int = 0) -> datetime:
    """The next Moscow `weekday` (0 = Monday) at hh:mm strictly after the clock's day."""
    today = clock_now.astimezone(MSK)
    days = (weekday - today.weekday()) % 7 or 7
    return local(days, hour, minute, base=clock_now)


async def test_weekly_digest_goes_on_monday_not_midweek(capp, emulator, clock):
    weekly = emulator.user(5601, language_code="ru")
    await pupil(capp, weekly, 9, digest="weekly")
    await advance(capp, clock, next_weekday(clock.now(), 2, 12) - clock.now())  # a Wednesday noon
    await publish(
        capp, title="Профпроба «Повар»", starts_at=local(20, 12, base=clock.now()), kind="profession_trial"
    )
    assert (await run_timers(capp))["digests"] == 0, "no digest midweek"
    await advance(capp, clock, timedelta(days=2))  # Friday: still nothing
    assert (await run_timers(capp))["digests"] == 0
    await capp.delivery.run(budget=2)
    assert count_containing(weekly, "Повар") == 0
    # Monday 10:00 local: the digest, once, naming the event.
    await advance(capp, clock, next_weekday(clock.now(), 0, 10) - clock.now())
    assert (await run_timers(capp))["digests"] == 1
    await weekly.wait_for(lambda u: "Мероприятия недели для вас" in (u.last.text or ""), timeout=10)
    assert "Профпроба «Повар»" in weekly.last.text
    assert (await run_timers(capp))["digests"] == 0
    await advance(capp, clock, timedelta(hours=3))
    assert (await run_timers(capp))["digests"] == 0
    await drained(capp)
    assert count_containing(weekly, "Мероприятия недели для вас") == 1
    assert count_containing(weekly, "Повар") == 1
    # Published that Wednesday again: it waits for the following Monday.
    await advance(capp, clock, timedelta(days=2))
    await publish(capp, title="Экскурсия в депо", starts_at=local(20, 12, base=clock.now()), kind="excursion")
    assert (await run_timers(capp))["digests"] == 0
    await advance(capp, clock, next_weekday(clock.now(), 0, 10, 1) - clock.now())
    assert (await run_timers(capp))["digests"] == 1
    await weekly.wait_for(lambda u: "Экскурсия в депо" in (u.last.text or ""), timeout=10)
    assert "Повар" not in weekly.last.text
    await drained(capp)
    assert count_containing(weekly, "Мероприятия недели для вас") == 2


async def open_settings(user: SimUser) -> None:
    await send_and_wait(user, "/settings", timeout=10)
    assert "Настройки" in (user.last.text or "")


async def test_switching_to_instant_sends_what_waited_for_the_digest(capp, emulator, clock):
    weekly = emulator.user(5602, language_code="ru")
    await pupil(capp, weekly, 9, digest="weekly")
    await publish(capp, title="Ярмарка учебных мест", starts_at=local(15, 12, base=clock.now()), kind="fair")
    [(held,)] = await rows(capp, select(Outbox.status).where(Outbox.kind == "announcement"))
    assert held in (OutboxStatus.pending, OutboxStatus.sending)  # waiting (the sender may be looking at it)
    assert count_containing(weekly, "Ярмарка учебных мест") == 0
    await open_settings(weekly)
    await weekly.press("📬 Присылать сразу")
    await weekly.wait_callback_answer(timeout=10)
    await capp.delivery.run(budget=5)
    await weekly.wait_for(lambda u: count_containing(u, "Ярмарка учебных мест") == 1, timeout=10)
    card = next(m for m in weekly.bot_messages if "Ярмарка учебных мест" in m.content)
    assert "Пойду" in card.button_labels
    await advance(capp, clock, next_weekday(clock.now(), 0, 10) - clock.now())
    assert (await run_timers(capp))["digests"] == 0
    await drained(capp)
    assert count_containing(weekly, "Ярмарка учебных мест") == 1


async def test_turning_quiet_hours_off_sends_what_waited_for_the_morning(capp, emulator, clock):
    owl = emulator.user(5603, language_code="ru")
    await pupil(capp, owl, 9)
    await advance(capp, clock, local(1, 23, base=clock.now()) - clock.now())  # 23:00 local
    await publish(capp, title="Ночь в планетарии", starts_at=local(5, 12, base=clock.now()), kind="excursion")
    await capp.delivery.run(budget=2)
    assert count_containing(owl, "Ночь в планетарии") == 0
    await open_settings(owl)
    await owl.press("🌙 Тихие часы")
    await owl.wait_for(lambda u: "Без тихих часов" in u.last.button_labels, timeout=10)
    await owl.press("Без тихих часов")
    await owl.wait_callback_answer(timeout=10)
    await capp.delivery.run(budget=5)
    await owl.wait_for(lambda u: count_containing(u, "Ночь в планетарии") == 1, timeout=10)
    await drained(capp)
    assert count_containing(owl, "Ночь в планетарии") == 1


async def test_announcement_published_at_night_waits_for_the_morning(capp, emulator, clock):
    sleeper = emulator.user(5604, language_code="ru")
    await pupil(capp, sleeper, 9)
    await advance(capp, clock, local(1, 23, 30, base=clock.now()) - clock.now())  # 23:30 local
    await publish(capp, title="День открытых дверей колледжа", starts_at=local(6, 12, base=clock.now()))
    await capp.delivery.run(budget=2)
    assert count_containing(sleeper, "колледжа") == 0
    await advance(capp, clock, local(1, 7, 55, base=clock.now()) - clock.now())  # 07:55: still night
    await capp.delivery.run(budget=2)
    assert count_containing(sleeper, "колледжа") == 0
    await advance(capp, clock, timedelta(minutes=6))  # 08:01
    await sleeper.wait_for(lambda u: count_containing(u, "колледжа") == 1, timeout=10)
    await drained(capp)
    assert count_containing(sleeper, "колледжа") == 1


async def test_quiet_hours_follow_the_municipality_time_zone(capp, emulator, clock):
    """Yekaterinburg is Moscow + 2 h: 19:30 in Moscow is 21:30 there (night), 06:05 is 08:05 (morning)."""
    async with capp.sessions.begin() as session:
        ural = Municipality(
            region="Свердловская область", name="город Екатеринбург", timezone="Asia/Yekaterinburg"
        )
        session.add(ural)
        await session.flush()
        session.add(School(municipality_id=ural.id, name="МАОУ «Гимназия № 9» г. Екатеринбурга"))
        ural_id = ural.id
    ural_pupil, kostroma_pupil = (
        emulator.user(5605, language_code="ru"),
        emulator.user(5606, language_code="ru"),
    )
    await pupil(capp, ural_pupil, 9, school="МАОУ «Гимназия № 9» г. Екатеринбурга")
    await pupil(capp, kostroma_pupil, 9)
    await advance(capp, clock, local(1, 19, 30, base=clock.now()) - clock.now())  # 19:30 Moscow
    await publish(capp, title="Уральский завод: экскурсия", starts_at=local(6, 12, base=clock.now()),
                  kind="excursion", municipality_id=ural_id)  # fmt: skip
    await publish(capp, title="Костромской завод: экскурсия", starts_at=local(6, 12, base=clock.now()),
                  kind="excursion")  # fmt: skip
    await kostroma_pupil.wait_for(lambda u: count_containing(u, "Костромской завод") == 1, timeout=10)
    await capp.delivery.run(budget=2)
    assert count_containing(ural_pupil, "Уральский завод") == 0, "21:30 in Yekaterinburg: night"
    await advance(capp, clock, local(1, 5, 55, base=clock.now()) - clock.now())  # 07:55 in Yekaterinburg
    await capp.delivery.run(budget=2)
    assert count_containing(ural_pupil, "Уральский завод") == 0
    await advance(
        capp, clock, timedelta(minutes=10)
    )  # 06:05 Moscow (still night there), 08:05 in Yekaterinburg
    await ural_pupil.wait_for(lambda u: count_containing(u, "Уральский завод") == 1, timeout=10)
    await drained(capp)
    assert count_containing(ural_pupil, "Уральский завод") == 1
    assert count_containing(kostroma_pupil, "Уральский завод") == 0


async def test_reminders_follow_a_moved_event(capp, emulator, clock):
    going = emulator.user(5701, language_code="ru")
    going_id = await pupil(capp, going, 9)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/help")
    old_start = local(3, 15, base=clock.now())
    new_start = local(5, 16, base=clock.now())
    event_id = await publish(capp, title="Профпроба «Лаборант»", starts_at=old_start, kind="profession_trial")
    await going.wait_for(lambda u: "Лаборант" in (u.last.text or ""), timeout=10)
    await going.press("Пойду")
    await going.wait_callback_answer(timeout=10)

    await send_and_wait(admin, "/events", timeout=10)
    await admin.press(next(label for label in admin.last.button_labels if "Лаборант" in label))
    await admin.wait_for(lambda u: "🗓 Перенести" in u.last.button_labels, timeout=10)
    await admin.press("🗓 Перенести")
    await admin.wait_for(lambda u: "ДД.ММ.ГГГГ ЧЧ:ММ" in (u.last.text or ""), timeout=10)
    assert "Сохранено" in await send_and_wait(admin, new_start.strftime("%d.%m.%Y %H:%M"), timeout=10)
    await going.wait_for(lambda u: "Мероприятие изменилось" in (u.last.text or ""), timeout=10)

    # The old moments pass: 24 h and 2 h before the old start, and the old start itself. Nothing.
    for moment in (old_start - timedelta(hours=23, minutes=55), old_start - timedelta(hours=1, minutes=55),
                   old_start + timedelta(minutes=5)):  # fmt: skip
        await advance(capp, clock, moment - clock.now())
        assert (await run_timers(capp))["reminders"] == 0, moment
    # 24 h before the new start: one reminder, naming the new time.
    await advance(capp, clock, new_start - timedelta(hours=23, minutes=55) - clock.now())
    assert (await run_timers(capp))["reminders"] == 1
    await going.wait_for(lambda u: "Напоминание" in (u.last.text or ""), timeout=10)
    assert "начнётся через 24 ч" in going.last.text and "16:00" in going.last.text
    await drained(capp)
    assert count_containing(going, "Напоминание") == 1
    keys = await rows(capp, select(Outbox.key).where(Outbox.kind == "reminder"))
    assert keys == [(f"remind:{event_id}:1440:{int(new_start.timestamp())}:{going_id}",)]


async def test_reminder_offsets_from_the_settings(emulator, database_url):
    """REMINDER_OFFSETS="48h,1h": reminders 48 h and 1 h before, none at 24 h or 2 h."""
    clock = start_clock()
    app = await make_app(emulator, database_url, clock, REMINDER_OFFSETS="48h,1h")
    user = emulator.user(5801, language_code="ru")
    try:
        assert app.settings.reminder_offsets == [2880, 60]
        await pupil(app, user, 9)
        start = local(4, 15, base=clock.now())
        await publish(app, title="Ярмарка вакансий", starts_at=start, kind="fair")
        await user.wait_for(lambda u: "Ярмарка вакансий" in (u.last.text or ""), timeout=10)
        await user.press("Пойду")
        await user.wait_callback_answer(timeout=10)
        expected = {
            timedelta(hours=49): 0,
            timedelta(hours=47, minutes=55): 1,  # 48 h
            timedelta(hours=23, minutes=55): 0,  # no 24 h
            timedelta(hours=1, minutes=55): 0,  # no 2 h
            timedelta(minutes=55): 1,  # 1 h
        }
        for before, count in expected.items():
            await advance(app, clock, start - before - clock.now())
            assert (await run_timers(app))["reminders"] == count, before
        await drained(app)
        reminders = [m.text for m in user.bot_messages if "Напоминание" in m.content]
        assert len(reminders) == 2
        assert "начнётся через 48 ч" in reminders[0] and "начнётся через 1 ч" in reminders[1]
    finally:
        await app.stop()


async def test_a_digest_of_many_long_titles_fits_one_message(capp, emulator, clock):
    weekly = emulator.user(5901, language_code="ru")
    await pupil(capp, weekly, 9, digest="weekly")
    titles = [
        (f"{n:02d} Профориентационное мероприятие " + "о профессиях будущего " * 10)[:200] for n in range(20)
    ]
    for n, title in enumerate(titles):
        await publish(
            capp, title=title, starts_at=local(10 + n // 4, 9 + n % 4, base=clock.now()), wake=False
        )
    await capp.delivery.run(budget=5)
    await advance(capp, clock, next_weekday(clock.now(), 0, 10) - clock.now())
    assert (await run_timers(capp))["digests"] == 1
    await weekly.wait_for(lambda u: "Мероприятия недели для вас" in (u.last.text or ""), timeout=10)
    digest = weekly.last
    assert len(digest.text) <= 4096 and len(digest.buttons) == 15
    assert titles[0] in digest.text and titles[14] in digest.text and titles[15] not in digest.text
    assert "…и ещё мероприятий на этой неделе: 5." in digest.text
    await drained(capp)
    assert count_containing(weekly, "Мероприятия недели для вас") == 1
