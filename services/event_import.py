"""Bulk import of a plan of events from CSV or XLSX: validated row by row, published all or nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventKind, EventLevel, Organisation, School, User
from services.events import (
    Authority,
    EventDraft,
    EventError,
    check_scope,
    create_event,
    publish_event,
    validate,
)

MAX_ROWS = 500
MAX_BYTES = 2_000_000
DATE_FORMATS = ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S")
HEADERS = (
    "Вид", "Название", "Описание", "Начало", "Окончание", "Место", "Ссылка", "Классы", "Для кого",
    "Школа", "Мест", "Запись до", "ОВЗ", "Организатор", "Уровень",
)  # fmt: skip
FIELDS = (
    "kind", "title", "description", "starts_at", "ends_at", "venue", "online_url", "grades", "audience",
    "school", "capacity", "deadline", "ovz", "host", "level",
)  # fmt: skip


def example_row(today: date) -> tuple[str, ...]:
    """The template's example event: the 15th of next month, so the template never shows a past date."""
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    day = first_next.replace(day=15)
    on, before = day.strftime("%d.%m.%Y"), (day - timedelta(days=1)).strftime("%d.%m.%Y")
    return (
        "День открытых дверей", "День открытых дверей в техникуме", "Экскурсия по мастерским",
        f"{on} 11:00", f"{on} 13:00", "г. Кострома, ул. Советская, 128", "", "8-11",
        "ученики, родители", "", "30", f"{before} 18:00", "да",
        "ОГБПОУ «Костромской энергетический техникум им. Ф. В. Чижова»", "муниципальный",
    )  # fmt: skip


LEVEL_NAMES = {
    "международный": EventLevel.international,
    "всероссийский": EventLevel.federal,
    "федеральный": EventLevel.federal,
    "региональный": EventLevel.regional,
    "муниципальный": EventLevel.municipal,
    "школьный": EventLevel.school,
}
KIND_NAMES = {
    "день открытых дверей": EventKind.open_day,
    "каникулы с пользой": EventKind.holiday_programme,
    "профпроба": EventKind.profession_trial,
    "профессиональная проба": EventKind.profession_trial,
    "экскурсия": EventKind.excursion,
    "ярмарка": EventKind.fair,
    "фестиваль": EventKind.fair,
    "онлайн-урок": EventKind.online_lesson,
    "онлайн урок": EventKind.online_lesson,
    "конкурс": EventKind.contest,
    "олимпиада": EventKind.contest,
    "мастер-класс": EventKind.master_class,
    "консультация": EventKind.consultation,
    "классный час": EventKind.class_hour,
    "родительское собрание": EventKind.parent_meeting,
    "другое": EventKind.other,
}
AUDIENCE_WORDS = {
    "ученики": "s",
    "родители": "p",
    "педагоги": "t",
    "pupils": "s",
    "parents": "p",
    "teachers": "t",
}
YES = {"да", "yes", "1", "true", "+"}
NO = {"нет", "no", "0", "false", "-", ""}


class ImportFailure(ValueError):
    """The file as a whole cannot be read (format, size, headers)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RowError:
    row: int  # as the user sees it in the spreadsheet (header is row 1)
    column: str
    code: str


def template_csv(today: date) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADERS)
    writer.writerow(example_row(today))
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx(today: date) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "План"
    sheet.append(list(HEADERS))
    sheet.append(list(example_row(today)))
    for column in "ABCDEFGHIJKLMNO":
        sheet.column_dimensions[column].width = 22
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """Rows of cells as text; the first row must be the template's header."""
    if len(data) > MAX_BYTES:
        raise ImportFailure("too_big")
    name = filename.lower()
    rows: list[list[str]]
    if name.endswith(".xlsx"):
        try:
            from openpyxl import load_workbook

            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
            rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        except Exception as exc:  # openpyxl raises many kinds on a broken file
            raise ImportFailure("unreadable") from exc
    elif name.endswith((".csv", ".txt")):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1251")
            except UnicodeDecodeError as exc:
                raise ImportFailure("unreadable") from exc
        dialect = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
        rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), delimiter=dialect)]
    else:
        raise ImportFailure("format")
    rows = [row for row in rows if any(cell for cell in row)]
    if not rows:
        raise ImportFailure("empty")
    header = [c.strip().lower() for c in rows[0]]
    if header[: len(HEADERS)] != [h.lower() for h in HEADERS]:
        raise ImportFailure("headers")
    if len(rows) - 1 > MAX_ROWS:
        raise ImportFailure("too_many")
    if len(rows) == 1:
        raise ImportFailure("empty")
    return [(row + [""] * len(HEADERS))[: len(HEADERS)] for row in rows[1:]]


def _date(text: str, zone: ZoneInfo) -> datetime | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    return None


async def parse_plan(
    session: AsyncSession,
    rows: Sequence[Sequence[str]],
    *,
    municipality_id: int,
    zone: ZoneInfo,
    now: datetime,
    auth: Authority,
) -> tuple[list[EventDraft], list[RowError]]:
    """Every row checked by the same rules as the dialog; any error means nothing will be published."""
    schools = {
        s.name.strip().lower(): s.id
        for s in (
            await session.scalars(select(School).where(School.municipality_id == municipality_id))
        ).all()
    }
    hosts = {
        o.name.strip().lower(): o.id
        for o in (
            await session.scalars(
                select(Organisation).where(
                    (Organisation.municipality_id == municipality_id) | Organisation.municipality_id.is_(None)
                )
            )
        ).all()
    }
    drafts: list[EventDraft] = []
    errors: list[RowError] = []
    for index, cells in enumerate(rows, start=2):
        value = dict(zip(FIELDS, [*cells, *[""] * len(FIELDS)][: len(FIELDS)], strict=True))
        row_errors: list[RowError] = []

        def bad(field: str, code: str, index: int = index, row_errors: list[RowError] = row_errors) -> None:
            row_errors.append(RowError(index, HEADERS[FIELDS.index(field)], code))

        kind_text = value["kind"].lower()
        kind = KIND_NAMES.get(kind_text) or (
            EventKind(kind_text) if kind_text in EventKind.__members__ else None
        )
        if kind is None:
            bad("kind", "kind")
        starts = _date(value["starts_at"], zone)
        if starts is None:
            bad("starts_at", "date")
        ends = _date(value["ends_at"], zone) if value["ends_at"] else None
        if value["ends_at"] and ends is None:
            bad("ends_at", "date")
        deadline = _date(value["deadline"], zone) if value["deadline"] else None
        if value["deadline"] and deadline is None:
            bad("deadline", "date")
        grades = value["grades"].replace("–", "-").replace(" ", "") or "1-11"
        low, _, high = grades.partition("-")
        if not low.isdigit() or not (high or low).isdigit():
            bad("grades", "grades")
            low = high = "1"
        words = [w.strip().lower() for w in value["audience"].replace(";", ",").split(",") if w.strip()]
        codes = {AUDIENCE_WORDS.get(w, "?") for w in words} or {"s"}
        if "?" in codes:
            bad("audience", "audience")
        school_id = None
        if value["school"]:
            school_id = schools.get(value["school"].strip().lower())
            if school_id is None:
                bad("school", "school")
        capacity = None
        if value["capacity"]:
            if not value["capacity"].lstrip("-").isdigit():
                bad("capacity", "capacity_format")
            else:
                capacity = int(value["capacity"])
        ovz_text = value["ovz"].lower()
        if ovz_text not in YES | NO:
            bad("ovz", "ovz")
        host_id = None
        if value["host"]:
            host_id = hosts.get(value["host"].strip().lower())
            if host_id is None:
                bad("host", "host")
        level_text = value["level"].strip().lower()
        level = LEVEL_NAMES.get(level_text) or (
            EventLevel(level_text) if level_text in EventLevel.__members__ else None
        )
        if level_text and level is None:
            bad("level", "level")
        if row_errors or kind is None or starts is None:
            errors += row_errors
            continue
        draft = EventDraft(
            kind=kind,
            title=value["title"],
            description=value["description"],
            starts_at=starts,
            ends_at=ends,
            municipality_id=municipality_id,
            grade_min=int(low),
            grade_max=int(high or low),
            for_students="s" in codes,
            for_parents="p" in codes,
            for_teachers="t" in codes,
            school_id=school_id,
            venue=value["venue"] or None,
            online_url=value["online_url"] or None,
            capacity=capacity,
            registration_deadline=deadline,
            ovz_suitable=ovz_text in YES,
            organisation_id=host_id,
            level=level or EventLevel.municipal,
        )
        try:
            validate(draft, now)
            await check_scope(session, draft)
            if not auth.may_create(draft):
                raise EventError("forbidden")
        except EventError as exc:
            errors.append(RowError(index, "", exc.code))
            continue
        drafts.append(draft)
    return drafts, errors


def draft_to_dict(draft: EventDraft) -> dict[str, Any]:
    data = dict(vars(draft))
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
        elif isinstance(value, EventKind):
            data[key] = value.value
    data["level"] = draft.level.value
    return data


def draft_from_dict(data: dict[str, Any]) -> EventDraft:
    values = dict(data)
    for key in ("starts_at", "ends_at", "registration_deadline"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    values["kind"] = EventKind(values["kind"])
    values["level"] = EventLevel(values["level"])
    return EventDraft(**values)


async def publish_plan(
    session: AsyncSession, drafts: Sequence[EventDraft], author: User, now: datetime
) -> tuple[list[Event], int]:
    """Create and publish every event in one transaction (the caller commits); any refusal aborts all."""
    events: list[Event] = []
    queued = 0
    for draft in drafts:
        event = await create_event(session, draft, author, now)
        queued += await publish_event(session, event, now)
        events.append(event)
    return events, queued
