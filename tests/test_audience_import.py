"""Directory and pupil-count import from CSV/XLSX documents: templates, good files, and every kind of bad
file refused whole with line numbers and reasons (nothing imported)."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import func, select

from models import Municipality, Organisation, OrganisationType, PupilCount, School
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows, scalar
from tests.flows import SCHOOL_A, SCHOOL_B, press_and_wait_edit, send_and_wait, subscribe
from tests.flows_audience import create_invite, open_invite

DIRECTORY_CSV = (
    "Регион;Муниципалитет;Тип;Название;Часовой пояс\n"
    "Ставропольский край;Кочубеевский муниципальный округ;школа;МКОУ СОШ № 1 с. Кочубеевское;Europe/Moscow\n"
    "Ставропольский край;Кочубеевский муниципальный округ;школа;МКОУ СОШ № 2;\n"
    "Ставропольский край;город Невинномысск;доп. образование;Детский технопарк «Кванториум»;Europe/Moscow\n"
    "Ставропольский край;город Невинномысск;колледж;Невинномысский энергетический техникум;\n"
    "Ставропольский край;город Невинномысск;предприятие;АО «Невинномысский Азот»;\n"
    "Ставропольский край;город Невинномысск;вуз;Невинномысский филиал СКФУ;\n"
)


async def _counts(app) -> tuple[int, int, int, int]:
    return tuple(
        [
            await scalar(app, select(func.count()).select_from(model))
            for model in (Municipality, School, Organisation, PupilCount)
        ]
    )


async def _send_file(user, kind_label: str, name: str, data: bytes) -> str:
    await send_and_wait(user, "/import")
    await press_and_wait_edit(user, kind_label)
    count = len(user.bot_messages)
    await user.send_document(name, data)
    await user.wait_messages(count + 1, timeout=15)
    return user.last.text or ""


def _xlsx(rows_: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows_:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


DIRECTORY = "🏫 Справочник: школы и организации"
PUPILS = "👥 Численность учащихся по классам"


async def test_template_can_be_filled_and_imported(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/import")
    count = len(admin.bot_messages)
    await admin.press("📄 Шаблон: справочник")
    await admin.wait_messages(count + 1, timeout=10)
    template = admin.last.document
    assert template is not None and template.file_name == "directory_template.xlsx"
    assert "Столбцы: регион, муниципалитет, тип, название" in admin.last.caption
    text = await _send_file(admin, DIRECTORY, "directory_template.xlsx", template.data)
    assert text == "Загружено: новых муниципалитетов — 0, школ — 1, организаций — 1."
    assert await scalar(app, select(School.id).where(School.name == "МБОУ «Лицей № 20»"))
    org_type = await scalar(
        app, select(Organisation.type).where(Organisation.name == "ОГБПОУ «Костромской колледж»")
    )
    assert org_type is OrganisationType.college


async def test_directory_csv_with_every_host_type(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    text = await _send_file(admin, DIRECTORY, "справочник.csv", DIRECTORY_CSV.encode("utf-8-sig"))
    assert text == "Загружено: новых муниципалитетов — 2, школ — 2, организаций — 4."
    types = dict(await rows(app, select(Organisation.name, Organisation.type)))
    assert types["Детский технопарк «Кванториум»"] is OrganisationType.additional_education
    assert types["АО «Невинномысский Азот»"] is OrganisationType.enterprise
    assert types["Невинномысский филиал СКФУ"] is OrganisationType.university
    # The same file again adds nothing and breaks nothing.
    text = await _send_file(admin, DIRECTORY, "справочник.csv", DIRECTORY_CSV.encode("cp1251"))
    assert text == "Загружено: новых муниципалитетов — 0, школ — 0, организаций — 0."


async def test_pupil_counts_xlsx(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    data = _xlsx(
        [
            ["Муниципалитет", "Школа", "Класс", "Учеников", "Учебный год"],
            ["город Кострома", SCHOOL_A, 9, 52, "2025/2026"],
            ["город Кострома", SCHOOL_A, 10, 48, "2025/2026"],
            ["город Кострома", SCHOOL_B, 9, 61, "2025/2026"],
        ]
    )
    text = await _send_file(admin, PUPILS, "учащиеся.xlsx", data)
    assert text == "Загружено: численность учащихся для 3 параллелей."
    stored = await rows(
        app, select(PupilCount.grade, PupilCount.pupils, PupilCount.school_year).order_by(PupilCount.id)
    )
    assert stored == [(9, 52, 2025), (10, 48, 2025), (9, 61, 2025)]


async def test_bad_files_are_refused_whole_with_line_numbers(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    before = await _counts(app)
    header = "Муниципалитет;Школа;Класс;Учеников\n"
    cases = [
        (
            DIRECTORY,
            "wrong.csv",
            "Город;Школа\nКострома;1\n".encode(),
            [
                "Строка 1: неверные столбцы: лишние «Город, Школа», не хватает «Регион, Муниципалитет, Тип, Название»"
            ],
        ),
        (
            PUPILS,
            "unknown.csv",
            (header + f"город Кострома;{SCHOOL_A};9;50\nгород Кострома;МБОУ «Школа № 999»;9;20\n").encode(),
            ["Строка 3: неизвестная школа «МБОУ «Школа № 999»»"],
        ),
        (
            PUPILS,
            "grades.csv",
            (header + f"город Кострома;{SCHOOL_A};0;50\nгород Кострома;{SCHOOL_A};12;20\n").encode(),
            ["Строка 2: класс «0» — не от 1 до 11", "Строка 3: класс «12» — не от 1 до 11"],
        ),
        (
            PUPILS,
            "dupes.csv",
            (header + f"город Кострома;{SCHOOL_A};9;50\nгород Кострома;{SCHOOL_A};9;51\n").encode(),
            ["Строка 3: повторяет строку 2"],
        ),
        (
            DIRECTORY,
            "dupes.csv",
            (DIRECTORY_CSV + DIRECTORY_CSV.splitlines()[1] + "\n").encode(),
            ["Строка 8: повторяет строку 2"],
        ),
        (DIRECTORY, "empty.csv", b"", ["Файл пустой"]),
        (
            DIRECTORY,
            "only_header.csv",
            "Регион;Муниципалитет;Тип;Название\n".encode(),
            ["нет ни одной строки"],
        ),
        (DIRECTORY, "plan.pdf", b"%PDF-1.4 binary \x00\x01\x02", ["Это не таблица CSV или XLSX"]),
        (DIRECTORY, "fake.xlsx", b"PK\x03\x04 not really a workbook", ["Это не таблица CSV или XLSX"]),
        (DIRECTORY, "big.csv", b"a;b\n" * (10 * 1024 * 1024 // 4), ["Файл слишком большой (не больше 2 МБ)"]),
        (
            DIRECTORY,
            "types.csv",
            "Регион;Муниципалитет;Тип;Название\nКостромская область;город Кострома;замок;Замок\n".encode(),
            ["Строка 2: неизвестный тип «замок»"],
        ),
    ]
    for kind, name, data, expected in cases:
        text = await _send_file(admin, kind, name, data)
        assert "Файл не загружен" in text and "Ничего не изменилось" in text, (name, text)
        for fragment in expected:
            assert fragment in text, (name, text)
        assert await _counts(app) == before, name


async def test_municipal_coordinator_imports_only_into_own_municipality(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    coordinator = emulator.user(8001, language_code="ru")
    code = await create_invite(
        admin, role="Координатор (муниципалитет)", municipality="Чухломский муниципальный район"
    )
    await open_invite(coordinator, code)
    before = await _counts(app)
    data = f"Муниципалитет;Школа;Класс;Учеников\nгород Кострома;{SCHOOL_A};9;50\n".encode()
    text = await _send_file(coordinator, PUPILS, "k.csv", data)
    assert "Строка 2: «город Кострома» — не ваш муниципалитет" in text
    assert await _counts(app) == before


async def test_import_refused_to_non_coordinators(app, emulator):
    parent = emulator.user(8002, language_code="ru")
    await subscribe(parent, "Я родитель", SCHOOL_A, 9)
    before = await _counts(app)
    assert await send_and_wait(parent, "/import") == "Эта команда доступна только координаторам."
    count = len(parent.bot_messages)
    await parent.send_document("справочник.csv", DIRECTORY_CSV.encode())
    await parent.wait_messages(count + 1, timeout=10)
    assert "Загружено" not in parent.last.text
    await parent.press(data="im:directory", force=True)
    assert "недоступна" in (await parent.wait_callback_answer(timeout=10)).text
    count = len(parent.bot_messages)
    await parent.send_document("справочник.csv", DIRECTORY_CSV.encode())
    await parent.wait_messages(count + 1, timeout=10)
    assert await _counts(app) == before


async def test_import_report_in_english(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="en")
    await send_and_wait(admin, "/import")
    await press_and_wait_edit(admin, "👥 Pupil counts by grade")
    count = len(admin.bot_messages)
    await admin.send_document(
        "c.csv", f"municipality,school,grade,pupils\nгород Кострома,{SCHOOL_A},12,5\n".encode()
    )
    await admin.wait_messages(count + 1, timeout=10)
    assert "The file was not imported" in admin.last.text
    assert "Line 2: grade «12» is not from 1 to 11" in admin.last.text
