"""Loading the directory (municipalities, schools, host organisations) and pupil counts from a CSV or
XLSX file a coordinator sends to the bot.

All or nothing: the file is parsed and checked completely first; if any row is wrong, every problem is
reported with its line number and nothing is written.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Municipality, Organisation, OrganisationType, PupilCount, Role, School
from services.people import Profile

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_NAME = 300

DIRECTORY_COLUMNS = ("region", "municipality", "type", "name", "timezone")
DIRECTORY_REQUIRED = ("region", "municipality", "type", "name")
PUPILS_COLUMNS = ("municipality", "school", "grade", "pupils", "school_year")
PUPILS_REQUIRED = ("municipality", "school", "grade", "pupils")

# Header names accepted in files (lower case); the template uses the Russian ones.
HEADER_ALIASES = {
    "регион": "region",
    "субъект": "region",
    "region": "region",
    "муниципалитет": "municipality",
    "муниципальное образование": "municipality",
    "municipality": "municipality",
    "тип": "type",
    "type": "type",
    "название": "name",
    "наименование": "name",
    "name": "name",
    "часовой пояс": "timezone",
    "timezone": "timezone",
    "школа": "school",
    "school": "school",
    "класс": "grade",
    "grade": "grade",
    "учеников": "pupils",
    "число учащихся": "pupils",
    "pupils": "pupils",
    "учебный год": "school_year",
    "school_year": "school_year",
    "school year": "school_year",
}

# How missing columns are named in reports: as in the templates.
COLUMN_TITLES = {
    "region": "Регион",
    "municipality": "Муниципалитет",
    "type": "Тип",
    "name": "Название",
    "timezone": "Часовой пояс",
    "school": "Школа",
    "grade": "Класс",
    "pupils": "Учеников",
    "school_year": "Учебный год",
}

SCHOOL_TYPE = "school"
TYPE_ALIASES = {
    "школа": SCHOOL_TYPE,
    "school": SCHOOL_TYPE,
    "оо": SCHOOL_TYPE,
    "колледж": OrganisationType.college.value,
    "техникум": OrganisationType.college.value,
    "поо": OrganisationType.college.value,
    "college": OrganisationType.college.value,
    "вуз": OrganisationType.university.value,
    "университет": OrganisationType.university.value,
    "university": OrganisationType.university.value,
    "предприятие": OrganisationType.enterprise.value,
    "enterprise": OrganisationType.enterprise.value,
    "доп. образование": OrganisationType.additional_education.value,
    "дополнительное образование": OrganisationType.additional_education.value,
    "центр дополнительного образования": OrganisationType.additional_education.value,
    "additional_education": OrganisationType.additional_education.value,
    "центр занятости": OrganisationType.employment_centre.value,
    "employment_centre": OrganisationType.employment_centre.value,
    "другое": OrganisationType.other.value,
    "other": OrganisationType.other.value,
}


@dataclass(frozen=True)
class Problem:
    """One reason a file is refused: a line number (0 for the whole file), a code and its details."""

    line: int
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportResult:
    problems: list[Problem] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportRefused(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.problems = problems


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_table(file_name: str, data: bytes) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty line, header first; raises ImportRefused if unreadable."""
    if not data or not data.strip():
        raise ImportRefused([Problem(0, "empty")])
    if len(data) > MAX_BYTES:
        raise ImportRefused([Problem(0, "too_big", {"mb": MAX_BYTES // (1024 * 1024)})])
    name = file_name.lower()
    if data[:2] == b"PK" or name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    if not name.endswith((".csv", ".txt")) and not name.endswith(".tsv"):
        raise ImportRefused([Problem(0, "not_spreadsheet")])
    return _read_csv(data)


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise ImportRefused([Problem(0, "not_spreadsheet")]) from None
    except Exception:  # openpyxl raises its own InvalidFileException and friends
        raise ImportRefused([Problem(0, "not_spreadsheet")]) from None
    try:
        sheet = workbook.worksheets[0]
        table = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_clean(v) for v in row]
            if any(cells):
                table.append((number, cells))
            if len(table) > MAX_ROWS + 1:
                raise ImportRefused([Problem(0, "too_many_rows", {"n": MAX_ROWS})])
        return table
    finally:
        workbook.close()


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    if b"\x00" in data[:4096]:
        raise ImportRefused([Problem(0, "not_spreadsheet")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251", errors="replace")
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max((";", ",", "\t"), key=first.count)
    table = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for cells in reader:
            cleaned = [c.strip() for c in cells]
            if any(cleaned):
                table.append((reader.line_num, cleaned))
            if len(table) > MAX_ROWS + 1:
                raise ImportRefused([Problem(0, "too_many_rows", {"n": MAX_ROWS})])
    except csv.Error:
        raise ImportRefused([Problem(0, "not_spreadsheet")]) from None
    return table


def _records(
    table: list[tuple[int, list[str]]], columns: Sequence[str], required: Sequence[str]
) -> list[tuple[int, dict[str, str]]]:
    """Map the header to our column names; unknown or missing columns refuse the whole file."""
    if not table:
        raise ImportRefused([Problem(0, "empty")])
    header_line, header = table[0]
    names = [HEADER_ALIASES.get(h.strip().lower(), "") for h in header]
    unknown = [h for h, n in zip(header, names, strict=True) if h and (not n or n not in columns)]
    missing = [COLUMN_TITLES[c] for c in required if c not in names]
    if unknown or missing:
        raise ImportRefused(
            [
                Problem(
                    header_line,
                    "bad_columns",
                    {"unknown": ", ".join(unknown) or "—", "missing": ", ".join(missing) or "—"},
                )
            ]
        )
    if len(table) == 1:
        raise ImportRefused([Problem(0, "no_rows")])
    records = []
    for line, cells in table[1:]:
        record = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(names) if name}
        records.append((line, record))
    return records


def _muni_key(region: str, name: str) -> tuple[str, str]:
    return region.strip().lower(), name.strip().lower()


async def import_directory(
    session: AsyncSession, actor: Profile, file_name: str, data: bytes
) -> ImportResult:
    """Municipalities, schools and host organisations; existing ones are kept, new ones added."""
    if not actor.has(Role.coordinator):
        return ImportResult([Problem(0, "forbidden")])
    try:
        records = _records(read_table(file_name, data), DIRECTORY_COLUMNS, DIRECTORY_REQUIRED)
    except ImportRefused as refused:
        return ImportResult(refused.problems)
    municipalities = {
        _muni_key(m.region, m.name): m for m in (await session.scalars(select(Municipality))).all()
    }
    scope = actor.coordinator_municipalities  # None: an admin imports anywhere
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    plan: list[tuple[tuple[str, str], str, str, str, str]] = []
    for line, row in records:
        region, muni, kind_raw, name = (row.get(c, "") for c in ("region", "municipality", "type", "name"))
        timezone = row.get("timezone", "") or "Europe/Moscow"
        empty = [c for c in DIRECTORY_REQUIRED if not row.get(c)]
        if empty:
            problems.append(Problem(line, "empty_cell", {"column": ", ".join(empty)}))
            continue
        kind = TYPE_ALIASES.get(kind_raw.lower())
        if kind is None:
            problems.append(Problem(line, "bad_type", {"value": kind_raw}))
            continue
        if max(len(region), len(muni), len(name)) > MAX_NAME:
            problems.append(Problem(line, "too_long", {"n": MAX_NAME}))
            continue
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(timezone)
        except (ValueError, KeyError, OSError):
            problems.append(Problem(line, "bad_timezone", {"value": timezone}))
            continue
        key = _muni_key(region, muni)
        existing = municipalities.get(key)
        if scope is not None and (existing is None or existing.id not in scope):
            problems.append(Problem(line, "outside_scope", {"value": muni}))
            continue
        dedup = (*key, kind if kind == SCHOOL_TYPE else "org", name.lower())
        if dedup in seen:
            problems.append(Problem(line, "duplicate", {"other": seen[dedup]}))
            continue
        seen[dedup] = line
        plan.append((key, region, muni, timezone, f"{kind}\t{name}"))
    if problems:
        return ImportResult(problems)
    created = {"municipalities": 0, "schools": 0, "organisations": 0}
    for key, region, muni, timezone, item in plan:
        municipality = municipalities.get(key)
        if municipality is None:
            municipality = Municipality(region=region, name=muni, timezone=timezone)
            session.add(municipality)
            await session.flush()
            municipalities[key] = municipality
            created["municipalities"] += 1
        kind, name = item.split("\t", 1)
        if kind == SCHOOL_TYPE:
            exists = await session.scalar(
                select(School.id).where(School.municipality_id == municipality.id, School.name == name)
            )
            if exists is None:
                session.add(School(municipality_id=municipality.id, name=name))
                created["schools"] += 1
        else:
            org = await session.scalar(
                select(Organisation).where(
                    Organisation.municipality_id == municipality.id, Organisation.name == name
                )
            )
            if org is None:
                session.add(
                    Organisation(municipality_id=municipality.id, name=name, type=OrganisationType(kind))
                )
                created["organisations"] += 1
            else:
                org.type = OrganisationType(kind)
        await session.flush()
    return ImportResult(created=created)


def current_school_year(today: date) -> int:
    """A school year is named by the calendar year it starts in (September)."""
    return today.year if today.month >= 9 else today.year - 1


def _parse_year(value: str, default: int) -> int | None:
    if not value:
        return default
    head = value.replace("–", "-").replace("/", "-").split("-")[0].strip()
    if head.isdigit() and 2000 <= int(head) <= 2100:
        return int(head)
    return None


async def import_pupil_counts(
    session: AsyncSession, actor: Profile, file_name: str, data: bytes, today: date
) -> ImportResult:
    """Pupils per school and grade (the denominators of coverage); a new count replaces the old one."""
    if not actor.has(Role.coordinator):
        return ImportResult([Problem(0, "forbidden")])
    try:
        records = _records(read_table(file_name, data), PUPILS_COLUMNS, PUPILS_REQUIRED)
    except ImportRefused as refused:
        return ImportResult(refused.problems)
    scope = actor.coordinator_municipalities  # None: an admin imports anywhere
    query = select(School, Municipality).join(Municipality, School.municipality_id == Municipality.id)
    schools = {
        (m.name.strip().lower(), s.name.strip().lower()): s for s, m in (await session.execute(query)).all()
    }
    default_year = current_school_year(today)
    problems: list[Problem] = []
    seen: dict[tuple[int, int, int], int] = {}
    plan: list[tuple[int, int, int, int]] = []
    for line, row in records:
        empty = [c for c in PUPILS_REQUIRED if not row.get(c)]
        if empty:
            problems.append(Problem(line, "empty_cell", {"column": ", ".join(empty)}))
            continue
        school = schools.get((row["municipality"].lower(), row["school"].lower()))
        if school is None:
            problems.append(Problem(line, "unknown_school", {"value": row["school"]}))
            continue
        if scope is not None and school.municipality_id not in scope:
            problems.append(Problem(line, "outside_scope", {"value": row["municipality"]}))
            continue
        grade_raw, pupils_raw = row["grade"], row["pupils"]
        if not grade_raw.lstrip("-").isdigit() or not 1 <= int(grade_raw) <= 11:
            problems.append(Problem(line, "bad_grade", {"value": grade_raw}))
            continue
        if not pupils_raw.isdigit() or int(pupils_raw) > 100000:
            problems.append(Problem(line, "bad_pupils", {"value": pupils_raw}))
            continue
        year = _parse_year(row.get("school_year", ""), default_year)
        if year is None:
            problems.append(Problem(line, "bad_year", {"value": row.get("school_year", "")}))
            continue
        key = (school.id, int(grade_raw), year)
        if key in seen:
            problems.append(Problem(line, "duplicate", {"other": seen[key]}))
            continue
        seen[key] = line
        plan.append((school.id, int(grade_raw), year, int(pupils_raw)))
    if problems:
        return ImportResult(problems)
    written = 0
    for school_id, grade, year, pupils in plan:
        count = await session.scalar(
            select(PupilCount).where(
                PupilCount.school_id == school_id, PupilCount.grade == grade, PupilCount.school_year == year
            )
        )
        if count is None:
            session.add(PupilCount(school_id=school_id, grade=grade, school_year=year, pupils=pupils))
        else:
            count.pupils = pupils
        written += 1
    await session.flush()
    return ImportResult(created={"pupil_counts": written})


def template_xlsx(kind: str) -> bytes:
    """An example file a coordinator can fill in: Russian headers and two sample rows."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    if kind == "pupils":
        sheet.title = "Учащиеся"
        sheet.append(["Муниципалитет", "Школа", "Класс", "Учеников", "Учебный год"])
        sheet.append(["город Кострома", "МБОУ «Гимназия № 1» г. Костромы", 9, 52, "2025/2026"])
        sheet.append(["город Кострома", "МБОУ «Гимназия № 1» г. Костромы", 10, 48, "2025/2026"])
    else:
        sheet.title = "Справочник"
        sheet.append(["Регион", "Муниципалитет", "Тип", "Название", "Часовой пояс"])
        sheet.append(["Костромская область", "город Кострома", "школа", "МБОУ «Лицей № 20»", "Europe/Moscow"])
        sheet.append(
            [
                "Костромская область",
                "город Кострома",
                "колледж",
                "ОГБПОУ «Костромской колледж»",
                "Europe/Moscow",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
