"""Spreadsheets for the monitoring report: an XLSX workbook (openpyxl) or a ZIP of CSV files.

Each table of the overview is one sheet with a header naming the scope (municipality or school), the
period and when it was made. `build_*` are plain functions over data already computed by the database;
building is CPU work, so handlers run it in a thread.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.report_text import (
    RESULT_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    host_label,
    kind_label,
    level_label,
    period_text,
    scope_title,
)
from services.reports import CoverageRow, EventReport, EventRow, Overview, ParticipantRow, Totals

HEADER_ROWS = 5  # title, scope, period, made at, blank; the table's column names are on row 6


@dataclass
class Sheet:
    name: str
    columns: list[str]
    rows: list[list[Any]]


def _share(row: CoverageRow) -> float | None:
    return round(row.share * 100, 1) if row.share is not None else None


def _totals_rows(period: Totals, cumulative: Totals) -> list[list[Any]]:
    def pair(label: str, attr: str) -> list[Any]:
        return [label, getattr(period, attr), getattr(cumulative, attr)]

    return [
        pair(_("Signed up «Going»"), "signups"),
        pair(_("«Maybe»"), "maybe"),
        pair(_("Wait-listed"), "waitlisted"),
        pair(_("Attended"), "attended"),
        pair(_("No-shows"), "no_shows"),
        pair(_("Participations of pupils"), "participations"),
        pair(_("Unique participating pupils"), "unique_pupils"),
        pair(_("of them with ОВЗ"), "ovz_pupils"),
        pair(_("Winners"), "winners"),
        pair(_("Prize-winners"), "prize_winners"),
        pair(_("Parents and teachers (own sign-ups)"), "adults"),
    ]


def overview_sheets(o: Overview, events: Sequence[EventRow], locale: str) -> list[Sheet]:
    coverage_cols = [_("Pupils"), _("Unique participants"), _("Coverage, %")]
    sheets = [
        Sheet(
            _("Summary"), [_("Indicator"), _("Period"), _("Cumulative")], _totals_rows(o.totals, o.cumulative)
        ),
        Sheet(
            _("Events by kind"), [_("Kind"), _("Events")], [[kind_label(k), n] for k, n in o.events_by_kind]
        ),
        Sheet(
            _("Events by level"),
            [_("Level"), _("Events")],
            [[level_label(k), n] for k, n in o.events_by_level],
        ),
        Sheet(
            _("Coverage by grade band"),
            [_("Grades"), *coverage_cols],
            [[r.label, r.pupils, r.participants, _share(r)] for r in [*o.coverage_by_band]]
            + [
                [_("Total"), o.coverage_total.pupils, o.coverage_total.participants, _share(o.coverage_total)]
            ],
        ),
        Sheet(
            _("Coverage by school"),
            [_("School"), *coverage_cols],
            [[r.label, r.pupils, r.participants, _share(r)] for r in o.coverage_by_school],
        ),
        Sheet(
            _("By month"),
            [_("Month"), _("Participations"), _("Unique participants")],
            [[m, n, u] for m, n, u in o.by_month],
        ),
        Sheet(
            _("Profession trials"),
            [_("Host type"), _("Events"), _("Participations")],
            [[host_label(h), e, p] for h, e, p in o.trials_by_host],
        ),
        Sheet(
            _("Satisfaction"),
            [
                _("School"),
                _("Pupils: average"),
                _("Pupils: answers"),
                _("Parents: average"),
                _("Parents: answers"),
            ],
            [
                [r.school, _round(r.student_avg), r.student_n, _round(r.parent_avg), r.parent_n]
                for r in o.feedback
            ],
        ),
        Sheet(
            _("Events"),
            [
                "№",
                _("Date"),
                _("Title"),
                _("Kind"),
                _("Level"),
                _("Host"),
                _("Host type"),
                _("«Going»"),
                _("«Maybe»"),
                _("«Not going»"),
                _("Wait list"),
                _("Attended"),
                _("No-shows"),
                _("Participating pupils"),
                _("of them with ОВЗ"),
                _("Winners"),
                _("Prize-winners"),
            ],
            [
                [
                    e.event_id,
                    format_datetime(e.starts_at.astimezone(o.scope.zone), "dd.MM.y HH:mm", locale=locale),
                    e.title,
                    kind_label(e.kind),
                    level_label(e.level),
                    e.host,
                    host_label(e.host_type) if e.host_type else "",
                    e.going,
                    e.maybe,
                    e.not_going,
                    e.waitlisted,
                    e.attended,
                    e.no_shows,
                    e.participants,
                    e.ovz,
                    e.winners,
                    e.prize_winners,
                ]
                for e in events
            ],
        ),
    ]
    if o.classes:
        sheets.append(
            Sheet(
                _("My classes"),
                [_("Grade"), *coverage_cols],
                [[r.label, r.pupils, r.participants, _share(r)] for r in o.classes],
            )
        )
    return sheets


def event_sheets(r: EventReport, people: Sequence[ParticipantRow]) -> list[Sheet]:
    summary: list[list[Any]] = [
        [_("Notified"), r.notified],
        [_("Delivered"), r.delivered],
        [_("«Going»"), r.going],
        [_("«Maybe»"), r.maybe],
        [_("«Not going»"), r.not_going],
        [_("Wait list"), r.waitlisted],
        [_("Cancelled"), r.cancelled],
        [_("Attended"), r.attended],
        [_("No-shows"), r.no_shows],
        [_("Participating pupils"), r.participants],
        [_("of them with ОВЗ"), r.ovz],
        [_("Winners"), r.winners],
        [_("Prize-winners"), r.prize_winners],
        [_("Feedback of pupils: average"), _round(r.feedback_student[0])],
        [_("Feedback of pupils: answers"), r.feedback_student[1]],
        [_("Feedback of parents: average"), _round(r.feedback_parent[0])],
        [_("Feedback of parents: answers"), r.feedback_parent[1]],
    ]
    return [
        Sheet(_("Summary"), [_("Indicator"), _("Value")], summary),
        Sheet(
            _("By school and grade"),
            [
                _("School"),
                _("Grade"),
                _("«Going»"),
                _("«Maybe»"),
                _("«Not going»"),
                _("Wait list"),
                _("Attended"),
                _("No-shows"),
                _("of them with ОВЗ"),
                _("Notified"),
                _("Delivered"),
                _("Feedback of pupils: average"),
                _("Feedback of pupils: answers"),
                _("Feedback of parents: average"),
                _("Feedback of parents: answers"),
            ],
            [
                [
                    x.school,
                    x.grade,
                    x.going,
                    x.maybe,
                    x.not_going,
                    x.waitlisted,
                    x.attended,
                    x.no_shows,
                    x.ovz,
                    x.notified,
                    x.delivered,
                    _round(x.feedback_student[0]),
                    x.feedback_student[1],
                    _round(x.feedback_parent[0]),
                    x.feedback_parent[1],
                ]
                for x in r.rows
            ],
        ),
        Sheet(
            _("Participants"),
            [
                "№",
                _("School"),
                _("Grade"),
                _("Who"),
                _("Answer"),
                _("Attended"),
                _("ОВЗ"),
                _("Result"),
                _("Walk-in"),
            ],
            [
                [
                    i,
                    p.school,
                    p.grade,
                    str(ROLE_LABELS.get(p.role, p.role)),
                    str(STATUS_LABELS.get(p.status, p.status)),
                    _yes_no(p.attended),
                    _yes_no(p.ovz),
                    str(RESULT_LABELS.get(p.result, p.result)) if p.result else "",
                    _yes_no(p.walk_in),
                ]
                for i, p in enumerate(people, 1)
            ],
        ),
    ]


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "—"
    return _("yes") if value else _("no")


def header_lines(title: str, o_scope: str, period: str, made: str) -> list[str]:
    return [
        title,
        _("Municipality / school: {scope}").format(scope=o_scope),
        _("Period: {period}").format(period=period),
        _("Made: {made}").format(made=made),
    ]


def build_xlsx(header: Sequence[str], sheets: Sequence[Sheet]) -> bytes:
    """One worksheet per table: the header lines, a blank row, bold column names, the rows."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = book.create_sheet(_sheet_name(sheet.name))
        widths = [max(len(str(c)), 8) for c in sheet.columns]
        for row in sheet.rows[:200]:
            for i, value in enumerate(row):
                widths[i] = min(max(widths[i], len(str(value)) if value is not None else 0), 60)
        for i, width in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = width + 2
        for n, line in enumerate(header):
            cell = _cell(ws, line, bold if n == 0 else None)
            ws.append([cell])
        ws.append([])
        ws.append([_cell(ws, c, bold) for c in sheet.columns])
        for row in sheet.rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(ws: Any, value: Any, font: Font | None) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if font is not None:
        cell.font = font
    return cell


def _sheet_name(name: str) -> str:
    for bad in "[]:*?/\\":
        name = name.replace(bad, " ")
    return name[:31]


def build_csv_zip(header: Sequence[str], sheets: Sequence[Sheet]) -> bytes:
    """The same tables as CSV files (UTF-8 with BOM, «;» as Excel in Russia expects), in one ZIP."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, sheet in enumerate(sheets, 1):
            text = io.StringIO()
            writer = csv.writer(text, delimiter=";")
            for line in header:
                writer.writerow([line])
            writer.writerow([])
            writer.writerow(sheet.columns)
            writer.writerows(sheet.rows)
            archive.writestr(f"{n:02d}_{_sheet_name(sheet.name)}.csv", "\ufeff" + text.getvalue())
    return out.getvalue()


def overview_header(o: Overview, locale: str) -> list[str]:
    return header_lines(
        _("Career guidance: participation report"),
        scope_title(o.scope),
        period_text(o.period, locale),
        format_datetime(o.made_at.astimezone(o.scope.zone), "dd.MM.y HH:mm", locale=locale),
    )


def event_header(r: EventReport, locale: str) -> list[str]:
    when = format_datetime(r.event.starts_at.astimezone(r.scope.zone), "dd.MM.y HH:mm", locale=locale)
    return [
        _("Event #{id}: {title}").format(id=r.event.id, title=r.event.title),
        _("Municipality / school: {scope}").format(scope=scope_title(r.scope)),
        _("Date: {when}").format(when=when),
        _("Made: {made}").format(
            made=format_datetime(r.made_at.astimezone(r.scope.zone), "dd.MM.y HH:mm", locale=locale)
        ),
    ]
