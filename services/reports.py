"""Participation reports: the numbers of DOMAIN.md, computed by the database with aggregate queries.

Definitions (docs/reports.md says the same for people):
- an event counts when it is published or finished (drafts and cancelled events are not held);
- the counts of answers (sign-ups, wait list, attendance) are of pupils (rows with a learner, by the
  pupil's school); parents' and teachers' own answers are counted apart, by the event's scope;
- a *participation* is an answer of a pupil (`learner_id` set) to such an event that is either marked
  attended, or «Пойду» with no attendance marked yet; marked absent, «Возможно», «Не пойду», wait-listed,
  offered and cancelled answers are not participations;
- a *unique participant* is a pupil (a learner), counted once however many events they attended; a parent
  who signs up two children brings two pupils;
- *coverage* is unique participants over the pupils loaded in `pupil_counts` for the school year the
  period starts in, by grade band and by school.
Scopes: a coordinator sees the pupils of their municipality's schools (a region's coordinator, who holds a
role for each of its municipalities, those of all of them; an admin, with no municipality, sees all), a teacher the pupils of their school; anyone else gets nothing (checked here, not only in
handlers).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Event,
    EventStatus,
    Feedback,
    Learner,
    Municipality,
    Organisation,
    Outbox,
    OutboxStatus,
    PupilCount,
    ReportEventTally,
    ReportPupilCount,
    Role,
    Rsvp,
    RsvpStatus,
    School,
    TeacherClass,
    UserRole,
)
from services import report_summary
from services.audience import matching_learners, school_in_scope
from services.participation import HELD, adult_participant, answer_tallies, participant, result_tallies

BANDS: tuple[tuple[str, int, int], ...] = (("1–4", 1, 4), ("5–9", 5, 9), ("10–11", 10, 11))
DEFAULT_ZONE = ZoneInfo("Europe/Moscow")


class NotAllowed(Exception):
    """The user may not see these statistics (not a coordinator or teacher, or outside their scope)."""


@dataclass(frozen=True)
class Scope:
    """Whose numbers a user may see."""

    kind: Literal["all", "region", "municipality", "school"]
    title: str  # the municipality's, the school's, or the region's name
    municipality_id: int | None = None
    school_id: int | None = None
    grades: tuple[int, ...] = ()  # a teacher's classes
    zone: ZoneInfo = DEFAULT_ZONE
    municipality_ids: tuple[int, ...] = ()  # a "region" scope: the municipalities its coordinator serves

    @property
    def municipalities(self) -> tuple[int, ...]:
        """The municipalities of a "municipality" or "region" scope."""
        if self.municipality_ids:
            return self.municipality_ids
        return (self.municipality_id,) if self.municipality_id is not None else ()


@dataclass(frozen=True)
class Period:
    """Inclusive dates in the scope's time zone."""

    start: date
    end: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        lo = datetime.combine(self.start, time.min, tzinfo=zone).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
        return lo, hi

    @property
    def school_year(self) -> int:
        """The school year (its starting calendar year) the period starts in: the coverage denominator."""
        return self.start.year if self.start.month >= 9 else self.start.year - 1


def school_year_of(day: date) -> Period:
    first = day.year if day.month >= 9 else day.year - 1
    return Period(date(first, 9, 1), date(first + 1, 8, 31))


def month_of(day: date) -> Period:
    nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return Period(date(day.year, day.month, 1), nxt - timedelta(days=1))


def quarter_of(day: date) -> Period:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    return Period(start, month_of(date(day.year, first_month + 2, 1)).end)


# ---------------------------------------------------------------- scope


async def resolve_scope(session: AsyncSession, user_id: int) -> Scope:
    """The widest statistics scope of a user's roles; raises NotAllowed for pupils and parents."""
    roles = (await session.scalars(select(UserRole).where(UserRole.user_id == user_id))).all()
    coordinator = [r.municipality_id for r in roles if r.role is Role.coordinator]
    if coordinator:
        if None in coordinator:
            return Scope("all", "")
        munis = (
            await session.scalars(
                select(Municipality).where(Municipality.id.in_(coordinator)).order_by(Municipality.id)
            )
        ).all()
        if not munis:
            raise NotAllowed
        if len(munis) == 1:
            (one,) = munis
            return Scope("municipality", one.name, municipality_id=one.id, zone=ZoneInfo(one.timezone))
        # A region's coordinator (a role per municipality): their municipalities added up, named by the
        # region (or regions), in the time zone of the first of them.
        regions = sorted({m.region for m in munis})
        return Scope(
            "region",
            ", ".join(regions),
            municipality_ids=tuple(m.id for m in munis),
            zone=ZoneInfo(munis[0].timezone),
        )
    teacher = next((r for r in roles if r.role is Role.teacher and r.school_id is not None), None)
    if teacher is not None:
        school = await session.get(School, teacher.school_id)
        if school is None:
            raise NotAllowed
        muni = await session.get(Municipality, school.municipality_id)
        grades = (
            await session.scalars(
                select(TeacherClass.grade)
                .where(TeacherClass.user_id == user_id, TeacherClass.school_id == school.id)
                .distinct()
                .order_by(TeacherClass.grade)
            )
        ).all()
        return Scope(
            "school",
            school.name,
            municipality_id=school.municipality_id,
            school_id=school.id,
            grades=tuple(int(g) for g in grades),
            zone=ZoneInfo(muni.timezone) if muni else DEFAULT_ZONE,
        )
    raise NotAllowed


def _school_filter(scope: Scope, column: Any) -> ColumnElement[bool]:
    """Rows whose pupil's school is in scope."""
    if scope.kind == "school":
        return column == scope.school_id
    if scope.kind in ("municipality", "region"):
        return column.in_(select(School.id).where(School.municipality_id.in_(scope.municipalities)))
    return column.is_not(None)


def _event_filter(scope: Scope) -> ColumnElement[bool]:
    """Events a scope organises or is invited to (for counting events, not participants)."""
    if scope.kind == "school":
        return and_(
            Event.municipality_id == scope.municipality_id,
            or_(Event.school_id.is_(None), Event.school_id == scope.school_id),
        )
    if scope.kind in ("municipality", "region"):
        return Event.municipality_id.in_(scope.municipalities)
    return literal(True)


def _month(column: Any, period: Period, zone: ZoneInfo) -> ColumnElement[str]:
    """The calendar month («YYYY-MM») of a moment of the period in the scope's time zone, the same calendar
    as the period's bounds: a CASE over the UTC instants at which the period's months begin there (the same
    SQL on SQLite and PostgreSQL, right across daylight-saving changes)."""
    branches = []
    day = date(period.start.year, period.start.month, 1)
    while day <= period.end:
        nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        starts = datetime.combine(nxt, time.min, tzinfo=zone).astimezone(UTC)
        branches.append((column < starts, literal(f"{day:%Y-%m}")))
        day = nxt
    return case(*branches, else_=literal(f"{period.end:%Y-%m}"))


# ---------------------------------------------------------------- overview


@dataclass
class Totals:
    signups: int = 0
    maybe: int = 0
    waitlisted: int = 0
    attended: int = 0
    no_shows: int = 0
    participations: int = 0
    unique_pupils: int = 0
    ovz_pupils: int = 0
    winners: int = 0
    prize_winners: int = 0
    adults: int = 0  # parents' and teachers' own answers «Пойду» or attended, at the scope's events


@dataclass
class CoverageRow:
    label: str
    pupils: int
    participants: int

    @property
    def share(self) -> float | None:
        return self.participants / self.pupils if self.pupils else None


@dataclass
class FeedbackRow:
    school: str
    student_avg: float | None
    student_n: int
    parent_avg: float | None
    parent_n: int


@dataclass
class Overview:
    scope: Scope
    period: Period
    made_at: datetime
    events_by_kind: list[tuple[str, int]] = field(default_factory=list)
    events_by_level: list[tuple[str, int]] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    cumulative: Totals = field(default_factory=Totals)
    by_month: list[tuple[str, int, int]] = field(default_factory=list)  # month, participations, pupils
    coverage_by_band: list[CoverageRow] = field(default_factory=list)
    coverage_by_school: list[CoverageRow] = field(default_factory=list)
    coverage_total: CoverageRow = field(default_factory=lambda: CoverageRow("", 0, 0))
    classes: list[CoverageRow] = field(default_factory=list)  # a teacher's grades
    trials_by_host: list[tuple[str, int, int]] = field(
        default_factory=list
    )  # host type, events, participations
    feedback: list[FeedbackRow] = field(default_factory=list)


def _rsvp_scope(scope: Scope, lo: datetime | None, hi: datetime) -> list[ColumnElement[bool]]:
    conditions = [Event.status.in_(HELD), Event.starts_at < hi, _school_filter(scope, Rsvp.school_id)]
    if lo is not None:
        conditions.append(Event.starts_at >= lo)
    return conditions


def _by_pupils_join() -> ColumnElement[bool]:
    """Join answers to their events when the scan is by the pupil's school.

    `+ 0` keeps the planner from driving the join from events through an index on `rsvps.event_id`
    (SQLite did, probing every school × event pair); the answers are read by the covering `ix_rsvps_report`
    range of the scope's schools and each event found by its primary key (PostgreSQL hash-joins either way).
    """
    return Event.id == Rsvp.event_id + 0


async def _adults(session: AsyncSession, scope: Scope, lo: datetime | None, hi: datetime) -> int:
    """Parents' and teachers' own answers have no pupil's school: they belong to the scope's events."""
    query = (
        select(func.count())
        .select_from(Rsvp)
        .join(Event, Event.id == Rsvp.event_id)
        .where(
            Event.status.in_(HELD),
            Event.starts_at < hi,
            _event_filter(scope),
            adult_participant(),
        )
    )
    if lo is not None:
        query = query.where(Event.starts_at >= lo)
    return int(await session.scalar(query) or 0)


@dataclass
class _Facts:
    totals: Totals
    cumulative: Totals
    by_month: list[tuple[str, int, int]]
    by_band: dict[str, int]
    by_school: dict[int, int]
    by_grade: dict[int, int]
    trials: dict[str, int]


async def _totals(session: AsyncSession, scope: Scope, lo: datetime | None, hi: datetime) -> Totals:
    """Answer counts and unique participants of the scope's pupils (used for the cumulative column)."""
    p = participant()
    query = (
        select(
            *answer_tallies(),
            func.count(distinct(case((p, Rsvp.learner_id)))),
            func.count(distinct(case((and_(p, Rsvp.ovz.is_(True)), Rsvp.learner_id)))),
            *result_tallies(),
        )
        .select_from(Rsvp)
        .join(Event, _by_pupils_join())
        .where(*_rsvp_scope(scope, lo, hi))
    )
    totals = Totals(*(int(v or 0) for v in (await session.execute(query)).one()))
    totals.adults = await _adults(session, scope, lo, hi)
    return totals


async def _facts(session: AsyncSession, scope: Scope, period: Period) -> _Facts:
    """Every participation aggregate of the period in ONE statement: the scope's answers of the period are
    read once (by the covering index) into a materialized CTE `facts`, its participating pupils are
    de-duplicated into `pupils`, and each table is a GROUP BY over one of them. Separate statements made
    SQLite re-plan, and sometimes re-scan everything, for each table."""
    lo, hi = period.bounds(scope.zone)
    host = func.coalesce(Organisation.type, literal("other"))
    facts = (
        select(
            Rsvp.learner_id.label("learner_id"),
            Rsvp.school_id.label("school_id"),
            Rsvp.grade.label("grade"),
            Rsvp.ovz.label("ovz"),
            Rsvp.status.label("status"),
            Rsvp.attended.label("attended"),
            Rsvp.result.label("result"),
            case((participant(), 1), else_=0).label("part"),
            _month(Event.starts_at, period, scope.zone).label("month"),
            case((Event.kind == "profession_trial", host), else_=None).label("trial_host"),
        )
        .select_from(Rsvp)
        .join(Event, _by_pupils_join())
        .outerjoin(Organisation, Organisation.id == Event.organisation_id)
        .where(*_rsvp_scope(scope, lo, hi))
        .cte("facts")
        .prefix_with("MATERIALIZED")
    )
    f = facts.c
    part = f.part == 1
    pupils = (
        select(f.learner_id, f.school_id, f.grade, f.ovz)
        .where(part)
        .group_by(f.learner_id, f.school_id, f.grade, f.ovz)
        .cte("pupils")
        .prefix_with("MATERIALIZED")
    )
    u = pupils.c
    learners = func.count(distinct(u.learner_id))

    def row(section: str, key: Any, *values: Any) -> Any:
        return select(literal(section), cast(key, String), *values, *([literal(0)] * (10 - len(values))))

    band = case(
        *[(u.grade.between(lo_g, hi_g), literal(name)) for name, lo_g, hi_g in BANDS], else_=literal("?")
    )
    parts = [
        row(
            "tot",
            literal(""),
            func.count().filter(f.status == RsvpStatus.going.value),
            func.count().filter(f.status == RsvpStatus.maybe.value),
            func.count().filter(f.status.in_([RsvpStatus.waitlisted.value, RsvpStatus.offered.value])),
            func.count().filter(f.attended.is_(True)),
            func.count().filter(f.attended.is_(False)),
            func.count().filter(part),
            literal(0),
            literal(0),
            func.count().filter(part, f.result == "winner"),
            func.count().filter(part, f.result == "prize_winner"),
        ).select_from(facts),
        row(
            "uniq", literal(""), learners, func.count(distinct(case((u.ovz.is_(True), u.learner_id))))
        ).select_from(pupils),
        row("month", f.month, func.count(), func.count(distinct(f.learner_id)))
        .select_from(facts)
        .where(part)
        .group_by(f.month),
        row("band", band, learners).select_from(pupils).group_by(band),
        row("school", u.school_id, learners).select_from(pupils).group_by(u.school_id),
        row("trial", f.trial_host, func.count())
        .select_from(facts)
        .where(part, f.trial_host.is_not(None))
        .group_by(f.trial_host),
    ]
    if scope.grades:
        parts.append(
            row("grade", u.grade, learners)
            .select_from(pupils)
            .where(u.grade.in_(scope.grades))
            .group_by(u.grade)
        )
    rows = (await session.execute(union_all(*parts))).all()
    result = _Facts(Totals(), Totals(), [], {}, {}, {}, {})
    for section, key, *values in rows:
        numbers = [int(v or 0) for v in values]
        if section == "tot":
            unique, ovz = result.totals.unique_pupils, result.totals.ovz_pupils
            result.totals = Totals(*numbers)
            result.totals.unique_pupils, result.totals.ovz_pupils = unique, ovz
        elif section == "uniq":
            result.totals.unique_pupils, result.totals.ovz_pupils = numbers[0], numbers[1]
        elif section == "month":
            result.by_month.append((str(key), numbers[0], numbers[1]))
        elif section == "band":
            result.by_band[str(key)] = numbers[0]
        elif section == "school" and key is not None:
            result.by_school[int(key)] = numbers[0]
        elif section == "grade" and key is not None:
            result.by_grade[int(key)] = numbers[0]
        elif section == "trial":
            result.trials[str(key)] = numbers[0]
    result.by_month.sort()
    result.totals.adults = await _adults(session, scope, lo, hi)
    result.cumulative = await _totals(session, scope, None, hi)
    return result


def _summary_units(scope: Scope) -> list[str]:
    """The summary counters that make up the scope (a region: its municipalities')."""
    if scope.kind == "school":
        return [f"s:{scope.school_id}"]
    if scope.kind in ("municipality", "region"):
        return [f"m:{m}" for m in scope.municipalities]
    return ["all"]


async def _summarised(session: AsyncSession, scope: Scope, period: Period) -> bool:
    """Whether the summaries answer this overview exactly: a whole school year, by the calendar of the
    zone the summaries used for the scope (the default zone for everything, the municipality's otherwise)."""
    if period != school_year_of(period.start):
        return False
    if scope.kind == "all":
        return scope.zone.key == report_summary.DEFAULT_ZONE.key
    # A municipality, or a region's municipalities: each summarised in its own zone, which must be the scope's.
    # A region adds its municipalities' counters up: a pupil is counted in the municipality of their school.
    zones = (
        await session.scalars(select(Municipality.timezone).where(Municipality.id.in_(scope.municipalities)))
    ).all()
    return len(zones) == len(set(scope.municipalities)) and set(zones) == {scope.zone.key}


async def _facts_summarised(session: AsyncSession, scope: Scope, period: Period) -> _Facts:
    """The same numbers as `_facts`, from the summaries (models/report.py): sums of per-event tallies for
    the counts, and counters of distinct pupils per school year for the unique ones."""
    await report_summary.refresh(session)
    lo, hi = period.bounds(scope.zone)
    year, units = period.start.year, _summary_units(scope)
    t = ReportEventTally
    if scope.kind == "school":
        mine: ColumnElement[bool] = t.school_id == scope.school_id
    elif scope.kind in ("municipality", "region"):
        mine = t.school_id.in_(select(School.id).where(School.municipality_id.in_(scope.municipalities)))
    else:
        mine = t.school_id != 0
    sums = (
        t.going,
        t.maybe,
        t.waitlisted,
        t.attended,
        t.no_shows,
        t.participations,
        t.winners,
        t.prize_winners,
    )

    # The period's and the cumulative totals in one pass over the tallies (a CASE on the event's start).
    held = [Event.status.in_(HELD), Event.starts_at < hi]
    recent = Event.starts_at >= lo
    row = (
        await session.execute(
            select(*(func.sum(c) for c in sums), *(func.sum(case((recent, c), else_=0)) for c in sums))
            .join(Event, Event.id == t.event_id)
            .where(*held, mine)
        )
    ).one()
    adults = (
        await session.execute(
            select(func.sum(t.adults), func.sum(case((recent, t.adults), else_=0)))
            .join(Event, Event.id == t.event_id)
            .where(*held, _event_filter(scope))
        )
    ).one()

    def totals(values: Sequence[Any], adult: Any) -> Totals:
        going, maybe, waiting, came, absent, parts, winners, prizes = (int(v or 0) for v in values)
        return Totals(going, maybe, waiting, came, absent, parts, 0, 0, winners, prizes, int(adult or 0))

    result = _Facts(totals(row[8:], adults[1]), totals(row[:8], adults[0]), [], {}, {}, {}, {})
    in_period = [Event.status.in_(HELD), Event.starts_at >= lo, Event.starts_at < hi, mine]
    # Participations per event (2,000 rows, not one per tally), then per local month of the event's start.
    per_event = (
        await session.execute(
            select(Event.starts_at, func.sum(t.participations))
            .join(Event, Event.id == t.event_id)
            .where(*in_period)
            .group_by(t.event_id, Event.starts_at)
        )
    ).all()
    by_month: Counter[str] = Counter()
    for starts, n in per_event:
        by_month[starts.astimezone(scope.zone).strftime("%Y-%m")] += int(n or 0)
    parts_by_month = [(m, n) for m, n in by_month.items() if n > 0]
    host = func.coalesce(Organisation.type, literal("other"))
    trials = (
        await session.execute(
            select(host, func.sum(t.participations))
            .join(Event, Event.id == t.event_id)
            .outerjoin(Organisation, Organisation.id == Event.organisation_id)
            .where(*in_period, Event.kind == "profession_trial")
            .group_by(host)
            .having(func.sum(t.participations) > 0)
        )
    ).all()
    result.trials = {str(h): int(n) for h, n in trials}

    c = ReportPupilCount
    counts = dict(
        (str(m), int(n))
        for m, n in (
            await session.execute(
                select(c.measure, func.sum(c.learners))
                .where(c.unit.in_(units), c.school_year == year)
                .group_by(c.measure)
            )
        ).all()
    )
    result.by_month = sorted((str(m), int(n), counts.get(f"month:{m}", 0)) for m, n in parts_by_month)
    result.totals.unique_pupils, result.totals.ovz_pupils = counts.get("pupils", 0), counts.get("ovz", 0)
    result.by_band = {name: counts.get(f"band:{name}", 0) for name, _lo, _hi in BANDS}
    result.by_grade = {g: counts.get(f"grade:{g}", 0) for g in scope.grades}
    if scope.kind == "all":
        result.by_school = {
            int(m.split(":", 1)[1]): n for m, n in counts.items() if m.startswith("school:") and n
        }
    else:
        schools = [s for s, _name in await _scope_school_ids(session, scope)]
        rows = await session.execute(
            select(c.unit, c.learners).where(
                c.unit.in_([f"s:{s}" for s in schools]), c.school_year == year, c.measure == "pupils"
            )
        )
        result.by_school = {int(u.split(":", 1)[1]): int(n) for u, n in rows.all() if n}
    firsts = dict(
        (str(m), int(n or 0))
        for m, n in (
            await session.execute(
                select(c.measure, func.sum(c.learners))
                .where(c.unit.in_(units), c.school_year <= year, c.measure.in_(["first", "first_ovz"]))
                .group_by(c.measure)
            )
        ).all()
    )
    result.cumulative.unique_pupils = firsts.get("first", 0)
    result.cumulative.ovz_pupils = firsts.get("first_ovz", 0)
    return result


async def _scope_school_ids(session: AsyncSession, scope: Scope) -> list[tuple[int, str]]:
    query = select(School.id, School.name).order_by(School.name)
    if scope.kind == "school":
        query = query.where(School.id == scope.school_id)
    elif scope.kind in ("municipality", "region"):
        query = query.where(School.municipality_id.in_(scope.municipalities))
    return [(int(i), str(n)) for i, n in (await session.execute(query)).all()]


async def overview(
    session: AsyncSession, scope: Scope, period: Period, now: datetime | None = None
) -> Overview:
    """Every table of the overview, each one aggregate query."""
    lo, hi = period.bounds(scope.zone)
    result = Overview(scope, period, now or datetime.now(UTC))
    held = [Event.status.in_(HELD), Event.starts_at >= lo, Event.starts_at < hi, _event_filter(scope)]

    result.events_by_kind = [
        (str(k), int(n))
        for k, n in (
            await session.execute(
                select(Event.kind, func.count())
                .where(*held)
                .group_by(Event.kind)
                .order_by(func.count().desc())
            )
        ).all()
    ]
    result.events_by_level = [
        (str(k), int(n))
        for k, n in (
            await session.execute(select(Event.level, func.count()).where(*held).group_by(Event.level))
        ).all()
    ]
    if await _summarised(session, scope, period):
        facts = await _facts_summarised(session, scope, period)
    else:
        facts = await _facts(session, scope, period)
    result.totals, result.cumulative, result.by_month = facts.totals, facts.cumulative, facts.by_month

    # Coverage: unique pupils per band and per school over the pupils of the school year.
    names = dict(await _scope_school_ids(session, scope))
    counts_query = select(PupilCount.school_id, PupilCount.grade, PupilCount.pupils).where(
        PupilCount.school_year == period.school_year, _school_filter(scope, PupilCount.school_id)
    )
    # One pass over the counts (thousands of schools × 11 grades), not one pass per school.
    by_school: Counter[int] = Counter()
    by_grade: Counter[int] = Counter()
    for school_id, grade, n in (await session.execute(counts_query)).all():
        by_school[int(school_id)] += int(n)
        by_grade[int(grade)] += int(n)
    result.coverage_by_band = [
        CoverageRow(name, sum(by_grade[g] for g in range(lo_g, hi_g + 1)), facts.by_band.get(name, 0))
        for name, lo_g, hi_g in BANDS
    ]
    result.coverage_by_school = [
        CoverageRow(name, by_school[s], facts.by_school.get(s, 0)) for s, name in names.items()
    ]
    result.coverage_total = CoverageRow("", sum(by_grade.values()), result.totals.unique_pupils)
    if scope.kind == "school" and scope.grades:
        result.classes = [CoverageRow(str(g), by_grade[g], facts.by_grade.get(g, 0)) for g in scope.grades]

    # Profession trials by host type: events, and participations in them.
    host = func.coalesce(Organisation.type, literal("other"))
    trials_events = dict(
        (str(h), int(n))
        for h, n in (
            await session.execute(
                select(host, func.count())
                .select_from(Event)
                .outerjoin(Organisation, Organisation.id == Event.organisation_id)
                .where(*held, Event.kind == "profession_trial")
                .group_by(host)
            )
        ).all()
    )
    trials_people = facts.trials
    result.trials_by_host = [
        (h, trials_events.get(h, 0), trials_people.get(h, 0))
        for h in sorted(set(trials_events) | set(trials_people))
    ]

    # Average feedback per school, pupils and parents apart.
    fb = (
        await session.execute(
            select(
                Feedback.school_id,
                func.avg(Feedback.rating).filter(Feedback.respondent_role == "student"),
                func.count().filter(Feedback.respondent_role == "student"),
                func.avg(Feedback.rating).filter(Feedback.respondent_role == "parent"),
                func.count().filter(Feedback.respondent_role == "parent"),
            )
            .join(Event, Event.id == Feedback.event_id)
            .where(
                Event.status.in_(HELD),
                Event.starts_at >= lo,
                Event.starts_at < hi,
                _school_filter(scope, Feedback.school_id),
            )
            .group_by(Feedback.school_id)
        )
    ).all()
    result.feedback = [
        FeedbackRow(
            names.get(int(s), "?"),
            float(sa) if sa is not None else None,
            int(sn),
            float(pa) if pa is not None else None,
            int(pn),
        )
        for s, sa, sn, pa, pn in fb
        if s is not None
    ]
    result.feedback.sort(key=lambda r: r.school)
    return result


# ---------------------------------------------------------------- one event


@dataclass
class BreakdownRow:
    """One school and grade of an event's report. Answers are by the pupil's school and grade at sign-up;
    notifications and feedback are attributed as `event_report` says (a parent's message or mark can be in
    two rows, so the rows' notifications may add up to more than the event's total)."""

    school: str
    grade: int | None
    going: int = 0
    maybe: int = 0
    not_going: int = 0
    waitlisted: int = 0
    attended: int = 0
    no_shows: int = 0
    ovz: int = 0
    notified: int = 0
    delivered: int = 0
    feedback_student: tuple[float | None, int] = (None, 0)
    feedback_parent: tuple[float | None, int] = (None, 0)


@dataclass
class EventReport:
    event: Event
    scope: Scope
    made_at: datetime
    notified: int = 0
    delivered: int = 0
    going: int = 0
    maybe: int = 0
    not_going: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    attended: int = 0
    no_shows: int = 0
    participants: int = 0
    ovz: int = 0
    winners: int = 0
    prize_winners: int = 0
    feedback_student: tuple[float | None, int] = (None, 0)
    feedback_parent: tuple[float | None, int] = (None, 0)
    rows: list[BreakdownRow] = field(default_factory=list)


async def visible_event(session: AsyncSession, scope: Scope, event_id: int) -> Event:
    """The event if this scope may see its report; NotAllowed otherwise (also for an unknown id)."""
    event = await session.get(Event, event_id)
    if event is None or event.status is EventStatus.draft:
        raise NotAllowed
    if scope.kind in ("municipality", "region") and event.municipality_id not in scope.municipalities:
        raise NotAllowed
    if scope.kind == "school" and (
        event.municipality_id != scope.municipality_id
        or (event.school_id is not None and event.school_id != scope.school_id)
    ):
        raise NotAllowed
    return event


def _notifications(event: Event) -> Any:
    """The event's announcements (outbox rows) with the school and grade each is attributed to.

    An announcement goes to a user, not to a pupil, so it is attributed to the pupils it was sent about:
    each school and grade of the recipient's learners the event is meant for (`matching_learners`: its
    grades, its school or municipality, pupils themselves and/or parents' children), as they are now; a
    teacher recipient of an event for teachers to their school with no grade. A parent of two matching
    children in different classes is in both rows (once in the totals). What matches nothing any more (a
    removed child, a moved pupil) is in the row with no school."""
    announcements = and_(Outbox.event_id == event.id, Outbox.kind == "announcement")
    pupils = matching_learners(event).subquery()
    by_learner = (
        select(
            Outbox.id.label("oid"),
            Outbox.status.label("status"),
            Learner.school_id.label("school_id"),
            cast(Learner.grade, Integer).label("grade"),
        )
        .join(pupils, pupils.c.user_id == Outbox.user_id)
        .join(Learner, Learner.id == pupils.c.id)
        .where(announcements)
    )
    parts: list[Any] = [by_learner]
    if event.for_teachers:
        parts.append(
            select(Outbox.id, Outbox.status, UserRole.school_id, cast(null(), Integer))
            .join(UserRole, UserRole.user_id == Outbox.user_id)
            .where(
                announcements,
                UserRole.role == Role.teacher,
                UserRole.school_id.is_not(None),
                school_in_scope(event, UserRole.school_id),
            )
        )
    attributed = union(*parts).subquery() if len(parts) > 1 else by_learner.subquery()
    rest = select(Outbox.id, Outbox.status, cast(null(), Integer), cast(null(), Integer)).where(
        announcements, Outbox.id.not_in(select(attributed.c.oid))
    )
    return union_all(select(attributed), rest).subquery("notifications")


async def notified_delivered(session: AsyncSession, event: Event, school_id: int | None) -> tuple[int, int]:
    """Announcements of the event queued and sent: all of them, or those attributed to one school."""
    n = _notifications(event)
    sent = n.c.status == OutboxStatus.sent.value
    query = select(func.count(distinct(n.c.oid)), func.count(distinct(case((sent, n.c.oid)))))
    if school_id is not None:
        query = query.where(n.c.school_id == school_id)
    notified, delivered = (await session.execute(query)).one()
    return int(notified or 0), int(delivered or 0)


async def event_report(
    session: AsyncSession, scope: Scope, event_id: int, now: datetime | None = None
) -> EventReport:
    """Notified, delivered, answers, wait list, attendance, feedback, by school and grade.

    A teacher sees their own school's part of everything: answers and feedback of its pupils, and the
    announcements attributed to it (`_notifications`); a coordinator the whole event. Feedback is by the
    respondent's school (copied from their answer) and the grade of their pupil answers to the event at
    that school (a mark without such an answer: no grade)."""
    event = await visible_event(session, scope, event_id)
    report = EventReport(event, scope, now or datetime.now(UTC))
    teacher = scope.kind == "school"
    mine = _school_filter(scope, Rsvp.school_id) if teacher else literal(True)
    report.notified, report.delivered = await notified_delivered(
        session, event, scope.school_id if teacher else None
    )
    n = _notifications(event)
    sent = n.c.status == OutboxStatus.sent.value
    p = participant()
    totals = (
        await session.execute(
            select(
                func.count().filter(Rsvp.status == RsvpStatus.going),
                func.count().filter(Rsvp.status == RsvpStatus.maybe),
                func.count().filter(Rsvp.status == RsvpStatus.not_going),
                func.count().filter(Rsvp.status.in_([RsvpStatus.waitlisted, RsvpStatus.offered])),
                func.count().filter(Rsvp.status == RsvpStatus.cancelled),
                func.count().filter(Rsvp.attended.is_(True)),
                func.count().filter(Rsvp.attended.is_(False)),
                func.count(distinct(case((p, Rsvp.learner_id)))),
                func.count(distinct(case((and_(p, Rsvp.ovz.is_(True)), Rsvp.learner_id)))),
                func.count().filter(p, Rsvp.result == "winner"),
                func.count().filter(p, Rsvp.result == "prize_winner"),
            ).where(Rsvp.event_id == event.id, mine)
        )
    ).one()
    (
        report.going,
        report.maybe,
        report.not_going,
        report.waitlisted,
        report.cancelled,
        report.attended,
        report.no_shows,
        report.participants,
        report.ovz,
        report.winners,
        report.prize_winners,
    ) = (int(v or 0) for v in totals)
    fb_mine = _school_filter(scope, Feedback.school_id) if teacher else literal(True)
    student, parent = Feedback.respondent_role == "student", Feedback.respondent_role == "parent"
    fb = (
        await session.execute(
            select(
                func.avg(Feedback.rating).filter(student),
                func.count().filter(student),
                func.avg(Feedback.rating).filter(parent),
                func.count().filter(parent),
            ).where(Feedback.event_id == event.id, fb_mine)
        )
    ).one()
    report.feedback_student = (float(fb[0]) if fb[0] is not None else None, int(fb[1]))
    report.feedback_parent = (float(fb[2]) if fb[2] is not None else None, int(fb[3]))

    rows: dict[tuple[int | None, int | None], BreakdownRow] = {}
    names = dict((await session.execute(select(School.id, School.name))).all())

    def row(school_id: Any, grade: Any) -> BreakdownRow:
        key = (int(school_id) if school_id is not None else None, int(grade) if grade is not None else None)
        if key not in rows:
            rows[key] = BreakdownRow(str(names.get(key[0], "")) if key[0] is not None else "", key[1])
        return rows[key]

    answers = await session.execute(
        select(
            Rsvp.school_id,
            Rsvp.grade,
            func.count().filter(Rsvp.status == RsvpStatus.going),
            func.count().filter(Rsvp.status == RsvpStatus.maybe),
            func.count().filter(Rsvp.status == RsvpStatus.not_going),
            func.count().filter(Rsvp.status.in_([RsvpStatus.waitlisted, RsvpStatus.offered])),
            func.count().filter(Rsvp.attended.is_(True)),
            func.count().filter(Rsvp.attended.is_(False)),
            func.count(distinct(case((and_(p, Rsvp.ovz.is_(True)), Rsvp.learner_id)))),
        )
        .where(Rsvp.event_id == event.id, mine)
        .group_by(Rsvp.school_id, Rsvp.grade)
    )
    for school_id, grade, *values in answers.all():
        x = row(school_id, grade)
        x.going, x.maybe, x.not_going, x.waitlisted, x.attended, x.no_shows, x.ovz = (int(v) for v in values)
    by_class = await session.execute(
        select(
            n.c.school_id,
            n.c.grade,
            func.count(distinct(n.c.oid)),
            func.count(distinct(case((sent, n.c.oid)))),
        )
        .where(n.c.school_id == scope.school_id if teacher else literal(True))
        .group_by(n.c.school_id, n.c.grade)
    )
    for school_id, grade, count, delivered in by_class.all():
        x = row(school_id, grade)
        x.notified, x.delivered = int(count), int(delivered)
    # A mark is counted once in each grade the respondent answered for at their school.
    marks = (
        select(Feedback.id, Feedback.school_id, Rsvp.grade, Feedback.respondent_role, Feedback.rating)
        .outerjoin(
            Rsvp,
            and_(
                Rsvp.event_id == Feedback.event_id,
                Rsvp.user_id == Feedback.user_id,
                Rsvp.school_id == Feedback.school_id,
                Rsvp.learner_id.is_not(None),
            ),
        )
        .where(Feedback.event_id == event.id, fb_mine)
        .distinct()
        .subquery()
    )
    m = marks.c
    by_mark = await session.execute(
        select(
            m.school_id,
            m.grade,
            func.avg(m.rating).filter(m.respondent_role == "student"),
            func.count().filter(m.respondent_role == "student"),
            func.avg(m.rating).filter(m.respondent_role == "parent"),
            func.count().filter(m.respondent_role == "parent"),
        ).group_by(m.school_id, m.grade)
    )
    for school_id, grade, sa, sn, pa, pn in by_mark.all():
        if not (sn or pn):
            continue
        x = row(school_id, grade)
        x.feedback_student = (float(sa) if sa is not None else None, int(sn))
        x.feedback_parent = (float(pa) if pa is not None else None, int(pn))
    # By school name, then grade; the row with no school (adults' answers, unattributed messages) last.
    report.rows = sorted(
        rows.values(), key=lambda x: (x.school == "", x.school, x.grade is None, x.grade or 0)
    )
    return report


@dataclass
class ParticipantRow:
    school: str
    grade: int | None
    role: str
    status: str
    attended: bool | None
    ovz: bool
    result: str | None
    walk_in: bool


async def participant_list(session: AsyncSession, scope: Scope, event_id: int) -> Sequence[ParticipantRow]:
    """Everyone who answered the event, with no names (a pupil is a school and a grade), for organisers."""
    event = await visible_event(session, scope, event_id)
    mine = _school_filter(scope, Rsvp.school_id) if scope.kind == "school" else literal(True)
    rows = (
        await session.execute(
            select(
                School.name,
                Rsvp.grade,
                Rsvp.respondent_role,
                Rsvp.status,
                Rsvp.attended,
                Rsvp.ovz,
                Rsvp.result,
                Rsvp.walk_in,
            )
            .select_from(Rsvp)
            .outerjoin(School, School.id == Rsvp.school_id)
            .where(Rsvp.event_id == event.id, mine)
            .order_by(School.name, Rsvp.grade, Rsvp.id)
        )
    ).all()
    return [
        ParticipantRow(s or "", g, r or "", str(st), a, bool(o), res, bool(w))
        for s, g, r, st, a, o, res, w in rows
    ]


async def recent_events(
    session: AsyncSession, scope: Scope, period: Period, limit: int = 8
) -> Sequence[Event]:
    """The latest held events of the scope in the period: the overview offers their reports."""
    lo, hi = period.bounds(scope.zone)
    return (
        await session.scalars(
            select(Event)
            .where(Event.status.in_(HELD), Event.starts_at >= lo, Event.starts_at < hi, _event_filter(scope))
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(limit)
        )
    ).all()


@dataclass
class EventRow:
    """One line of the events sheet: an event of the period with its counts (participants of the scope)."""

    event_id: int
    starts_at: datetime
    title: str
    kind: str
    level: str
    host: str
    host_type: str | None
    going: int
    maybe: int
    not_going: int
    waitlisted: int
    attended: int
    no_shows: int
    participants: int
    ovz: int
    winners: int
    prize_winners: int


async def events_table(session: AsyncSession, scope: Scope, period: Period) -> list[EventRow]:
    """Every held event of the scope in the period with its answers, one grouped query."""
    lo, hi = period.bounds(scope.zone)
    p = participant()
    mine = _school_filter(scope, Rsvp.school_id) if scope.kind == "school" else literal(True)
    counts = (
        select(
            Rsvp.event_id.label("event_id"),
            func.count().filter(Rsvp.status == RsvpStatus.going).label("going"),
            func.count().filter(Rsvp.status == RsvpStatus.maybe).label("maybe"),
            func.count().filter(Rsvp.status == RsvpStatus.not_going).label("not_going"),
            func.count().filter(Rsvp.status.in_([RsvpStatus.waitlisted, RsvpStatus.offered])).label("wl"),
            func.count().filter(Rsvp.attended.is_(True)).label("attended"),
            func.count().filter(Rsvp.attended.is_(False)).label("no_shows"),
            func.count(distinct(case((p, Rsvp.learner_id)))).label("participants"),
            func.count(distinct(case((and_(p, Rsvp.ovz.is_(True)), Rsvp.learner_id)))).label("ovz"),
            func.count().filter(p, Rsvp.result == "winner").label("winners"),
            func.count().filter(p, Rsvp.result == "prize_winner").label("prize"),
        )
        .join(Event, Event.id == Rsvp.event_id)
        .where(
            Event.status.in_(HELD), Event.starts_at >= lo, Event.starts_at < hi, _event_filter(scope), mine
        )
        .group_by(Rsvp.event_id)
        .subquery()
    )
    z = func.coalesce
    rows = (
        await session.execute(
            select(
                Event.id,
                Event.starts_at,
                Event.title,
                Event.kind,
                Event.level,
                Organisation.name,
                Organisation.type,
                *(z(c, 0) for c in list(counts.c)[1:]),
            )
            .outerjoin(counts, counts.c.event_id == Event.id)
            .outerjoin(Organisation, Organisation.id == Event.organisation_id)
            .where(Event.status.in_(HELD), Event.starts_at >= lo, Event.starts_at < hi, _event_filter(scope))
            .order_by(Event.starts_at, Event.id)
        )
    ).all()
    return [
        EventRow(
            int(r[0]),
            r[1],
            str(r[2]),
            str(r[3]),
            str(r[4]),
            str(r[5] or ""),
            str(r[6]) if r[6] is not None else None,
            *(int(v) for v in r[7:]),
        )
        for r in rows
    ]


_MONTH_WORDS = {"month", "месяц"}
_QUARTER_WORDS = {"quarter", "квартал"}
_YEAR_WORDS = {"year", "год", "учебный год"}


def parse_period(text: str, today: date) -> Period | None:
    """What people type after /stats or /export: nothing (this school year), «месяц», «квартал», «год»,
    «2026-03» or «03.2026» (a month), «2025/2026» (a school year), «Q1 2026», or «01.09.2025-31.12.2025».
    None when it is none of these."""
    s = " ".join(text.lower().split())
    if not s or s in _YEAR_WORDS:
        return school_year_of(today)
    if s in _MONTH_WORDS:
        return month_of(today)
    if s in _QUARTER_WORDS:
        return quarter_of(today)
    import re

    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", s):
            return month_of(date(int(m[1]), int(m[2]), 1))
        if m := re.fullmatch(r"(\d{1,2})\.(\d{4})", s):
            return month_of(date(int(m[2]), int(m[1]), 1))
        if m := re.fullmatch(r"(\d{4})\s*/\s*(\d{4})", s):
            if int(m[2]) != int(m[1]) + 1:
                return None
            return school_year_of(date(int(m[1]), 9, 1))
        if m := re.fullmatch(r"(?:q|кв)\s*([1-4])\s+(\d{4})", s):
            return quarter_of(date(int(m[2]), 3 * int(m[1]) - 2, 1))
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})\s*[-–—]\s*(\d{1,2})\.(\d{1,2})\.(\d{4})", s):
            start = date(int(m[3]), int(m[2]), int(m[1]))
            end = date(int(m[6]), int(m[5]), int(m[4]))
            if start > end or (end - start).days > 3700:
                return None
            return Period(start, end)
    except ValueError:  # 31.02, month 13 …
        return None
    return None


def period_code(period: Period) -> str:
    """A period packed for callback data: 17 characters."""
    return f"{period.start:%Y%m%d}-{period.end:%Y%m%d}"


def period_from_code(code: str) -> Period | None:
    try:
        start, end = (datetime.strptime(part, "%Y%m%d").date() for part in code.split("-"))
    except ValueError:
        return None
    if start > end:
        return None
    return Period(start, end)
