"""The organiser's side: the guided dialog with the calendar, preview and bad input; a teacher's class hour;
attendance with walk-ins and results; feedback; bulk import all-or-nothing."""

# ruff: noqa: F811  (the fixtures `capp` and `clock` are imported from tests.flows_events)
from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models import (
    Event,
    EventKind,
    EventLevel,
    EventStatus,
    Feedback,
    Organisation,
    OrganisationType,
    Outbox,
    Role,
    Rsvp,
    RsvpStatus,
    School,
)
from services.event_import import HEADERS
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows
from tests.flows import KOSTROMA, SCHOOL_A, SCHOOL_B, press_and_wait_edit, send_and_wait
from tests.flows_events import (  # noqa: F401  (fixtures)
    advance,
    capp,
    clock,
    drained,
    local,
    municipality_id,
    person,
    publish,
    pupil,
    run_timers,
    school_id,
)


async def test_guided_dialog_with_calendar_preview_and_bad_input(capp, emulator, clock):
    reader = emulator.user(6001, language_code="ru")
    await pupil(capp, reader, 9)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/new_event")
    await press_and_wait_edit(admin, KOSTROMA)
    await press_and_wait_edit(admin, "Конкурс / олимпиада")
    title = "<script>Конкурс</script> & «Профи»"
    text = await send_and_wait(admin, title)
    assert "Выберите день в календаре" in text
    assert "›" in admin.last.button_labels
    assert "уже прошло" in await send_and_wait(admin, "01.01.2020 10:00")
    assert "Не удалось" in await send_and_wait(admin, "завтра")
    calendar = next(m for m in reversed(admin.bot_messages) if "›" in m.button_labels)
    month = calendar.buttons[0][1].text
    await admin.press("›")  # the next month, in the same message
    await admin.wait_for(
        lambda u: (
            next(m for m in u.bot_messages if m.message_id == calendar.message_id).buttons[0][1].text != month
        ),
        timeout=10,
    )

    def dialog(u):
        return next(m for m in u.bot_messages if m.message_id == calendar.message_id)

    async def step(label: str, expect: str) -> None:
        await admin.press(label, message_id=calendar.message_id)
        await admin.wait_for(lambda u: expect in (dialog(u).text or ""), timeout=10)

    await step("15", "во сколько?")
    await step("10:00", "Для каких классов?")
    await step("8–11", "Для кого мероприятие?")
    await step("Ученики", "Для каких школ?")
    await step("Все школы муниципалитета", "Где проходит?")
    preview = await send_and_wait(admin, "Актовый зал <b>техникума</b>")
    assert "Так будет выглядеть объявление:" in preview and "10:00" in preview

    async def option(label: str, *answers: str) -> list[str]:
        await press_and_wait_edit(admin, label)
        return [await send_and_wait(admin, answer) for answer in answers]

    replies = await option("🎟 Число мест", "0", "-5", "много", "25")
    assert all("Число мест — целое число от 1 до 100000" in r for r in replies[:3])
    assert "Осталось мест: 25" in replies[3]
    replies = await option("📝 Описание", "Я" * 5000, "Задания по черчению и 3D-моделированию.")
    assert "Описание слишком длинное" in replies[0]
    assert "Задания по черчению" in replies[1]
    replies = await option("🕔 Окончание", "09:00", "12:30")
    assert "Окончание должно быть позже начала" in replies[0]
    assert "10:00 – 12:30" in replies[1]
    await press_and_wait_edit(admin, "🏢 Организатор")
    await press_and_wait_edit(admin, "ОГБПОУ «Костромской энергетический техникум им. Ф. В. Чижова»")
    assert "🏢 Организатор: ОГБПОУ «Костромской энергетический техникум" in admin.last.text
    await press_and_wait_edit(admin, "🏷 Уровень")
    await press_and_wait_edit(admin, "региональный")
    assert "🏷 Уровень: региональный" in admin.last.text
    await press_and_wait_edit(admin, "♿ ОВЗ: нет")
    assert "Подходит для детей с ОВЗ" in admin.last.text
    await press_and_wait_edit(admin, "📢 Опубликовать")
    assert "Опубликовано: «<script>Конкурс</script> & «Профи»»" in admin.last.text
    await reader.wait_for(lambda u: "<script>Конкурс</script>" in (u.last.text or ""), timeout=10)
    card = reader.last.text
    assert "Осталось мест: 25" in card and "Подходит для детей с ОВЗ" in card
    stored = await rows(
        capp, select(Event.title, Event.capacity, Event.ovz_suitable, Event.kind, Event.level)
    )
    assert stored == [(title, 25, True, EventKind.contest, EventLevel.regional)]
    assert await rows(capp, select(Event.organisation_id.is_not(None))) == [(True,)]


async def test_long_lists_of_schools_and_hosts_are_paged_in_the_dialog(capp, emulator, clock):
    kostroma = await municipality_id(capp)
    async with capp.sessions.begin() as session:
        session.add_all(School(municipality_id=kostroma, name=f"Школа № {n:03d}") for n in range(100, 230))
        session.add_all(
            Organisation(
                municipality_id=kostroma, name=f"Предприятие № {n:03d}", type=OrganisationType.enterprise
            )
            for n in range(100, 230)
        )
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/new_event")
    await press_and_wait_edit(admin, KOSTROMA)
    await press_and_wait_edit(admin, "Экскурсия на предприятие")
    await send_and_wait(admin, "Экскурсия на завод")
    calendar = next(m for m in reversed(admin.bot_messages) if "›" in m.button_labels)

    def dialog(u):
        return next(m for m in u.bot_messages if m.message_id == calendar.message_id)

    async def step(label: str, expect: str) -> None:
        await admin.press(label, message_id=calendar.message_id)
        await admin.wait_for(lambda u: expect in (dialog(u).text or ""), timeout=10)

    month = calendar.buttons[0][1].text
    await admin.press("›", message_id=calendar.message_id)
    await admin.wait_for(lambda u: dialog(u).buttons[0][1].text != month, timeout=10)
    await step("15", "во сколько?")
    await step("10:00", "Для каких классов?")
    await step("8–11", "Для кого мероприятие?")
    await step("Ученики", "Для каких школ?")
    first, first_labels = dialog(admin), list(dialog(admin).button_labels)  # the message is edited in place
    assert "Страница 1 из 7" in first.text and "▶" in first_labels and "◀" not in first_labels
    assert first_labels[0] == "Все школы муниципалитета"
    assert sum(len(row) for row in first.buttons) <= 100
    await step("▶", "Страница 2 из 7")
    second = dialog(admin)
    assert "Все школы муниципалитета" in second.button_labels and "◀" in second.button_labels
    chosen = next(label for label in second.button_labels if label.startswith("Школа № "))
    assert chosen not in first_labels
    await step(chosen, "Где проходит?")
    await send_and_wait(admin, "Проходная завода")
    await press_and_wait_edit(admin, "🏢 Организатор")
    assert "Страница 1 из 7" in admin.last.text and "Без организатора" in admin.last.button_labels
    assert sum(len(row) for row in admin.last.buttons) <= 100
    for _ in range(6):
        await press_and_wait_edit(admin, "▶")
    assert "Страница 7 из 7" in admin.last.text and "▶" not in admin.last.button_labels
    host = next(label for label in admin.last.button_labels if label.startswith("Предприятие № "))
    await press_and_wait_edit(admin, host)
    assert f"🏢 Организатор: {host}" in admin.last.text
    await press_and_wait_edit(admin, "📢 Опубликовать")
    stored = await rows(
        capp,
        select(School.name, Organisation.name)
        .select_from(Event)
        .join(School, School.id == Event.school_id)
        .join(Organisation, Organisation.id == Event.organisation_id),
    )
    assert stored == [(chosen, host)]


async def test_a_double_tap_on_publish_publishes_and_announces_once(capp, emulator, clock):
    reader = emulator.user(6011, language_code="ru")
    await pupil(capp, reader, 9)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/new_event")
    await press_and_wait_edit(admin, KOSTROMA)
    await press_and_wait_edit(admin, "День открытых дверей")
    await send_and_wait(admin, "День открытых дверей в КГУ")
    calendar = next(m for m in reversed(admin.bot_messages) if "›" in m.button_labels)

    def dialog(u):
        return next(m for m in u.bot_messages if m.message_id == calendar.message_id)

    async def step(label: str, expect: str) -> None:
        await admin.press(label, message_id=calendar.message_id)
        await admin.wait_for(lambda u: expect in (dialog(u).text or ""), timeout=10)

    month = calendar.buttons[0][1].text
    await admin.press("›", message_id=calendar.message_id)
    await admin.wait_for(lambda u: dialog(u).buttons[0][1].text != month, timeout=10)
    await step("15", "во сколько?")
    await step("10:00", "Для каких классов?")
    await step("8–11", "Для кого мероприятие?")
    await step("Ученики", "Для каких школ?")
    await step("Все школы муниципалитета", "Где проходит?")
    assert "Так будет выглядеть объявление:" in await send_and_wait(admin, "ул. Дзержинского, 17")
    preview = admin.last
    publish_data = next(
        b.callback_data for row in preview.buttons for b in row if b.text == "📢 Опубликовать"
    )
    await admin.press(data=publish_data, message_id=preview.message_id)
    await admin.press(data=publish_data, message_id=preview.message_id, force=True)  # the second tap
    await admin.wait_for(lambda u: len(u.callback_answers) >= 2, timeout=10)
    await admin.wait_for(lambda u: "Опубликовано" in (u.last.text or ""), timeout=10)
    await reader.wait_for(lambda u: "День открытых дверей в КГУ" in (u.last.text or ""), timeout=10)
    await drained(capp)
    assert await rows(capp, select(Event.title, Event.status)) == [
        ("День открытых дверей в КГУ", EventStatus.published)
    ]
    assert sum(1 for m in reader.bot_messages if "День открытых дверей в КГУ" in m.content) == 1
    assert sum(1 for m in admin.bot_messages if "Опубликовано" in m.content) == 1
    assert await rows(
        capp, select(func.count()).select_from(Outbox).where(Outbox.kind == "announcement")
    ) == [(1,)]


async def test_teacher_marks_attendance_of_their_school_only(capp, emulator, clock):
    teacher = emulator.user(6021, language_code="ru")
    await person(capp, teacher, Role.teacher)  # SCHOOL_A
    ours, theirs = emulator.user(6022, language_code="ru"), emulator.user(6023, language_code="ru")
    await pupil(capp, ours, 9)
    await pupil(capp, theirs, 9, SCHOOL_B)
    start = local(2, 15, base=clock.now())
    event_id = await publish(capp, title="Городская ярмарка профессий", starts_at=start, kind=EventKind.fair)
    for user in (ours, theirs):
        await user.wait_for(lambda u: "ярмарка профессий" in (u.last.text or ""), timeout=10)
        await user.press("Пойду")
        await user.wait_callback_answer(timeout=10)
    await advance(capp, clock, start + timedelta(hours=1) - clock.now())
    await send_and_wait(teacher, "/attendance")
    await teacher.press(next(label for label in teacher.last.button_labels if "ярмарка профессий" in label))
    await teacher.wait_for(lambda u: "Посещаемость: Городская" in (u.last.text or ""), timeout=10)
    people = [label for label in teacher.last.button_labels if label.startswith(("⬜", "✅"))]
    assert people == [f"⬜ 1. 9 класс, {SCHOOL_A}"[:60]], "only the teacher's own school"
    await press_and_wait_edit(teacher, f"⬜ 1. 9 класс, {SCHOOL_A}"[:60])
    assert "Пришли: 1" in teacher.last.text
    # Another school's pupil: a forged button is refused and marks nothing.
    [(their_rsvp,)] = await rows(
        capp, select(Rsvp.id).where(Rsvp.school_id == await school_id(capp, SCHOOL_B))
    )
    await teacher.press(data=f"at:{event_id}:toggle:{their_rsvp}:0", force=True)
    assert "не можете" in (await teacher.wait_callback_answer(timeout=10)).text
    marked = await rows(capp, select(Rsvp.school_id, Rsvp.attended).order_by(Rsvp.id))
    assert marked == [(await school_id(capp, SCHOOL_A), True), (await school_id(capp, SCHOOL_B), None)]


async def test_teacher_creates_a_class_hour_for_their_school_only(capp, emulator, clock):
    teacher = emulator.user(6101, language_code="ru")
    ours, theirs = emulator.user(6102, language_code="ru"), emulator.user(6103, language_code="ru")
    await person(capp, teacher, Role.teacher, school=SCHOOL_A)
    await pupil(capp, ours, 7, SCHOOL_A)
    await pupil(capp, theirs, 7, SCHOOL_B)
    await send_and_wait(teacher, "/new_event")
    assert teacher.last.button_labels == ["Классный час", "Родительское собрание"]
    await teacher.press(data="ne:kind:open_day", force=True)  # forged: not a teacher's kind
    assert "недействительна" in (await teacher.wait_callback_answer(timeout=10)).text
    await press_and_wait_edit(teacher, "Классный час")
    await send_and_wait(teacher, "Классный час «Профессии будущего»")
    when = local(3, 14, base=clock.now()).strftime("%d.%m.%Y %H:%M")
    assert "Для каких классов?" in await send_and_wait(teacher, when)
    assert "Для кого мероприятие?" in await send_and_wait(teacher, "7")
    await press_and_wait_edit(teacher, "Ученики")
    await press_and_wait_edit(teacher, "Пропустить")
    await press_and_wait_edit(teacher, "📢 Опубликовать")
    assert "подписчикам: 1" in teacher.last.text
    await ours.wait_for(lambda u: "Профессии будущего" in (u.last.text or ""), timeout=10)
    await drained(capp)
    assert not any("Профессии будущего" in m.content for m in theirs.bot_messages)
    assert await rows(capp, select(Event.grade_min, Event.grade_max)) == [(7, 7)]


async def test_attendance_walk_ins_results_and_feedback(capp, emulator, clock):
    came, absent = emulator.user(6201, language_code="ru"), emulator.user(6202, language_code="ru")
    await pupil(capp, came, 9, ovz=True)
    await pupil(capp, absent, 10, SCHOOL_B)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/help")
    start = local(2, 15, base=clock.now())
    event_id = await publish(capp, title="Конкурс «Юный инженер»", starts_at=start, kind=EventKind.contest)
    for user in (came, absent):
        await user.wait_for(lambda u: "Юный инженер" in (u.last.text or ""), timeout=10)
        await user.press("Пойду")
        await user.wait_callback_answer(timeout=10)
    text = await send_and_wait(admin, "/attendance")
    assert "ещё не началось" in text
    await advance(capp, clock, start + timedelta(hours=2) - clock.now())
    await send_and_wait(admin, "/attendance")
    await admin.press(next(label for label in admin.last.button_labels if "Юный инженер" in label))
    await admin.wait_for(lambda u: "Посещаемость: Конкурс" in (u.last.text or ""), timeout=10)
    labels = admin.last.button_labels
    assert "⬜ 1. 9 класс, МБОУ «Гимназия № 1» г. Костромы" in labels
    await press_and_wait_edit(admin, "⬜ 1. 9 класс, МБОУ «Гимназия № 1» г. Костромы")
    assert "Пришли: 1, из них с ОВЗ: 1" in admin.last.text
    first_result = next(b.callback_data for row in admin.last.buttons for b in row if b.text == "🏆")
    await admin.press(data=first_result, message_id=admin.last.message_id)
    await admin.wait_for(lambda u: "победителей и призёров: 1" in (u.last.text or ""), timeout=10)
    await press_and_wait_edit(admin, "➕ Пришёл без записи")
    await press_and_wait_edit(admin, "7")
    assert any("7 класс" in label and "(без записи)" in label for label in admin.last.button_labels)
    assert "Пришли: 2" in admin.last.text
    await admin.press("🏁 Завершить и запросить отзывы")
    assert "Просьбы об отзыве отправляются: 1" in (await admin.wait_callback_answer(timeout=10)).text

    await came.wait_for(lambda u: "Оцените от 1" in (u.last.text or ""), timeout=10)
    assert came.last.button_labels == ["1", "2", "3", "4", "5"]
    await press_and_wait_edit(came, "5")
    assert "Ваша оценка: 5 из 5" in came.last.text
    assert "Спасибо за отзыв" in await send_and_wait(came, "Очень понравилось!")
    await drained(capp)
    assert not any("Оцените" in m.content for m in absent.bot_messages)
    await absent.press(data=f"fb:{event_id}:4", force=True)  # did not come: cannot rate
    assert "недействительна" in (await absent.wait_callback_answer(timeout=10)).text
    assert await rows(capp, select(Feedback.rating, Feedback.comment)) == [(5, "Очень понравилось!")]
    marked = await rows(capp, select(Rsvp.grade, Rsvp.attended, Rsvp.result, Rsvp.walk_in).order_by(Rsvp.id))
    assert marked == [(9, True, "winner", False), (10, None, None, False), (7, True, None, True)]
    assert await rows(capp, select(Event.status)) == [(EventStatus.finished,)]
    # A pupil forging an attendance button is refused by the role check.
    await absent.press(data=f"at:{event_id}:toggle:2", force=True)
    assert "устарела" in (await absent.wait_callback_answer(timeout=10)).text


async def test_attendance_of_120_participants_pages_and_marks_on_page_2(capp, emulator, clock):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/help")
    start = local(2, 15, base=clock.now())
    event_id = await publish(
        capp, title="Фестиваль «Профессии будущего»", starts_at=start, kind=EventKind.fair
    )
    school = await school_id(capp, SCHOOL_A)
    async with capp.sessions.begin() as session:
        session.add_all(
            Rsvp(
                event_id=event_id,
                status=RsvpStatus.going,
                respondent_role="student",
                school_id=school,
                grade=9,
            )
            for _ in range(120)
        )
    await advance(capp, clock, start + timedelta(hours=1) - clock.now())
    await send_and_wait(admin, "/attendance")
    await admin.press(next(label for label in admin.last.button_labels if "Профессии будущего" in label))
    await admin.wait_for(lambda u: "Посещаемость: Фестиваль" in (u.last.text or ""), timeout=10)
    sheet = admin.last
    assert "Страница 1 из 6" in sheet.text
    assert sum(len(row) for row in sheet.buttons) <= 100 and all(len(row) <= 8 for row in sheet.buttons)
    labels = sheet.button_labels
    assert labels[0] == f"⬜ 1. 9 класс, {SCHOOL_A}"[:60] and f"⬜ 20. 9 класс, {SCHOOL_A}"[:60] in labels
    assert "◀" not in labels and "▶" in labels and not any(" 21. " in label for label in labels)
    await press_and_wait_edit(admin, "▶")
    assert "Страница 2 из 6" in admin.last.text
    labels = admin.last.button_labels
    assert "◀" in labels and "▶" in labels and f"⬜ 21. 9 класс, {SCHOOL_A}"[:60] in labels
    assert not any(" 20. " in label for label in labels)
    await press_and_wait_edit(admin, f"⬜ 25. 9 класс, {SCHOOL_A}"[:60])
    assert "Страница 2 из 6" in admin.last.text and "Пришли: 1" in admin.last.text  # still on page 2
    assert f"✅ 25. 9 класс, {SCHOOL_A}"[:60] in admin.last.button_labels
    marked = await rows(capp, select(Rsvp.id).where(Rsvp.event_id == event_id, Rsvp.attended.is_(True)))
    ids = await rows(capp, select(Rsvp.id).where(Rsvp.event_id == event_id).order_by(Rsvp.id))
    assert marked == [ids[24]]
    for _ in range(4):
        await press_and_wait_edit(admin, "▶")
    assert "Страница 6 из 6" in admin.last.text and "▶" not in admin.last.button_labels
    assert f"⬜ 120. 9 класс, {SCHOOL_A}"[:60] in admin.last.button_labels


def _csv(rows_: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADERS)
    writer.writerows(rows_)
    return buffer.getvalue().encode("utf-8")


async def test_import_is_validated_row_by_row_and_all_or_nothing(capp, emulator, clock):
    reader = emulator.user(6301, language_code="ru")
    await pupil(capp, reader, 9)
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/plan")
    await admin.press(KOSTROMA)
    await admin.wait_for(lambda u: sum(1 for m in u.bot_messages if m.document) == 2, timeout=10)
    template = next(
        m.document for m in admin.bot_messages if m.document and m.document.file_name.endswith(".xlsx")
    )
    sheet = load_workbook(io.BytesIO(template.data)).active
    assert [c.value for c in sheet[1]] == list(HEADERS)

    day = lambda d, h: local(d, h, base=clock.now()).strftime("%d.%m.%Y %H:%M")  # noqa: E731
    good = [
        ["День открытых дверей", "ДОД в техникуме", "", day(5, 11), "", "ул. Советская, 128", "", "8-11",
         "ученики, родители", "", "30", "", "да", "Костромской государственный университет", "региональный"],
        ["Профпроба", "Профпроба «Повар»", "", day(6, 14), day(6, 16), "", "", "7-11", "ученики",
         SCHOOL_A, "", "", "нет"],
    ]  # fmt: skip
    broken = [
        ["Танцы", "Неизвестный вид", "", day(7, 10), "", "", "", "8-11", "ученики", "", "", "", ""],
        ["Ярмарка", "Прошедшая", "", "01.01.2020 10:00", "", "", "", "8-11", "ученики", "", "0", "", ""],
        ["Ярмарка", "Конец раньше", "", day(7, 12), day(7, 11), "", "", "8-11", "ученики", "", "", "", ""],
        ["Ярмарка", "Ноль мест", "", day(7, 12), "", "", "", "8-11", "ученики", "", "0", "", ""],
        ["Ярмарка", "Чужой хозяин", "", day(7, 12), "", "", "", "8-11", "ученики", "", "", "", "", "ООО Рога",
         "галактический"],
    ]  # fmt: skip
    count = len(admin.bot_messages)
    await admin.send_document("plan.csv", _csv(good + broken))
    await admin.wait_messages(count + 1, timeout=10)
    report = admin.last.text
    assert "Ничего не опубликовано: ошибок — 6" in report
    assert "Строка 8 (Организатор): такой организации нет в справочнике" in report
    assert "Строка 8 (Уровень): уровень — международный" in report
    assert "Строка 4 (Вид): неизвестный вид мероприятия" in report
    assert "Строка 5: Это время уже прошло" in report
    assert "Строка 6: Окончание должно быть позже начала" in report
    assert "Строка 7: Число мест — целое число от 1 до 100000" in report
    assert await rows(capp, select(Event.id)) == []

    assert "файлом" in await send_and_wait(admin, "вот мой план")
    count = len(admin.bot_messages)
    await admin.send_document("readme.pdf", b"%PDF-1.4")
    await admin.wait_messages(count + 1, timeout=10)
    assert "файл .csv или .xlsx" in admin.last.text

    book = Workbook()
    sheet = book.active
    sheet.append(list(HEADERS))
    for row in good:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    count = len(admin.bot_messages)
    await admin.send_document("plan.xlsx", buffer.getvalue())
    await admin.wait_messages(count + 1, timeout=10)
    assert "Будет опубликовано мероприятий: 2" in admin.last.text
    assert "Профпроба «Повар»" in admin.last.text
    await press_and_wait_edit(admin, "📢 Опубликовать все")
    assert "Опубликовано мероприятий: 2" in admin.last.text
    await reader.wait_for(
        lambda u: sum(1 for m in u.bot_messages if "Пойду" in m.button_labels) == 2, timeout=10
    )
    stored = await rows(
        capp, select(Event.title, Event.capacity, Event.ovz_suitable, Event.school_id).order_by(Event.id)
    )
    assert [(t, c, o) for t, c, o, _ in stored] == [
        ("ДОД в техникуме", 30, True),
        ("Профпроба «Повар»", None, False),
    ]
