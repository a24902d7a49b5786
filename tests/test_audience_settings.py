"""The preferences screen, /help per role and the command menu per language."""

from __future__ import annotations

from sqlalchemy import select

from models import User
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows
from tests.flows import SCHOOL_A, press_and_wait_edit, send_and_wait, subscribe
from tests.flows_audience import become_teacher, labels


async def _prefs(app, telegram_id: int) -> tuple:
    query = select(
        User.interests,
        User.reminders_on,
        User.quiet_start,
        User.quiet_end,
        User.digest,
        User.monthly_summary,
        User.language,
    ).where(User.telegram_id == telegram_id)
    return tuple((await rows(app, query))[0])


async def test_settings_screen_changes_each_preference(app, emulator):
    user = emulator.user(7001, language_code="ru")
    await subscribe(user, "Я родитель", SCHOOL_A, 9)
    text = await send_and_wait(user, "/settings")
    assert "Интересы: все виды мероприятий" in text
    assert "Напоминания перед мероприятиями: вкл." in text
    assert "Тихие часы (время вашего муниципалитета): 21:00–08:00" in text
    assert "Новые мероприятия: сразу после публикации" in text
    assert "Язык: Русский" in text
    assert await _prefs(app, 7001) == ([], True, 21 * 60, 8 * 60, "instant", True, "ru")

    await press_and_wait_edit(user, "🎯 Интересы")
    await press_and_wait_edit(user, "День открытых дверей")
    await press_and_wait_edit(user, "Профессиональная проба")
    assert "✅ День открытых дверей" in labels(user)
    await press_and_wait_edit(user, "Готово")
    await press_and_wait_edit(user, "🔔 Напоминания: выключить")
    await press_and_wait_edit(user, "🌙 Тихие часы")
    await press_and_wait_edit(user, "22:00–07:00")
    await press_and_wait_edit(user, "📬 Перейти на еженедельную подборку")
    await press_and_wait_edit(user, "📊 Ежемесячная сводка: выключить")
    text = user.last.text
    assert "Интересы: День открытых дверей, Профессиональная проба" in text
    assert "Напоминания перед мероприятиями: выкл." in text
    assert "Тихие часы (время вашего муниципалитета): 22:00–07:00" in text
    assert "Новые мероприятия: еженедельная подборка" in text
    assert "Ежемесячная сводка: выкл." in text
    assert await _prefs(app, 7001) == (
        ["open_day", "profession_trial"],
        False,
        22 * 60,
        7 * 60,
        "weekly",
        False,
        "ru",
    )


async def test_language_change_takes_effect_on_the_next_message(app, emulator):
    user = emulator.user(7002, language_code="ru")
    await subscribe(user, "Я ученик", SCHOOL_A, 8)
    await send_and_wait(user, "/settings")
    await press_and_wait_edit(user, "🌐 English")
    assert "<b>" not in user.last.text and "Settings" in user.last.text
    assert "Language: English" in user.last.text
    assert (await _prefs(app, 7002))[-1] == "en"
    assert "What I can do" in await send_and_wait(user, "/help")
    await send_and_wait(user, "/settings")
    await press_and_wait_edit(user, "🌐 Русский")
    assert "Язык: Русский" in user.last.text
    assert "Что я умею" in await send_and_wait(user, "/help")


async def test_forged_settings_values_change_nothing(app, emulator):
    user = emulator.user(7003, language_code="ru")
    await subscribe(user, "Я ученик", SCHOOL_A, 8)
    before = await _prefs(app, 7003)
    for data in ("st:lang:de", "st:quiet_set:03-04", "st:kind:hack", "st:digest:hourly", "st:drop_tables:"):
        await user.press(data=data, force=True)
        answer = await user.wait_callback_answer(timeout=10)
        assert "недействительна" in answer.text, data
    assert await _prefs(app, 7003) == before
    # Nobody before consent can store preferences.
    stranger = emulator.user(7004, language_code="ru")
    assert "Вы ещё не зарегистрированы" in await send_and_wait(stranger, "/settings")
    await stranger.press(data="st:reminders:", force=True)
    assert "/start" in (await stranger.wait_callback_answer(timeout=10)).text
    assert (await _prefs(app, 7004))[1] is True


async def test_settings_in_english(app, emulator):
    user = emulator.user(7005, language_code="en")
    await send_and_wait(user, "/start")
    for label in ("✅ I agree", "I am a pupil", "город Кострома", SCHOOL_A, "6"):
        await press_and_wait_edit(user, label)
    text = await send_and_wait(user, "/settings")
    assert "Quiet hours (your municipality's time): 21:00–08:00" in text
    await press_and_wait_edit(user, "🌙 Quiet hours")
    await press_and_wait_edit(user, "No quiet hours")
    assert "Quiet hours (your municipality's time): off" in user.last.text
    assert (await _prefs(app, 7005))[2:4] == (0, 0)


async def test_help_shows_the_commands_of_the_users_roles(app, emulator):
    parent = emulator.user(7006, language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_A, 9)
    text = await send_and_wait(parent, "/help")
    for command in ("/profile", "/settings", "/privacy", "/forget"):
        assert command in text
    for command in ("/invite", "/import", "/new_event"):
        assert command not in text
    admin = emulator.user(ADMIN_ID, language_code="ru")
    text = await send_and_wait(admin, "/help")
    for command in ("/invite", "/invites", "/import", "/new_event", "/stats", "/privacy"):
        assert command in text
    assert "ссылка-приглашение для педагога или координатора" in text
    # A teacher sees the commands teachers may use, and not the coordinators' own.
    teacher = emulator.user(7007, language_code="ru")
    await become_teacher(admin, teacher, SCHOOL_A)
    text = await send_and_wait(teacher, "/help")
    for command in ("/new_event", "/events", "/attendance", "/stats", "/export", "/broadcast"):
        assert f"{command} — " in text, command
    for command in ("/invite", "/invites", "/roles", "/import", "/plan"):
        assert f"{command} — " not in text, command
    english = await send_and_wait(emulator.user(ADMIN_ID + 1, language_code="en"), "/help")
    assert "/settings — interests, reminders, quiet hours, language" in english


async def test_command_menu_is_set_per_language(app, emulator):
    russian = {c["command"]: c["description"] for c in emulator.commands(language_code="")}
    english = {c["command"]: c["description"] for c in emulator.commands(language_code="en")}
    assert russian["settings"] == "интересы, напоминания, тихие часы, язык"
    assert russian["forget"] == "удалить все ваши данные"
    assert english["settings"] == "interests, reminders, quiet hours, language"
    assert english["privacy"] == "what data I keep and why"
    assert "invite" not in russian, "privileged commands are listed by /help, not in everybody's menu"
