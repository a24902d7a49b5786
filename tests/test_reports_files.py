"""Charts and workbooks built from report data, including an empty period (no answers yet)."""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from bot.i18n import build_i18n
from services import charts, export, report_text
from services.reports import CoverageRow, Overview, Period, Scope


def _empty_overview() -> Overview:
    o = Overview(Scope("municipality", "город Кострома", municipality_id=1), Period(date(2026, 3, 1), date(2026, 3, 31)),
                 datetime(2026, 4, 1, 9, 30, tzinfo=UTC))  # fmt: skip
    o.coverage_by_band = [CoverageRow(name, 0, 0) for name in ("1–4", "5–9", "10–11")]
    return o


def test_an_empty_period_still_gives_a_chart_and_a_workbook():
    i18n = build_i18n("ru")
    o = _empty_overview()
    with i18n.context(), i18n.use_locale("ru"):
        png = charts.render("Участие", report_text.overview_panels(o), "нет данных")
        text = report_text.overview_text(o, "ru")
        sheets = export.overview_sheets(o, [], "ru")
        header = export.overview_header(o, "ru")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 1020)
    assert "Мероприятий за период: 0" in text
    assert "1–4 классы: 0 из 0 — —" in text
    book = load_workbook(io.BytesIO(export.build_xlsx(header, sheets)))
    ws = book["Сводка"]
    assert ws["A1"].value == "Профориентация: отчёт об участии"
    assert ws["A2"].value == "Муниципалитет / школа: город Кострома"
    assert ws["A3"].value == "Период: 01.03.2026 – 31.03.2026"
    assert ws["A4"].value == "Сформировано: 01.04.2026 12:30"  # Moscow time
    assert [c.value for c in ws[6]] == ["Показатель", "За период", "Нарастающим итогом"]
    assert ws["B7"].value == 0
    with zipfile.ZipFile(io.BytesIO(export.build_csv_zip(header, sheets))) as archive:
        assert len(archive.namelist()) == len(sheets)


def test_sheet_names_are_valid_and_long_names_are_cut():
    assert export._sheet_name("Охват: по / школам [все]?") == "Охват  по   школам  все  "[:31]
    assert len(export._sheet_name("x" * 50)) == 31


def test_marks_months_and_shares_read_as_the_language_writes_them():
    assert (report_text.avg(4.3333, "ru"), report_text.avg(4.3333, "en"), report_text.avg(None)) == (
        "4,33",
        "4.33",
        "—",
    )
    assert report_text.month_label("2026-09", "ru") == "сент. 2026"
    assert report_text.month_label("2026-09", "en") == "Sep 2026"
    o = _empty_overview()
    o.by_month = [("2026-03", 7, 5)]
    o.coverage_by_band = [CoverageRow("5–9", pupils=8, participants=1)]
    with build_i18n("ru").context():
        month, band = report_text.overview_panels(o, "ru")[0], report_text.overview_panels(o, "ru")[2]
    assert list(month.labels) == ["март 2026"]
    assert list(band.value_labels or []) == ["12,5%"]
