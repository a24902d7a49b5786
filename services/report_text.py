"""How reports read: labels, the chat text of the overview and of one event, and the chart panels.

Called inside an i18n context (a handler, or a renderer that set the recipient's locale).
"""

from __future__ import annotations

from datetime import date
from html import escape

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from models import EventKind, EventLevel, OrganisationType
from services.cards import KIND_LABELS
from services.charts import Panel
from services.reports import CoverageRow, EventReport, Overview, Period, Scope, Totals

LEVEL_LABELS: dict[str, LazyProxy] = {
    EventLevel.international: __("international"),
    EventLevel.federal: __("all-Russian"),
    EventLevel.regional: __("regional"),
    EventLevel.municipal: __("municipal"),
    EventLevel.school: __("school"),
}
HOST_LABELS: dict[str, LazyProxy] = {
    OrganisationType.college: __("college"),
    OrganisationType.university: __("university"),
    OrganisationType.enterprise: __("enterprise"),
    OrganisationType.additional_education: __("additional education centre"),
    OrganisationType.employment_centre: __("employment centre"),
    OrganisationType.other: __("other / not given"),
}
STATUS_LABELS: dict[str, LazyProxy] = {
    "going": __("Going"),
    "maybe": __("Maybe"),
    "not_going": __("Not going"),
    "waitlisted": __("wait list"),
    "offered": __("seat offered"),
    "cancelled": __("cancelled"),
}
ROLE_LABELS: dict[str, LazyProxy] = {
    "student": __("pupil"),
    "parent": __("parent"),
    "teacher": __("teacher"),
}
RESULT_LABELS: dict[str, LazyProxy] = {"winner": __("winner"), "prize_winner": __("prize-winner")}


def kind_label(kind: str) -> str:
    try:
        return str(KIND_LABELS[EventKind(kind)])
    except ValueError:
        return kind


def level_label(level: str) -> str:
    return str(LEVEL_LABELS.get(level, level))


def host_label(host: str | None) -> str:
    return str(HOST_LABELS.get(host or "other", host or ""))


def scope_title(scope: Scope) -> str:
    if scope.kind == "all":
        return _("all municipalities")
    return scope.title


def period_text(period: Period, locale: str) -> str:
    def d(x: date) -> str:
        return format_date(x, "dd.MM.y", locale=locale)

    return f"{d(period.start)} – {d(period.end)}"


def share(row: CoverageRow, locale: str = "ru") -> str:
    if row.share is None:
        return "—"
    return format_decimal(row.share * 100, "0.0", locale=locale) + "%"


def avg(value: float | None, locale: str = "ru") -> str:
    return "—" if value is None else format_decimal(value, "0.00", locale=locale)


def month_label(key: str, locale: str = "ru") -> str:
    """'2026-09' as the month reads in the language: «сент. 2026», 'Sep 2026'."""
    year, month = (int(part) for part in key.split("-"))
    return format_date(date(year, month, 1), "LLL y", locale=locale)


def _totals_lines(t: Totals) -> list[str]:
    return [
        _("Signed up «Going»: {n}").format(n=t.signups),
        _("Wait-listed: {n}").format(n=t.waitlisted),
        _("Attended: {a} · no-shows: {b}").format(a=t.attended, b=t.no_shows),
        _("Participations of pupils: {n}").format(n=t.participations),
        _("Unique participating pupils: <b>{n}</b>, of them with ОВЗ: {o}").format(
            n=t.unique_pupils, o=t.ovz_pupils
        ),
        _("Winners: {w} · prize-winners: {p}").format(w=t.winners, p=t.prize_winners),
    ]


def overview_text(o: Overview, locale: str, max_schools: int = 12) -> str:
    """The overview for the chat; long tables are cut (the workbook has them whole)."""
    lines = [
        _("<b>Participation report</b>: {scope}").format(scope=escape(scope_title(o.scope))),
        _("Period: {period}").format(period=period_text(o.period, locale)),
        "",
    ]
    n_events = sum(n for _k, n in o.events_by_kind)
    lines.append(_("<b>Events held: {n}</b>").format(n=n_events))
    if o.events_by_kind:
        lines.append(", ".join(f"{kind_label(k)} — {n}" for k, n in o.events_by_kind))
    if o.events_by_level:
        lines.append(
            _("By level: {items}").format(
                items=", ".join(f"{level_label(k)} — {n}" for k, n in o.events_by_level)
            )
        )
    lines += ["", _("<b>Participation in the period</b>"), *_totals_lines(o.totals)]
    lines += [
        "",
        _("<b>Cumulative</b> (up to {day}): unique pupils {n}, participations {p}").format(
            day=format_date(o.period.end, "dd.MM.y", locale=locale),
            n=o.cumulative.unique_pupils,
            p=o.cumulative.participations,
        ),
    ]
    lines += [
        "",
        _("<b>Coverage</b> (unique participants / pupils, {year}/{next} school year)").format(
            year=o.period.school_year, next=o.period.school_year + 1
        ),
    ]
    lines.append(
        _("Total: {p} of {n} — {s}").format(
            p=o.coverage_total.participants, n=o.coverage_total.pupils, s=share(o.coverage_total, locale)
        )
    )
    for row in o.coverage_by_band:
        lines.append(
            _("Grades {band}: {p} of {n} — {s}").format(
                band=row.label, p=row.participants, n=row.pupils, s=share(row, locale)
            )
        )
    if o.scope.kind != "school":
        for row in sorted(o.coverage_by_school, key=lambda r: -(r.share or 0))[:max_schools]:
            lines.append(f"• {escape(row.label)}: {row.participants} / {row.pupils} — {share(row, locale)}")
        if len(o.coverage_by_school) > max_schools:
            lines.append(
                _("… and {n} more schools in the workbook (/export)").format(
                    n=len(o.coverage_by_school) - max_schools
                )
            )
    if o.classes:
        lines += ["", _("<b>My classes</b>")]
        for row in o.classes:
            lines.append(
                _("Grade {g}: {p} of {n} — {s}").format(
                    g=row.label, p=row.participants, n=row.pupils, s=share(row, locale)
                )
            )
    if o.trials_by_host:
        lines += ["", _("<b>Profession trials by host</b>")]
        for host, events, people in o.trials_by_host:
            lines.append(
                _("{host}: {e} events, {p} participations").format(host=host_label(host), e=events, p=people)
            )
    if o.feedback:
        lines += ["", _("<b>Satisfaction</b> (average mark 1–5: pupils / parents)")]
        for fb in o.feedback[:max_schools]:
            lines.append(
                f"• {escape(fb.school)}: {avg(fb.student_avg, locale)} ({fb.student_n})"
                f" / {avg(fb.parent_avg, locale)} ({fb.parent_n})"
            )
    return "\n".join(lines)


def overview_panels(o: Overview, locale: str = "ru") -> list[Panel]:
    schools = sorted(o.coverage_by_school, key=lambda r: -r.participants)
    bands = [(r.share or 0.0) * 100 for r in o.coverage_by_band]
    return [
        Panel(
            _("Participations by month"),
            [month_label(m, locale) for m, _n, _u in o.by_month],
            [n for _m, n, _u in o.by_month],
        ),
        Panel(
            _("Unique participants by school"),
            [r.label for r in schools],
            [r.participants for r in schools],
            horizontal=True,
        ),
        Panel(
            _("Coverage by grade band, %"),
            [_("grades {band}").format(band=r.label) for r in o.coverage_by_band],
            bands,
            percent=True,
            value_labels=[format_decimal(v, "0.0", locale=locale) + "%" for v in bands],
        ),
    ]


def event_text(r: EventReport, locale: str, max_rows: int = 25) -> str:
    e = r.event
    when = format_datetime(e.starts_at.astimezone(r.scope.zone), "dd.MM.y HH:mm", locale=locale)
    lines = [
        _("<b>Report on the event</b> #{id}").format(id=e.id),
        f"<b>{escape(e.title)}</b> — {when}",
        kind_label(e.kind),
        "",
        _("Notified: {n} · delivered: {d}").format(n=r.notified, d=r.delivered),
        _("«Going»: {g} · «Maybe»: {m} · «Not going»: {n}").format(g=r.going, m=r.maybe, n=r.not_going),
        _("Wait list: {w} · cancelled: {c}").format(w=r.waitlisted, c=r.cancelled),
        _("Attended: {a} · no-shows: {b}").format(a=r.attended, b=r.no_shows),
        _("Participating pupils: <b>{n}</b>, of them with ОВЗ: {o}").format(n=r.participants, o=r.ovz),
    ]
    if r.winners or r.prize_winners:
        lines.append(_("Winners: {w} · prize-winners: {p}").format(w=r.winners, p=r.prize_winners))
    lines.append(
        _("Feedback: pupils {s} ({sn}), parents {p} ({pn})").format(
            s=avg(r.feedback_student[0], locale),
            sn=r.feedback_student[1],
            p=avg(r.feedback_parent[0], locale),
            pn=r.feedback_parent[1],
        )
    )
    if r.rows:
        lines += [
            "",
            _(
                "<b>By school and grade</b> (notified / delivered / going / maybe / not going / wait list / "
                "attended / no-shows)"
            ),
        ]
        for row in r.rows[:max_rows]:
            grade = _("grade {g}").format(g=row.grade) if row.grade is not None else _("adults")
            school = escape(row.school) if row.school else _("no school")
            lines.append(
                f"• {school}, {grade}: {row.notified} / {row.delivered} / {row.going} / {row.maybe} / {row.not_going} / {row.waitlisted} / {row.attended} / {row.no_shows}"
            )
        if len(r.rows) > max_rows:
            lines.append(
                _("… {n} more lines in the workbook (/export {id})").format(n=len(r.rows) - max_rows, id=e.id)
            )
    return "\n".join(lines)


def event_panels(r: EventReport) -> list[Panel]:
    by_school: dict[str, list[int]] = {}
    for row in r.rows:
        acc = by_school.setdefault(row.school or _("no school"), [0, 0])
        acc[0] += row.going
        acc[1] += row.attended
    schools = sorted(by_school.items(), key=lambda kv: -kv[1][0])
    return [
        Panel(
            _("Answers"),
            [_("Going"), _("Maybe"), _("Not going"), _("wait list"), _("attended"), _("no-shows")],
            [r.going, r.maybe, r.not_going, r.waitlisted, r.attended, r.no_shows],
        ),
        Panel(_("«Going» by school"), [s for s, _v in schools], [v[0] for _s, v in schools], horizontal=True),
    ]
