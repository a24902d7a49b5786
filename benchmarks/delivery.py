"""Delivery benchmark: the outbox engine against a plain send loop and aiogram-broadcaster, same emulator.

For each audience size (10,000 and 100,000; 2,000 with --quick) and each limit (Telegram's 30/s, and
1000/s with `allow_paid_broadcast`), every approach gets a fresh emulator process (loopback, same limits,
same light fault profile: 1% 502 answers and 0.2% connection resets, seeded) and a fresh SQLite database
holding the audience as queued outbox rows. Each runs in its own process for at most the window
(`BENCH_WINDOW_30` / `BENCH_WINDOW_PAID` seconds; at 30/s, 100,000 messages would take 55 minutes).

Figures: deliveries per second over the sender's own running time, 429s received, lost (recipients the
sender finished with — sent or gave up — that never got the message), duplicated (extra copies
delivered), peak RSS of the sending process and its growth over the process with its imports loaded
(aiogram alone takes ~165 MiB here), and the share of the limit sustained.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from benchmarks._seed import FIRST_CHAT, seed

ROOT = Path(__file__).resolve().parent.parent
FAULTS = {"error_rate": 0.01, "reset_rate": 0.002}
APPROACHES = ("engine", "plain", "broadcaster")


async def _emulator(users: int) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks._emulator",
        "--users",
        str(users),
        "--first-id",
        str(FIRST_CHAT),
        "--global-rate",
        "30",
        "--paid-rate",
        "1000",
        "--error-rate",
        str(FAULTS["error_rate"]),
        "--reset-rate",
        str(FAULTS["reset_rate"]),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), timeout=300)).decode()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"emulator did not start: {line!r}")
    return process, line.split()[1]


async def _counters(url: str) -> dict[str, Any]:
    async with ClientSession() as http, http.get(f"{url}/control/counters") as response:
        return dict((await response.json())["result"])


async def _spawn(argv: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def _run(argv: list[str], kill_after: float | None = None) -> dict[str, Any]:
    """Run a sender to its end and return its JSON line; with `kill_after`, SIGKILL it then (no answer)."""
    process = await _spawn(argv)
    if kill_after is not None:
        try:
            await asyncio.wait_for(process.wait(), timeout=kill_after)
        except TimeoutError:
            process.kill()  # kill -9: no cleanup, nothing written at exit
        await process.wait()
        return {}
    out, _ = await process.communicate()
    lines = out.decode().strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"{argv[1]} failed with code {process.returncode}")
    return dict(json.loads(lines[-1]))


def _finished_by_engine(path: Path) -> set[int]:
    with sqlite3.connect(path) as db:
        query = "SELECT chat_id FROM outbox WHERE status IN ('sent', 'failed', 'undeliverable')"
        return {row[0] for row in db.execute(query)}


async def _one(
    approach: str,
    users: int,
    limit: int,
    window: float,
    *,
    split: int = 1,
    crash_at: float | None = None,
    scenario: str = "delivery",
) -> dict[str, Any]:
    """One sender over a fresh emulator and outbox. `split`: that many mailings at once (the engine
    queues them all in its one outbox). `crash_at`: the sender is killed with SIGKILL after that many
    seconds and started again for the rest of the window, as a supervisor would restart it."""
    with tempfile.TemporaryDirectory(prefix="profbot-bench-") as folder:
        path = Path(folder) / "outbox.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        await seed(url, users)
        emulator, api = await _emulator(users)
        try:
            paid = ["--paid"] if limit > 30 else []
            done = Path(folder) / "done.txt"

            def argv(budget: float) -> list[str]:
                if approach == "engine":
                    # A short lease after a crash: what the dead process had claimed is retried soon.
                    lease = ["--lease", "3"] if crash_at is not None else []
                    return [
                        "-m", "benchmarks._worker", url, api, "--rate", str(limit),
                        "--budget", str(budget), *lease, *paid,
                    ]  # fmt: skip
                return [
                    "-m", "benchmarks._peers", approach, str(path), api, "--rate", str(limit),
                    "--budget", str(budget), "--done", str(done), "--split", str(split), *paid,
                ]  # fmt: skip

            if crash_at is not None:
                await _run(argv(window), kill_after=crash_at)
                result = await _run(argv(window - crash_at))
            else:
                result = await _run(argv(window))
            if approach == "engine":
                finished = _finished_by_engine(path)
            else:
                text = done.read_text().strip()
                finished = {int(c) for c in text.splitlines()} if text else set()
            counters = await _counters(api)
        finally:
            emulator.terminate()
            await emulator.wait()
    by_chat = {int(k): int(v) for k, v in counters["delivered_by_chat"].items()}
    delivered = int(counters["delivered_total"])
    seconds = float(result["seconds"])
    span = float(result["send_span_s"])
    # Rate between the first and the last accepted send: start-up (imports, seeding) is not sending.
    rate = (delivered - 1) / span if span > 0 and crash_at is None else 0.0
    params: dict[str, Any] = {
        "recipients": users,
        "limit_per_s": limit,
        "window_s": window,
        "faults": "1% 502, 0.2% resets",
    }
    if split > 1:
        params["mailings_at_once"] = split
    if crash_at is not None:
        params["kill_9_at_s"] = crash_at
    figures: dict[str, Any] = {"delivered": delivered}
    if crash_at is None:
        figures |= {"deliveries_per_s": round(rate, 1), "share_of_limit": round(rate / limit, 3)}
    figures |= {
        "429s_received": int(counters["too_many_requests"]),
        "lost": len([c for c in finished if by_chat.get(c, 0) == 0]),
        "duplicated": sum(v - 1 for v in by_chat.values() if v > 1),
        "peak_rss_mib": float(result["peak_rss_mib"]),
        "rss_growth_mib": round(float(result["peak_rss_mib"]) - float(result["baseline_rss_mib"]), 1),
        "send_span_s": span,
        "sender_seconds": seconds,
    }
    return {"scenario": f"{scenario}/{approach}", "params": params, "figures": figures}


async def scenarios(quick: bool) -> AsyncIterator[dict[str, Any]]:
    sizes = [2_000] if quick else [10_000, 100_000]
    window_30 = float(os.environ.get("BENCH_WINDOW_30", 15 if quick else 60))
    window_paid = float(os.environ.get("BENCH_WINDOW_PAID", 15 if quick else 60))
    only = [a for a in os.environ.get("BENCH_APPROACHES", ",".join(APPROACHES)).split(",") if a]
    for users in sizes:
        for limit, window in ((30, window_30), (1000, window_paid)):
            results: dict[str, dict[str, Any]] = {}
            for approach in only:
                results[approach] = await _one(approach, users, limit, window)
                yield results[approach]
            engine = results.get("engine")
            if engine is None:
                continue
            ratios: dict[str, Any] = {}
            for peer in ("plain", "broadcaster"):
                if peer in results:
                    theirs = results[peer]["figures"]["deliveries_per_s"]
                    ours = engine["figures"]["deliveries_per_s"]
                    ratios[f"speed_vs_{peer}"] = round(ours / theirs, 2) if theirs else "n/a"
            yield {
                "scenario": "delivery/compare",
                "params": {"recipients": users, "limit_per_s": limit},
                "figures": ratios,
            }
    # Two situations every real deployment meets, at Telegram's 30/s: two mailings at once (a teacher's
    # broadcast while a coordinator's announcement goes out), and the sender killed mid-way and restarted.
    users = 2_000
    window = float(os.environ.get("BENCH_WINDOW_SPECIAL", 20 if quick else 40))
    for approach in only:
        yield await _one(approach, users, 30, window, split=2, scenario="delivery/two_at_once")
    for approach in only:
        yield await _one(approach, users, 30, window, crash_at=window / 2, scenario="delivery/kill_9")
