"""Priorities under load: a 50,000-recipient broadcast is being delivered when reminders are queued.

The engine runs in its own process (`benchmarks._worker`) over a SQLite outbox holding the broadcast; once
it is sending, this process queues a personal message (priority `personal`, as reminders and wait-list
offers are) every few seconds, each to a chat outside the broadcast, and times how long each takes to
reach its chat on the emulator (polled every 10 ms). Both limits: Telegram's 30/s and 1000/s paid.

Figures: reminder latency (median, max), broadcast messages delivered meanwhile, 429s. The issue asks
that the broadcast "does not delay a reminder by more than a few seconds".
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import insert

from benchmarks._seed import FIRST_CHAT, seed
from benchmarks._worker import NOTE
from benchmarks.delivery import ROOT, _counters, _emulator
from models import Priority, User
from models.base import utcnow
from models.database import create_engine, create_session_factory
from services.outbox import enqueue

REMINDERS = 5
GAP_S = 3.0


async def _received(http: ClientSession, api: str, chat: int) -> bool:
    async with http.get(f"{api}/control/users/{chat}/chat") as response:
        return bool((await response.json())["result"])


async def _one(users: int, limit: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="profbot-bench-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'outbox.sqlite3'}"
        await seed(url, users)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        extra = [FIRST_CHAT + users + k for k in range(REMINDERS)]  # started the bot, not in the broadcast
        async with sessions.begin() as session:
            await session.execute(
                insert(User),
                [
                    {"id": users + 1 + k, "telegram_id": chat, "consent_at": utcnow(), "is_active": True}
                    for k, chat in enumerate(extra)
                ],
            )
        emulator, api = await _emulator(users + REMINDERS)
        budget = REMINDERS * GAP_S + 20
        paid = ["--paid"] if limit > 30 else []
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks._worker", url, api, "--rate", str(limit),
            "--budget", str(budget), "--stay", *paid,
            cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        latencies: list[float] = []
        try:
            async with ClientSession() as http:
                for _ in range(3000):  # the broadcast is under way: its first recipient has it
                    if await _received(http, api, FIRST_CHAT):
                        break
                    await asyncio.sleep(0.01)
                await asyncio.sleep(GAP_S)
                before = int((await _counters(api))["delivered_total"])
                for k, chat in enumerate(extra):
                    async with sessions.begin() as session:
                        await enqueue(
                            session, key=f"reminder:{k}", chat_id=chat, user_id=users + 1 + k, kind=NOTE,
                            priority=Priority.personal,
                        )  # fmt: skip
                    queued = time.monotonic()
                    for _ in range(6000):
                        if await _received(http, api, chat):
                            break
                        await asyncio.sleep(0.01)
                    latencies.append(time.monotonic() - queued)
                    await asyncio.sleep(GAP_S)
                counters = await _counters(api)
        finally:
            if worker.returncode is None:
                worker.terminate()
            await worker.wait()
            emulator.terminate()
            await emulator.wait()
            await engine.dispose()
    return {
        "scenario": "delivery/priority",
        "params": {"broadcast_recipients": users, "limit_per_s": limit, "reminders": REMINDERS},
        "figures": {
            "reminder_latency_median_s": round(statistics.median(latencies), 3),
            "reminder_latency_max_s": round(max(latencies), 3),
            "broadcast_delivered_meanwhile": int(counters["delivered_total"]) - before,
            "429s_received": int(counters["too_many_requests"]),
        },
    }


async def scenarios(quick: bool) -> AsyncIterator[dict[str, Any]]:
    users = 5_000 if quick else 50_000
    for limit in (30, 1000):
        yield await _one(users, limit)
