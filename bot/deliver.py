"""`python -m bot.deliver`: a process that only sends the outbox, for `DELIVERY_MODE=worker`.

Issue #5 wants a 100,000-recipient broadcast delivered in under 200 MiB; aiogram alone costs ~166 MiB,
so this process loads the engine, SQLAlchemy and the models (~60 MiB) and no aiogram: broadcasts render
with `bot.catalogs`, and the renderers of kinds that need aiogram are imported on the first row of such
a kind (`bot.outbox.AIOGRAM_KINDS`). It reads the same `.env` as the bot; the bot migrates the database.

SIGINT or SIGTERM: the batches in flight are sent and settled, the author's report is brought up to
date, connections are closed, exit code 0. Killed harder, rows it had claimed come back when their lease
runs out (the engine's crash safety).

`--stats` prints one JSON line after each run that sent something and one at exit: counts, peak RSS and
whether aiogram is loaded (for measuring, and for the test that keeps it out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys

from bot.catalogs import Catalogs
from bot.clock import SystemClock
from bot.memory import peak_rss_mib
from bot.outbox import RenderDeps, build_delivery
from bot.settings import ConfigError, Settings, load_settings
from models.database import create_engine, create_session_factory
from services.delivery import Delivery

log = logging.getLogger(__name__)

# Seconds of one engine run: a stop waits at most this long, plus the batches in flight. Between runs the
# engine's pipeline restarts, which costs a few milliseconds, so this is long enough not to matter.
RUN_BUDGET = 5.0


def _print_stats(delivery: Delivery, moment: str) -> None:
    stats = delivery.stats
    figures = {
        "at": moment,
        "sent": stats.sent,
        "retried": stats.retried,
        "undeliverable": stats.undeliverable,
        "failed": stats.failed,
        "by_kind": stats.by_kind,
        "send_span_s": round((stats.last_sent_at or 0.0) - (stats.first_sent_at or 0.0), 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "aiogram_loaded": "aiogram" in sys.modules,
    }
    print(json.dumps(figures), flush=True)


async def deliver(settings: Settings, stop: asyncio.Event, *, stats: bool = False) -> None:
    """Run the engine every OUTBOX_INTERVAL (at once again while there is work) until `stop` is set."""
    settings.ensure_data_dir()
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    deps = RenderDeps(Catalogs(settings.default_locale), SystemClock())
    delivery, reports = build_delivery(settings, sessions, deps, lazy=True)
    log.info("delivering the outbox at %s messages/s", settings.delivery_rate)
    try:
        while not stop.is_set():
            try:
                sent = await delivery.run(budget=RUN_BUDGET)
            except Exception:  # a bad moment of the database or the network must not end the process
                log.exception("outbox delivery run failed")
                sent = 0
            if sent and stats:
                _print_stats(delivery, "run")
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.outbox_interval)
    finally:
        await delivery.close()
        await reports.close()
        await engine.dispose()
        if stats:
            _print_stats(delivery, "exit")
        log.info("stopped after sending %d messages", delivery.stats.sent)


async def _run(settings: Settings, stats: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await deliver(settings, stop, stats=stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.deliver", description=__doc__.splitlines()[0])
    parser.add_argument("--stats", action="store_true", help="print JSON figures after each run and at exit")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if settings.delivery_mode != "worker":
            raise ConfigError(
                "Configuration error: DELIVERY_MODE: must be worker to run python -m bot.deliver "
                "(with inline the bot sends the outbox itself)"
            )
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if settings.sandbox:  # the emulator `python -m bot` starts without a token
        settings = settings.for_sandbox(f"http://127.0.0.1:{settings.sandbox_port}")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(settings, args.stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
