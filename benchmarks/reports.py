"""Reports at scale: the overview, one event's report and the XLSX export over 100,000 users, 2,000 events
and 1,000,000 answers, on SQLite and (with BENCH_PG_URL / TEST_DATABASE_URL, default the local server)
on PostgreSQL. Targets: overview and event report < 200 ms, XLSX export < 5 s (medians).

`python -m benchmarks reports [--quick]`
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks._reports_data import Sizes, generate, load_postgresql, load_sqlite
from bot.i18n import build_i18n
from models import Event, EventStatus, Rsvp, RsvpStatus
from models.database import create_engine, create_session_factory
from models.migrate import upgrade
from models.scratch import create_scratch_database, drop_scratch_database
from services import export, report_summary
from services.reports import Period, Scope, event_report, events_table, overview, quarter_of, school_year_of

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
YEAR = school_year_of(date(2025, 10, 1))


async def _median(fn: Callable[[int], Awaitable[Any]], runs: int) -> float:
    """Median wall time in ms; one warm-up run first (caches, prepared statements)."""
    await fn(0)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        await fn(i + 1)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def _summarise(url: str) -> float:
    """The bulk load wrote rows directly: recount the report summaries from them (seconds)."""
    engine = create_engine(url)
    start = time.perf_counter()
    try:
        async with create_session_factory(engine).begin() as session:
            await report_summary.rebuild(session)
    finally:
        await engine.dispose()
    return time.perf_counter() - start


async def _after_answers(
    sessions: async_sessionmaker[AsyncSession], reader: AsyncSession, scope: Scope, runs: int
) -> float:
    """The first overview after people answered: 100 answers in 10 events change (committed by another
    session), then the overview is timed — it recounts what the triggers marked stale, then reads."""
    times = []
    for i in range(runs + 1):
        events = select(Event.id).where(Event.status != EventStatus.draft).order_by(Event.id)
        event_ids = list((await reader.scalars(events.offset(i * 37).limit(10))).all())
        await reader.commit()
        async with sessions.begin() as writer:
            for event_id in event_ids:
                ids = select(Rsvp.id).where(
                    Rsvp.event_id == event_id, Rsvp.status.in_([RsvpStatus.going, RsvpStatus.maybe])
                )
                chosen = list((await writer.scalars(ids.order_by(Rsvp.id).limit(10))).all())
                flipped = case((Rsvp.status == RsvpStatus.going, RsvpStatus.maybe), else_=RsvpStatus.going)
                await writer.execute(update(Rsvp).where(Rsvp.id.in_(chosen)).values(status=flipped))
        start = time.perf_counter()
        await overview(reader, scope, YEAR)
        if i:  # the first one warms up
            times.append((time.perf_counter() - start) * 1000)
        await reader.commit()
    return statistics.median(times)


async def _measure(url: str, runs: int, announced: int) -> dict[str, float]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    i18n = build_i18n("ru")
    municipality = Scope("municipality", "Муниципалитет 1", municipality_id=1)
    everything = Scope("all", "")
    one_school = Scope("school", "Школа 1", municipality_id=1, school_id=1)
    figures: dict[str, float] = {}
    try:
        async with sessions() as session:

            async def muni_overview(_: int) -> None:
                await overview(session, municipality, YEAR)

            async def all_overview(_: int) -> None:
                await overview(session, everything, YEAR)

            held = select(Event.id).where(Event.status != EventStatus.draft).order_by(Event.id)
            announced_ids = list((await session.scalars(held.where(Event.id <= announced))).all())
            muni_ids = list((await session.scalars(held.where(Event.municipality_id == 1))).all())

            async def one_event(i: int) -> None:
                await event_report(session, everything, announced_ids[(i * 7) % len(announced_ids)])

            async def one_event_any(i: int) -> None:
                await event_report(session, municipality, muni_ids[(i * 37) % len(muni_ids)])

            async def xlsx(scope: Scope, period: Period) -> None:
                data = await overview(session, scope, period)
                rows = await events_table(session, scope, period)
                with i18n.context(), i18n.use_locale("ru"):
                    sheets = export.overview_sheets(data, rows, "ru")
                    header = export.overview_header(data, "ru")
                    blob = export.build_xlsx(header, sheets)
                assert blob[:2] == b"PK"

            async def muni_xlsx(_: int) -> None:
                await xlsx(municipality, YEAR)

            async def all_xlsx(_: int) -> None:
                await xlsx(everything, YEAR)

            figures["overview_municipality_median_ms"] = await _median(muni_overview, runs)
            figures["overview_all_municipalities_median_ms"] = await _median(all_overview, max(3, runs // 2))
            # A quarter and a month are read from the answers themselves (the summaries are by school
            # year), and a teacher's view of one school: the other ways /stats is asked.
            quarter = quarter_of(date(YEAR.start.year, 11, 15))

            async def muni_quarter(_: int) -> None:
                await overview(session, municipality, quarter)

            async def school_year_of_one_school(_: int) -> None:
                await overview(session, one_school, YEAR)

            figures["overview_municipality_quarter_median_ms"] = await _median(muni_quarter, runs)
            figures["overview_school_median_ms"] = await _median(school_year_of_one_school, runs)
            figures["event_report_announced_median_ms"] = await _median(one_event, runs)
            figures["event_report_municipality_median_ms"] = await _median(one_event_any, runs)
            figures["xlsx_municipality_median_ms"] = await _median(muni_xlsx, 3)
            figures["xlsx_all_municipalities_median_ms"] = await _median(all_xlsx, 3)
            await session.commit()
            figures["overview_all_after_100_answers_median_ms"] = await _after_answers(
                sessions, session, everything, runs
            )
    finally:
        await engine.dispose()
    return figures


async def scenarios(quick: bool) -> AsyncIterator[dict[str, Any]]:
    sizes = Sizes(users=10_000, events=200, rsvps_per_event=500, announced_events=20) if quick else Sizes()
    runs = 5 if quick else 9
    started = time.perf_counter()
    tables = await asyncio.to_thread(generate, sizes)
    generated_s = time.perf_counter() - started
    params = {"users": sizes.users, "events": sizes.events, "rsvps": sizes.events * sizes.rsvps_per_event}

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        start = time.perf_counter()
        await asyncio.to_thread(load_sqlite, url, tables)
        load_s = time.perf_counter() - start
        summaries_s = await _summarise(url)
        figures = await _measure(url, runs, sizes.announced_events)
        yield {
            "scenario": "reports/sqlite",
            "params": params,
            "figures": {
                "generate_s": round(generated_s, 1),
                "load_s": round(load_s, 1),
                "summaries_s": round(summaries_s, 1),
                **figures,
            },
        }

    base = os.environ.get("BENCH_PG_URL") or os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
    try:
        url, name = await create_scratch_database(base, "profbot_bench")
    except Exception as exc:  # no server: say so, do not fail the other scenarios
        yield {"scenario": "reports/postgresql", "params": params, "figures": {"skipped": str(exc)[:100]}}
        return
    try:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        start = time.perf_counter()
        await load_postgresql(url, tables)
        load_s = time.perf_counter() - start
        summaries_s = await _summarise(url)
        figures = await _measure(url, runs, sizes.announced_events)
        yield {
            "scenario": "reports/postgresql",
            "params": params,
            "figures": {"load_s": round(load_s, 1), "summaries_s": round(summaries_s, 1), **figures},
        }
    finally:
        await drop_scratch_database(base, name)
