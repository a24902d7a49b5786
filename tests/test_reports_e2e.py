"""Reports end to end through the emulator, in Russian (and English): /stats with its chart, /stats <event>,
the XLSX/CSV export read back with openpyxl, who may see what, bad input, and the monthly summary."""

from __future__ import annotations

import asyncio
import csv
import io
import struct
import zipfile
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.i18n import build_i18n
from models import Outbox, OutboxStatus, Role, User, UserRole
from sandbox import SimUser
from services.monthly_summary import enqueue_monthly_summaries
from services.report_text import host_label, kind_label, level_label
from services.reports import month_of
from tests.dbcheck import outbox_drained, scalar
from tests.flows import send_and_wait
from tests.flows_reports import MSK, YEAR, Dataset, build, expected, expected_event, is_participant

COORD = 6001
I18N = build_i18n("ru")
TEACHER = 5001
STUDENT = 5002


async def _setup(app, language: str = "ru", announcements: bool = True) -> Dataset:
    async with app.sessions.begin() as session:
        ds = await build(session, teacher_tg=TEACHER, student_tg=STUDENT, announcements=announcements)
        user = User(telegram_id=COORD, language=language, consent_at=datetime(2025, 9, 1, tzinfo=UTC))
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role=Role.coordinator, municipality_id=ds.municipality_id))
    return ds


async def _eventually(app, query, value, timeout: float = 10.0) -> None:
    """The handler commits after it answers: wait for the database to say `value`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (got := await scalar(app, query)) != value:
        assert asyncio.get_running_loop().time() < deadline, f"still {got!r}"
        await asyncio.sleep(0.05)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def _wait_file(user: SimUser, attr: str, count: int) -> bytes:
    await user.wait_for(
        lambda u: sum(getattr(m, attr) is not None for m in u.bot_messages) >= count, timeout=20
    )
    record = [getattr(m, attr) for m in user.bot_messages if getattr(m, attr) is not None][count - 1]
    return bytes(record.data)


async def _report(user: SimUser, command: str) -> str:
    """/stats answers with the text, then the chart: wait for both, return the text."""
    photos = sum(m.photo is not None for m in user.bot_messages)
    text = await send_and_wait(user, command, timeout=20)
    await _wait_file(user, "photo", photos + 1)
    return text


def _sheet_table(book, title: str) -> tuple[list[str], list[list[object]], list[str]]:
    ws = book[title]
    values = [list(row) for row in ws.iter_rows(values_only=True)]
    header = [str(v[0]) for v in values[:4]]
    columns = [str(c) for c in values[5]]
    return header, values[6:], columns


def _ru(fn, *args):
    with I18N.context(), I18N.use_locale("ru"):
        return str(fn(*args))


COVERAGE = ["Ученики", "Уникальные участники", "Охват, %"]
OVERVIEW_COLUMNS = {
    "Сводка": ["Показатель", "За период", "Нарастающим итогом"],
    "Мероприятия по видам": ["Вид", "Мероприятия"],
    "Мероприятия по уровням": ["Уровень", "Мероприятия"],
    "Охват по ступеням": ["Классы", *COVERAGE],
    "Охват по школам": ["Школа", *COVERAGE],
    "По месяцам": ["Месяц", "Участия", "Уникальные участники"],
    "Профпробы": ["Тип площадки", "Мероприятия", "Участия"],
    "Удовлетворённость": ["Школа", "Ученики: средняя оценка", "Ученики: ответов", "Родители: средняя оценка",
                          "Родители: ответов"],
    "Мероприятия": ["№", "Дата", "Название", "Вид", "Уровень", "Площадка", "Тип площадки", "«Пойду»",
                    "«Возможно»", "«Не пойду»", "Лист ожидания", "Пришли", "Не пришли", "Участников-учеников",
                    "из них с ОВЗ", "Победители", "Призёры"],
}  # fmt: skip
SUMMARY_ROWS = {
    "Записались («Пойду»)": "signups",
    "«Возможно»": "maybe",
    "В листе ожидания": "waitlisted",
    "Пришли": "attended",
    "Не пришли": "no_shows",
    "Участий учеников": "participations",
    "Уникальных участников-учеников": "unique_pupils",
    "из них с ОВЗ": "ovz_pupils",
    "Победители": "winners",
    "Призёры": "prize_winners",
    "Родители и педагоги (собственные записи)": "adults",
}


def _pct(participants: int, pupils: int) -> float | None:
    return round(participants / pupils * 100, 1) if pupils else None


def check_overview_workbook(book, ds: Dataset, exp, period: str = "01.09.2025 – 31.08.2026") -> None:
    """Every sheet of a coordinator's overview workbook (Kostroma), its header and every cell of its
    tables, against the ground truth `exp`."""
    assert book.sheetnames == list(OVERVIEW_COLUMNS)
    assert exp.feedback and exp.trials and len(exp.by_month) > 3 and exp.waitlisted and exp.no_shows
    tables = {}
    for name, columns in OVERVIEW_COLUMNS.items():
        header, rows, got = _sheet_table(book, name)
        assert header[:3] == [
            "Профориентация: отчёт об участии",
            "Муниципалитет / школа: город Кострома",
            f"Период: {period}",
        ], name
        assert header[3].startswith("Сформировано: ")
        assert got == columns, name
        tables[name] = rows
    assert {r[0]: (r[1], r[2]) for r in tables["Сводка"]} == {
        label: (exp.totals[key], exp.cumulative[key]) for label, key in SUMMARY_ROWS.items()
    }
    assert len(tables["Сводка"]) == len(SUMMARY_ROWS)
    kinds = {_ru(kind_label, k): n for k, n in exp.events_by_kind.items()}
    assert {r[0]: r[1] for r in tables["Мероприятия по видам"]} == kinds
    levels = {_ru(level_label, k): n for k, n in exp.events_by_level.items()}
    assert {r[0]: r[1] for r in tables["Мероприятия по уровням"]} == levels
    pupils = sum(n for _p, n in exp.band.values())
    bands = [[name, n, p, _pct(p, n)] for name, (p, n) in exp.band.items()]
    assert tables["Охват по ступеням"] == [*bands, ["Всего", pupils, exp.unique, _pct(exp.unique, pupils)]]
    schools = sorted([name, n, p, _pct(p, n)] for name, (p, n) in exp.school.items())
    assert tables["Охват по школам"] == schools
    months = [[m, n, exp.by_month_unique[m]] for m, n in sorted(exp.by_month.items())]
    assert tables["По месяцам"] == months
    trials = {_ru(host_label, h): (e, p) for h, (e, p) in exp.trials.items()}
    assert {r[0]: (r[1], r[2]) for r in tables["Профпробы"]} == trials
    assert len(tables["Профпробы"]) == len(trials)

    def r2(v: float | None) -> float | None:
        return round(v, 2) if v is not None else None

    feedback = sorted([school, r2(sa), sn, r2(pa), pn] for school, (sa, sn, pa, pn) in exp.feedback.items())
    assert tables["Удовлетворённость"] == feedback
    # One row per held event of the year, with its answers (of everyone, for a coordinator).
    events = sorted(
        (e for e in ds.events if e.municipality_id == ds.municipality_id and e.status in ("published", "finished")
         and YEAR.start <= e.starts_at.astimezone(MSK).date() <= YEAR.end),
        key=lambda e: (e.starts_at, e.id),
    )  # fmt: skip
    rows = tables["Мероприятия"]
    assert [r[0] for r in rows] == [e.id for e in events]
    for row, e in zip(rows, events, strict=True):
        rs = [r for r in ds.rsvps if r.event_id == e.id]
        part = [r for r in rs if is_participant(r)]
        assert row[1] == e.starts_at.astimezone(MSK).strftime("%d.%m.%Y %H:%M")
        assert row[3:5] == [_ru(kind_label, e.kind), _ru(level_label, e.level)]
        assert row[6] == (_ru(host_label, e.host_type) if e.host_type else None)
        assert row[7:] == [
            sum(r.status == "going" for r in rs),
            sum(r.status == "maybe" for r in rs),
            sum(r.status == "not_going" for r in rs),
            sum(r.status in ("waitlisted", "offered") for r in rs),
            sum(r.attended is True for r in rs),
            sum(r.attended is False for r in rs),
            len({r.learner_id for r in part}),
            len({r.learner_id for r in part if r.ovz}),
            sum(r.result == "winner" for r in part),
            sum(r.result == "prize_winner" for r in part),
        ], e.id


async def test_coordinator_overview_chart_and_workbook_match_ground_truth(app, emulator):
    ds = await _setup(app)
    exp = expected(ds, set(ds.schools), ds.municipality_id)
    coord = emulator.user(COORD, language_code="ru")

    text = await send_and_wait(coord, "/stats 2025/2026", timeout=20)
    assert "Отчёт об участии: город Кострома" in text
    assert "Период: 01.09.2025 – 31.08.2026" in text
    assert f"Уникальных участников-учеников: {exp.unique}, из них с ОВЗ: {exp.ovz}" in text
    assert f"Записались («Пойду»): {exp.signups}" in text
    assert f"Пришли: {exp.attended} · не пришли: {exp.no_shows}" in text
    assert f"Мероприятий за период: {sum(exp.events_by_kind.values())}" in text
    p, n = exp.band["5–9"]
    assert f"5–9 классы: {p} из {n} — {p / n * 100:.1f}%".replace(".", ",") in text
    labels = coord.last.button_labels
    assert "📥 Excel (XLSX)" in labels and "Учебный год" in labels

    png = await _wait_file(coord, "photo", 1)
    width, height = _png_size(png)
    assert 800 <= width <= 1600 and 600 <= height <= 2000
    assert 10_000 < len(png) < 1_000_000

    await coord.press("📥 Excel (XLSX)")
    data = await _wait_file(coord, "document", 1)
    book = load_workbook(io.BytesIO(data))
    check_overview_workbook(book, ds, exp)

    await coord.send("/export 2025/2026 csv")
    data = await _wait_file(coord, "document", 2)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert len(names) == len(book.sheetnames)
        first = archive.read(names[0]).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(first), delimiter=";"))
    assert table[0] == ["Профориентация: отчёт об участии"]
    assert table[5] == ["Показатель", "За период", "Нарастающим итогом"]


def _r2(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


async def test_event_report_and_participant_list(app, emulator):
    """/stats <event> and its workbook («Сводка», «По школам и классам», «Участники») against ground truth:
    notified and delivered, answers, feedback, and every row of the breakdown by school and grade."""
    ds = await _setup(app)
    coord = emulator.user(COORD, language_code="ru")
    target = next(
        e for e in ds.events
        if e.municipality_id == ds.municipality_id and e.status == "finished"
        and YEAR.start <= e.starts_at.astimezone(MSK).date() <= YEAR.end
        and (x := expected_event(ds, e.id)).notified > x.delivered > 0 and x.feedback_parent[1]
    )  # fmt: skip
    exp = expected_event(ds, target.id)
    rows = [r for r in ds.rsvps if r.event_id == target.id]
    text = await send_and_wait(coord, f"/stats {target.id}", timeout=20)
    assert f"Отчёт по мероприятию №{target.id}" in text
    going = sum(r.status == "going" for r in rows)
    maybe = sum(r.status == "maybe" for r in rows)
    not_going = sum(r.status == "not_going" for r in rows)
    assert f"Оповещено: {exp.notified} · доставлено: {exp.delivered}" in text
    assert f"«Пойду»: {going} · «Возможно»: {maybe} · «Не пойду»: {not_going}" in text
    assert (
        f"Пришли: {sum(r.attended is True for r in rows)} · не пришли: {sum(r.attended is False for r in rows)}"
        in text
    )
    (sa, sn), (pa, pn) = exp.feedback_student, exp.feedback_parent
    fmt = lambda v: "—" if v is None else f"{v:.2f}".replace(".", ",")  # noqa: E731  (Russian decimal comma)
    assert f"Отзывы: ученики {fmt(sa)} ({sn}), родители {fmt(pa)} ({pn})" in text
    assert "По школам и классам" in text
    # The first 25 rows, by school name and grade (adults and unattributed messages last), then a count.
    order = sorted(
        exp.rows, key=lambda k: (k[0] is None, ds.school_names.get(k[0] or 0, ""), k[1] is None, k[1] or 0)
    )
    assert len(order) > 25
    for school, grade in order[:25]:
        x = exp.rows[(school, grade)]
        name = ds.school_names[school] if school is not None else "без школы"
        who = f"{grade} класс" if grade is not None else "взрослые"
        numbers = " / ".join(str(x[k]) for k in ("notified", "delivered", "going", "maybe", "not_going",
                                                 "waitlisted", "attended", "no_shows"))  # fmt: skip
        assert f"• {name}, {who}: {numbers}" in text
    assert f"… ещё {len(order) - 25} строк — в таблице (/export {target.id})" in text
    png = await _wait_file(coord, "photo", 1)
    assert _png_size(png)[0] >= 800

    await coord.press("📥 Список участников (XLSX)")
    data = await _wait_file(coord, "document", 1)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Сводка", "По школам и классам", "Участники"]
    header, summary, columns = _sheet_table(book, "Сводка")
    assert header[0].startswith(f"Мероприятие №{target.id}: ")
    assert header[1] == "Муниципалитет / школа: город Кострома"
    assert columns == ["Показатель", "Значение"]
    assert dict((str(k), v) for k, v in summary) == {
        "Оповещено": exp.notified,
        "Доставлено": exp.delivered,
        "«Пойду»": exp.going,
        "«Возможно»": exp.maybe,
        "«Не пойду»": exp.not_going,
        "Лист ожидания": exp.waitlisted,
        "Отменили": exp.cancelled,
        "Пришли": exp.attended,
        "Не пришли": exp.no_shows,
        "Участников-учеников": exp.participants,
        "из них с ОВЗ": exp.ovz,
        "Победители": sum(r.result == "winner" and is_participant(r) for r in rows),
        "Призёры": sum(r.result == "prize_winner" and is_participant(r) for r in rows),
        "Отзывы учеников: средняя оценка": _r2(sa),
        "Отзывы учеников: ответов": sn,
        "Отзывы родителей: средняя оценка": _r2(pa),
        "Отзывы родителей: ответов": pn,
    }
    _h, table, columns = _sheet_table(book, "По школам и классам")
    fields = [
        "going",
        "maybe",
        "not_going",
        "waitlisted",
        "attended",
        "no_shows",
        "ovz",
        "notified",
        "delivered",
    ]
    assert columns == ["Школа", "Класс", "«Пойду»", "«Возможно»", "«Не пойду»", "Лист ожидания", "Пришли",
                       "Не пришли", "из них с ОВЗ", "Оповещено", "Доставлено", "Отзывы учеников: средняя оценка",
                       "Отзывы учеников: ответов", "Отзывы родителей: средняя оценка",
                       "Отзывы родителей: ответов"]  # fmt: skip
    want = {}
    for (school, grade), x in exp.rows.items():
        fs, fp = x["feedback_student"], x["feedback_parent"]
        assert isinstance(fs, tuple) and isinstance(fp, tuple)
        name = ds.school_names[school] if school is not None else None  # an empty cell reads back as None
        want[(name, grade)] = [*(x[f] for f in fields), _r2(fs[0]), fs[1], _r2(fp[0]), fp[1]]
    assert {(r[0], r[1]): list(r[2:]) for r in table} == want
    assert len(table) == len(want)

    header, people, columns = _sheet_table(book, "Участники")
    assert header[0].startswith(f"Мероприятие №{target.id}: ")
    assert columns == ["№", "Школа", "Класс", "Кто", "Ответ", "Пришли", "ОВЗ", "Результат", "Без записи"]
    assert len(people) == len(rows)
    assert sum(1 for p in people if p[4] == "Пойду") == going


async def test_who_sees_what(app, emulator):
    ds = await _setup(app)
    other_event = next(
        e for e in ds.events if e.municipality_id == ds.other_municipality_id and e.status != "draft"
    )

    student = emulator.user(STUDENT, language_code="ru")
    assert await send_and_wait(student, "/stats") == "Статистика доступна только координаторам и педагогам."
    assert await send_and_wait(student, "/export") == "Статистика доступна только координаторам и педагогам."
    # A forged button changes nothing and shows nothing.
    before = len(student.bot_messages)
    await student.press(data="rep:x:20250901-20260831", force=True)
    await student.wait_messages(before + 1, timeout=10)
    assert student.last.text == "Статистика доступна только координаторам и педагогам."
    assert all(m.document is None and m.photo is None for m in student.bot_messages)

    teacher = emulator.user(TEACHER, language_code="ru")
    text = await _report(teacher, "/stats 2025/2026")
    school = min(ds.schools)
    exp = expected(ds, {school}, ds.municipality_id, school_events=school)
    assert f"Отчёт об участии: {ds.schools[school]}" in text
    assert f"Уникальных участников-учеников: {exp.unique}," in text
    for name in ds.schools.values():
        if name != ds.schools[school]:
            assert name not in text
    # The latest events are counted for the teacher's school only: answers, and the announcements attributed
    # to it (a pupil of the school, a parent of one, the teacher).
    latest = sorted(
        (e for e in ds.events if e.municipality_id == ds.municipality_id and e.status in ("published", "finished")
         and e.school_id in (None, school) and YEAR.start <= e.starts_at.astimezone(MSK).date() <= YEAR.end),
        key=lambda e: (e.starts_at, e.id),
        reverse=True,
    )[:8]  # fmt: skip
    partly = 0
    for event in latest:
        mine = [r for r in ds.rsvps if r.event_id == event.id and r.school_id == school]
        counts = [sum(r.status == s for r in mine) for s in ("going", "maybe", "not_going")]
        notified = expected_event(ds, event.id, school=school).notified
        partly += 0 < notified < expected_event(ds, event.id).notified
        assert f"#{event.id} Мероприятие" in text
        assert "Оповещено: {} · Пойду: {} · Возможно: {} · Не пойду: {}".format(notified, *counts) in text
    assert partly >= 2
    refused = "Среди доступных вам мероприятий нет мероприятия с таким номером."
    assert await send_and_wait(teacher, f"/stats {other_event.id}") == refused
    before = len(teacher.bot_messages)
    await teacher.press(data=f"rep:ex:{other_event.id}", force=True)
    await teacher.wait_for(lambda u: len(u.bot_messages) > before and u.last.text == refused, timeout=10)

    coord = emulator.user(COORD, language_code="ru")
    assert await send_and_wait(coord, f"/stats {other_event.id}") == refused
    assert await send_and_wait(coord, f"/export {other_event.id}") == refused


async def test_bad_input_gets_a_polite_answer(app, emulator):
    await _setup(app)
    coord = emulator.user(COORD, language_code="ru")
    text = await send_and_wait(coord, "/stats вчера")
    assert text.startswith("Не понял период. Примеры: /stats")
    text = await send_and_wait(coord, "/stats 31.02.2026-01.03.2026")
    assert text.startswith("Не понял период.")
    text = await send_and_wait(coord, "/export " + "я" * 3000)
    assert text.startswith("Не понял. Примеры: /export")
    await coord.press(data="rep:p:garbage", force=True)
    answer = await coord.wait_callback_answer(timeout=10)
    assert answer.text == "Эта кнопка устарела."
    text = await send_and_wait(coord, "/stats 99999999999999999999")
    assert text == "Среди доступных вам мероприятий нет мероприятия с таким номером."


async def test_english_coordinator(app, emulator):
    ds = await _setup(app, language="en")
    exp = expected(ds, set(ds.schools), ds.municipality_id)
    coord = emulator.user(COORD, language_code="en")
    text = await _report(coord, "/stats 2025/2026")
    assert "Participation report: город Кострома" in text
    assert f"Unique participating pupils: {exp.unique}, of them with ОВЗ: {exp.ovz}" in text


async def test_monthly_summary_goes_once_and_can_be_switched_off(app, emulator):
    ds = await _setup(app, announcements=False)  # waits for an empty outbox: no pending announcements
    coord = emulator.user(COORD, language_code="ru")
    await send_and_wait(coord, "/help")
    october = month_of(date(2025, 10, 1))
    exp = expected(ds, set(ds.schools), ds.municipality_id, october)
    async with app.sessions.begin() as session:
        assert await enqueue_monthly_summaries(session, date(2025, 11, 3)) >= 1
        assert await enqueue_monthly_summaries(session, date(2025, 11, 4)) == 0  # once per month
        assert await enqueue_monthly_summaries(session, date(2025, 11, 20)) == 0  # only early in a month
    await coord.wait_for(lambda u: "Ежемесячная сводка" in (u.last.text or ""), timeout=20)
    text = coord.last.text
    assert "Период: 01.10.2025 – 31.10.2025" in text
    assert f"Уникальных участников-учеников: {exp.unique}, из них с ОВЗ: {exp.ovz}" in text
    assert f"Мероприятий за период: {sum(exp.events_by_kind.values())}" in text
    await outbox_drained(app)
    key = "monthly:2025-10:"
    sent = await scalar(
        app, select(func.count()).where(Outbox.key.startswith(key), Outbox.status == OutboxStatus.sent)
    )
    assert sent == 1  # the only coordinator

    await coord.press("🔕 Не присылать сводку")
    await coord.wait_for(lambda u: "Ежемесячная сводка отключена" in (u.last.text or ""), timeout=10)
    await _eventually(app, select(User.monthly_summary).where(User.telegram_id == COORD), False)
    async with app.sessions.begin() as session:
        assert await enqueue_monthly_summaries(session, date(2025, 12, 1)) == 0
    await coord.press("🔔 Присылать снова")
    await coord.wait_for(lambda u: "снова включена" in (u.last.text or ""), timeout=10)
    await _eventually(app, select(User.monthly_summary).where(User.telegram_id == COORD), True)
