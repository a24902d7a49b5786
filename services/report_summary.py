"""Exact summaries of the answers for the overview (models/report.py), so that reading this school year's
numbers of every municipality costs a few small aggregate queries instead of a scan of every answer.

Database triggers (migration 0007) mark what a write made stale: the event of every changed answer, and
its pupil (also every pupil of an event whose status or start changed, as after a cancellation, and the
pupils of a school or municipality whose zone changed). `refresh` recounts exactly those before a read,
in the reader's transaction:
- an event's tallies are recounted from its answers by school (one grouped query);
- a pupil's distinct counts: the pupil's previous participations (atoms) are taken out of the counters and
  the current ones put in, so each counter stays «how many pupils have at least one participation here».
Nothing is maintained by hand in the services, so no write path (a /forget, a deleted child, an imported
plan, a bulk load) can forget to. `rebuild` recounts everything (after a bulk load).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Event,
    Municipality,
    ReportEventTally,
    ReportPupilAtom,
    ReportPupilCount,
    ReportStaleEvent,
    ReportStalePupil,
    Rsvp,
    School,
)
from services.participation import HELD, adult_participant, answer_tallies, participant, result_tallies

BANDS: tuple[tuple[str, int, int], ...] = (("1–4", 1, 4), ("5–9", 5, 9), ("10–11", 10, 11))
DEFAULT_ZONE = ZoneInfo("Europe/Moscow")
BATCH = 500
Key = tuple[str, int, str]  # unit, school year, measure


def school_year(moment: datetime, zone: ZoneInfo) -> int:
    """The school year (its first calendar year) of a moment, by the calendar of a time zone."""
    day = moment.astimezone(zone).date()
    return day.year if day.month >= 9 else day.year - 1


def band_of(grade: int | None) -> str | None:
    if grade is None:
        return None
    return next((name for name, lo, hi in BANDS if lo <= grade <= hi), None)


@dataclass(frozen=True)
class Atom:
    """A pupil's participations that the overview cannot tell apart."""

    learner_id: int
    municipality_id: int
    school_id: int
    grade: int | None
    ovz: bool
    month: str  # in the municipality's time zone, like the school year
    school_year: int
    default_school_year: int
    default_month: str  # in the default zone, like the default school year


def pupil_keys(atoms: Iterable[Atom]) -> set[Key]:
    """The distinct counts ONE pupil is in, given all of their atoms."""
    keys: set[Key] = set()
    firsts: dict[tuple[str, str], int] = {}

    def first(unit: str, measure: str, year: int) -> None:
        firsts[(unit, measure)] = min(year, firsts.get((unit, measure), year))

    for a in atoms:
        band = band_of(a.grade)
        for unit, year, month in (
            ("all", a.default_school_year, a.default_month),
            (f"m:{a.municipality_id}", a.school_year, a.month),
            (f"s:{a.school_id}", a.school_year, a.month),
        ):
            keys.add((unit, year, "pupils"))
            keys.add((unit, year, f"month:{month}"))
            first(unit, "first", year)
            if a.ovz:
                keys.add((unit, year, "ovz"))
                first(unit, "first_ovz", year)
            if band is not None:
                keys.add((unit, year, f"band:{band}"))
        keys.add(("all", a.default_school_year, f"school:{a.school_id}"))
        if a.grade is not None:
            keys.add((f"s:{a.school_id}", a.school_year, f"grade:{a.grade}"))
    keys.update((unit, year, measure) for (unit, measure), year in firsts.items())
    return keys


def _counts(atoms: Iterable[Atom]) -> Counter[Key]:
    by_pupil: dict[int, list[Atom]] = {}
    for a in atoms:
        by_pupil.setdefault(a.learner_id, []).append(a)
    total: Counter[Key] = Counter()
    for pupil_atoms in by_pupil.values():
        total.update(pupil_keys(pupil_atoms))
    return total


async def _current_atoms(session: AsyncSession, learner_ids: Sequence[int] | None) -> set[Atom]:
    """The pupils' participations now, from the answers (None: every pupil)."""
    query = (
        select(
            Rsvp.learner_id,
            School.municipality_id,
            Rsvp.school_id,
            Rsvp.grade,
            Rsvp.ovz,
            Municipality.timezone,
            Event.starts_at,
        )
        .select_from(Rsvp)
        .join(Event, Event.id == Rsvp.event_id)
        .join(School, School.id == Rsvp.school_id)
        .join(Municipality, Municipality.id == School.municipality_id)
        .where(participant(), Event.status.in_(HELD))
        .distinct()
    )
    if learner_ids is not None:
        query = query.where(Rsvp.learner_id.in_(learner_ids))
    zones: dict[str, ZoneInfo] = {}
    moments: dict[tuple[datetime, str], tuple[str, int, int, str]] = {}
    atoms: set[Atom] = set()
    for learner, muni, school, grade, ovz, tz, starts in (await session.execute(query)).all():
        when = moments.get((starts, tz))
        if when is None:
            zone = zones.setdefault(tz, ZoneInfo(tz))
            when = (
                starts.astimezone(zone).strftime("%Y-%m"),
                school_year(starts, zone),
                school_year(starts, DEFAULT_ZONE),
                starts.astimezone(DEFAULT_ZONE).strftime("%Y-%m"),
            )
            moments[(starts, tz)] = when
        atoms.add(Atom(int(learner or 0), int(muni), int(school or 0), grade, bool(ovz), *when))
    return atoms


async def _stored_atoms(session: AsyncSession, learner_ids: Sequence[int]) -> list[Atom]:
    a = ReportPupilAtom
    rows = await session.execute(
        select(
            a.learner_id,
            a.municipality_id,
            a.school_id,
            a.grade,
            a.ovz,
            a.month,
            a.school_year,
            a.default_school_year,
            a.default_month,
        ).where(a.learner_id.in_(learner_ids))
    )
    return [
        Atom(int(r[0]), int(r[1]), int(r[2]), r[3], bool(r[4]), str(r[5]), int(r[6]), int(r[7]), str(r[8]))
        for r in rows
    ]


def _upsert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def _add_counts(session: AsyncSession, delta: Counter[Key]) -> None:
    # In key order, so two concurrent refreshes lock the counters they share in the same order.
    rows = [
        {"unit": u, "school_year": y, "measure": m, "learners": n}
        for (u, y, m), n in sorted(delta.items())
        if n
    ]
    if not rows:
        return
    insert = _upsert(session)
    for start in range(0, len(rows), 2000):
        stmt = insert(ReportPupilCount).values(rows[start : start + 2000])
        stmt = stmt.on_conflict_do_update(
            index_elements=["unit", "school_year", "measure"],
            set_={"learners": ReportPupilCount.learners + stmt.excluded.learners},
        )
        await session.execute(stmt)


async def _insert_atoms(session: AsyncSession, atoms: Iterable[Atom]) -> None:
    rows = [a.__dict__ for a in atoms]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(ReportPupilAtom), rows[start : start + 5000])


async def _refresh_pupils(session: AsyncSession, learner_ids: Sequence[int]) -> None:
    old = await _stored_atoms(session, learner_ids)
    new = await _current_atoms(session, learner_ids)
    delta = _counts(new)
    delta.subtract(_counts(old))
    await _add_counts(session, delta)
    await session.execute(delete(ReportPupilAtom).where(ReportPupilAtom.learner_id.in_(learner_ids)))
    await _insert_atoms(session, new)


def _tallies(event_ids: Sequence[int] | None) -> Any:
    """The tallies of events as the overview counts answers (see services/reports.py)."""
    query = select(
        Rsvp.event_id,
        func.coalesce(Rsvp.school_id, literal_column("0")),
        *answer_tallies(),
        *result_tallies(),
        func.count().filter(adult_participant()),
    ).group_by(Rsvp.event_id, func.coalesce(Rsvp.school_id, literal_column("0")))
    if event_ids is not None:
        query = query.where(Rsvp.event_id.in_(event_ids))
    return query


_TALLY_COLUMNS = [c.name for c in ReportEventTally.__table__.columns]


async def _refresh_events(session: AsyncSession, event_ids: Sequence[int] | None) -> None:
    gone = delete(ReportEventTally)
    if event_ids is not None:
        gone = gone.where(ReportEventTally.event_id.in_(event_ids))
    await session.execute(gone)
    # Only events that still exist: a deleted event's answers are gone with it.
    query = _tallies(event_ids).where(Rsvp.event_id.in_(select(Event.id)))
    await session.execute(insert(ReportEventTally).from_select(_TALLY_COLUMNS, query))


async def _claim(session: AsyncSession, column: Any, table: Any) -> list[int]:
    """Take the stale marks (deleting them first holds the write lock, and on PostgreSQL a concurrent
    refresh waits for these rows and then finds them gone, so no pupil is counted twice)."""
    rows = await session.execute(delete(table).returning(column))
    return sorted(int(r[0]) for r in rows)


async def refresh(session: AsyncSession) -> None:
    """Bring the summaries up to date with every committed or pending write of this transaction."""
    if await session.scalar(select(ReportStaleEvent.event_id).limit(1)) is not None:
        events = await _claim(session, ReportStaleEvent.event_id, ReportStaleEvent)
        for start in range(0, len(events), BATCH):
            await _refresh_events(session, events[start : start + BATCH])
    if await session.scalar(select(ReportStalePupil.learner_id).limit(1)) is not None:
        pupils = await _claim(session, ReportStalePupil.learner_id, ReportStalePupil)
        for start in range(0, len(pupils), BATCH):
            await _refresh_pupils(session, pupils[start : start + BATCH])


async def rebuild(session: AsyncSession) -> None:
    """Recount every summary from the answers (after a bulk load that bypassed nothing but is large)."""
    for table in (ReportStaleEvent, ReportStalePupil, ReportEventTally, ReportPupilAtom, ReportPupilCount):
        await session.execute(delete(table))
    await _refresh_events(session, None)
    atoms = await _current_atoms(session, None)
    await _insert_atoms(session, atoms)
    await _add_counts(session, _counts(atoms))
