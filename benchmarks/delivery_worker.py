"""The production sender on a real broadcast: `python -m bot.deliver` (DELIVERY_MODE=worker).

Where `benchmarks/delivery.py` times the engine with a trivial renderer, this runs the very process a
deployment runs, over a confirmed broadcast of 100,000 rows in a SQLite outbox (`broadcast` kind: the
heading in each recipient's language, the «✅ Ознакомлен(а)» button, the author's live report refreshed
while sending), against the emulator in its own process with the same light faults. The worker is
stopped with SIGTERM once nothing is pending (or at the end of the window) and reports its own figures.

Figures: deliveries/s (first to last accepted send), 429s, lost, duplicated, the worker's peak RSS
(VmHWM, its own) and whether aiogram was ever loaded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from benchmarks._seed import FIRST_CHAT, seed
from benchmarks._worker import TOKEN
from benchmarks.delivery import FAULTS, ROOT, _counters, _emulator
from models import Broadcast, BroadcastStatus, User
from models.base import utcnow
from models.database import create_engine
from models.migrate import upgrade

BROADCAST_ID = 1


async def _world(url: str, users: int) -> None:
    """The author (a teacher, not a recipient) and their confirmed broadcast, then its rows."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            author = users + 1
            await conn.execute(
                insert(User).values(
                    id=author,
                    telegram_id=FIRST_CHAT + users,
                    consent_at=utcnow(),
                    language="ru",
                    quiet_start=0,
                    quiet_end=0,
                )
            )
            await conn.execute(
                insert(Broadcast).values(
                    id=BROADCAST_ID,
                    author_id=author,
                    audience={},
                    text="Родительское собрание в четверг в 18:00, актовый зал.",
                    ack_required=True,
                    status=BroadcastStatus.sending,
                    recipients=users,
                    created_at=utcnow(),
                    started_at=utcnow(),
                )
            )
    finally:
        await engine.dispose()
    await seed(url, users, broadcast_id=BROADCAST_ID)


def _pending(path: Path) -> int:
    with sqlite3.connect(path) as db:
        query = "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        return int(db.execute(query).fetchone()[0])


async def _one(users: int, limit: int, window: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="profbot-bench-") as folder:
        path = Path(folder) / "outbox.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        await _world(url, users)
        emulator, api = await _emulator(users + 1)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api,
            "DATABASE_URL": url,
            "DELIVERY_MODE": "worker",
            "OUTBOX_RATE": "30",
            "PAID_BROADCAST": "true" if limit > 30 else "false",
            "OUTBOX_PAID_RATE": str(limit),
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
        }
        try:
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.deliver", "--stats",
                cwd=folder, env=env, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            deadline = time.monotonic() + window
            while time.monotonic() < deadline and worker.returncode is None:
                await asyncio.sleep(0.5)
                if not await asyncio.to_thread(_pending, path):
                    break
            worker.send_signal(signal.SIGTERM)
            out, _ = await worker.communicate()
            counters = await _counters(api)
            with sqlite3.connect(path) as db:
                query = "SELECT chat_id FROM outbox WHERE status IN ('sent', 'failed', 'undeliverable')"
                finished = {row[0] for row in db.execute(query)}
        finally:
            emulator.terminate()
            await emulator.wait()
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    if worker.returncode != 0 or not lines:
        raise RuntimeError(f"python -m bot.deliver ended with code {worker.returncode}")
    last = lines[-1]
    by_chat = {int(k): int(v) for k, v in counters["delivered_by_chat"].items()}
    delivered = int(counters["delivered_total"])
    span = float(last["send_span_s"])
    rate = (delivered - 1) / span if span > 0 else 0.0
    return {
        "scenario": "delivery/worker_broadcast",
        "params": {
            "recipients": users,
            "limit_per_s": limit,
            "window_s": window,
            "faults": f"{FAULTS['error_rate']:.0%} 502, {FAULTS['reset_rate']:.1%} resets",
        },
        "figures": {
            "delivered": delivered,
            "deliveries_per_s": round(rate, 1),
            "share_of_limit": round(rate / limit, 3),
            "429s_received": int(counters["too_many_requests"]),
            "lost": len([c for c in finished if by_chat.get(c, 0) == 0]),
            "duplicated": sum(v - 1 for v in by_chat.values() if v > 1),
            "peak_rss_mib": float(last["peak_rss_mib"]),
            "aiogram_loaded": bool(last["aiogram_loaded"]),
            "send_span_s": span,
        },
    }


async def scenarios(quick: bool) -> AsyncIterator[dict[str, Any]]:
    users = 2_000 if quick else 100_000
    window = float(os.environ.get("BENCH_WINDOW_WORKER", 20 if quick else 150))
    yield await _one(users, 1000, window)
