"""A process that only runs the delivery engine over an existing database, as the bot's job does.

`python -m benchmarks._worker DATABASE_URL API_URL --rate 30 [--paid] [--budget S] [--lease S]`

Used by the benchmark (so the engine and the emulator do not share a process) and by the kill -9 test.
Prints one JSON line at the end: sent, retried, undeliverable, failed, 429s, peak RSS (MiB), seconds.
Rows of kind `note` are rendered as "note <row id>" (the benchmark and the test seed them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.memory import peak_rss_mib
from models import Outbox, OutboxStatus
from models.database import create_engine, create_session_factory
from services.delivery import Delivery, OutgoingMessage
from services.delivery_http import method_url

TOKEN = "4242:BENCH-profbot"
NOTE = "note"


async def note_renderer(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
    return {row.id: OutgoingMessage(f"note {row.id}", parse_mode=None) for row in rows}


async def main(args: argparse.Namespace) -> dict[str, float | int]:
    baseline = peak_rss_mib()  # the interpreter with SQLAlchemy and the models loaded (no aiogram)
    engine = create_engine(args.database_url)
    sessions = create_session_factory(engine)
    delivery = Delivery(
        method_url(args.api_url, TOKEN),
        sessions,
        {NOTE: note_renderer},
        rate=args.rate,
        paid=args.paid,
        lease=timedelta(seconds=args.lease),
        backoff=args.backoff,
        batch_size=args.batch,
    )
    started = time.monotonic()
    deadline = started + args.budget
    left_query = select(func.count()).where(Outbox.status.in_([OutboxStatus.pending, OutboxStatus.sending]))
    try:
        while time.monotonic() < deadline:
            await delivery.run(budget=min(30.0, deadline - time.monotonic()))
            if not args.stay:
                async with sessions() as session:
                    if not await session.scalar(left_query):
                        break
            await asyncio.sleep(0.2)
    finally:
        await delivery.close()
        await engine.dispose()
    stats = delivery.stats
    return {
        "sent": stats.sent,
        "retried": stats.retried,
        "undeliverable": stats.undeliverable,
        "failed": stats.failed,
        "rate_limited": stats.rate_limited,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "baseline_rss_mib": round(baseline, 1),
        "seconds": round(time.monotonic() - started, 3),
        "send_span_s": round((stats.last_sent_at or 0.0) - (stats.first_sent_at or 0.0), 3),
        "max_unsettled": delivery.max_unsettled,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._worker")
    parser.add_argument("database_url")
    parser.add_argument("api_url")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--paid", action="store_true")
    parser.add_argument("--budget", type=float, default=3600.0)
    parser.add_argument("--lease", type=float, default=120.0)
    parser.add_argument("--backoff", type=float, default=0.5)
    parser.add_argument(
        "--stay", action="store_true", help="keep polling until the budget, as the bot's job does"
    )
    parser.add_argument("--batch", type=int, default=None, help="rows per claim (default: a quarter second)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    result = asyncio.run(main(parse(sys.argv[1:])))
    print(json.dumps(result), flush=True)
