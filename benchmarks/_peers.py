"""What users write instead of a delivery engine, for the benchmark to compare against.

`python -m benchmarks._peers plain|broadcaster DATABASE_FILE API_URL --rate R [--paid] --budget S --done FILE
[--split N]`

* `plain`: a loop over `bot.send_message` with a fixed sleep of 1/rate between sends; on 429 it sleeps
  `retry_after` and tries that chat once more; other errors are logged and skipped (the usual snippet).
* `broadcaster`: the `aiogram-broadcaster` library (PyPI `aiogram-broadcaster`): one mailer, a
  `SimpleInterval` of 1/rate, its retry-after handler, no storage (its storages are optional).

Both read the chat ids from the same seeded outbox the engine uses, write the ids they finished (sent or
gave up) to `--done`, and print one JSON line: ok, failed, 429s seen, peak RSS (MiB), seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter

from benchmarks._worker import TOKEN, peak_rss_mib

TEXT = "note from a peer"


def chat_ids(path: str) -> list[int]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT chat_id FROM outbox ORDER BY id")]


async def plain(
    bot: Bot, chats: list[int], args: argparse.Namespace, done: list[int], span: list[float]
) -> dict[str, int]:
    ok = failed = seen_429 = 0
    extra: dict[str, Any] = {"allow_paid_broadcast": True} if args.paid else {}
    deadline = time.monotonic() + args.budget
    for chat in chats:
        if time.monotonic() >= deadline:
            break
        try:
            try:
                await bot.send_message(chat, TEXT, **extra)
            except TelegramRetryAfter as exc:
                seen_429 += 1
                await asyncio.sleep(exc.retry_after)
                await bot.send_message(chat, TEXT, **extra)
            ok += 1
            span.append(time.monotonic())
        except Exception:  # the usual snippet: log and move on
            failed += 1
        done.append(chat)
        await asyncio.sleep(1.0 / args.rate)
    return {"ok": ok, "failed": failed, "rate_limited": seen_429}


async def broadcaster(
    bot: Bot, chats: list[int], args: argparse.Namespace, done: list[int], span: list[float]
) -> dict[str, int]:
    from aiogram_broadcaster import Broadcaster
    from aiogram_broadcaster.contents import TextContent
    from aiogram_broadcaster.intervals import SimpleInterval
    from aiogram_broadcaster.utils.retry_after_handler import setup_retry_after_handler

    counts = {"ok": 0, "failed": 0, "rate_limited": 0}

    async def on_success(chat_id: int, **_: Any) -> None:
        counts["ok"] += 1
        done.append(chat_id)
        span.append(time.monotonic())

    async def on_failure(chat_id: int, error: TelegramAPIError, **_: Any) -> None:
        if isinstance(error, TelegramRetryAfter):
            counts["rate_limited"] += 1
            return  # its retry-after handler sends it again
        counts["failed"] += 1
        done.append(chat_id)

    manager = Broadcaster(bot)
    setup_retry_after_handler(manager.event)
    manager.event.success_send.register(on_success)
    manager.event.failed_send.register(on_failure)
    content = TextContent(text=TEXT, allow_paid_broadcast=True) if args.paid else TextContent(text=TEXT)
    mailer = await manager.create_mailer(
        chats=chats, content=content, interval=SimpleInterval(interval=1.0 / args.rate)
    )
    task = mailer.start()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=args.budget)
    except TimeoutError:
        await mailer.stop()
        await asyncio.gather(task, return_exceptions=True)
    return counts


async def main(args: argparse.Namespace) -> dict[str, Any]:
    baseline = peak_rss_mib()
    chats = chat_ids(args.database_file)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(args.api_url)))
    done: list[int] = []
    span: list[float] = []
    started = time.monotonic()
    try:
        runner = plain if args.approach == "plain" else broadcaster
        # `--split N`: N mailings at once (say, a teacher's broadcast and a coordinator's announcement),
        # each its own loop or mailer paced at the limit, as these approaches are used.
        parts = await asyncio.gather(
            *(runner(bot, chats[i :: args.split], args, done, span) for i in range(args.split))
        )
        result: dict[str, Any] = {k: sum(p[k] for p in parts) for k in parts[0]}
    finally:
        await bot.session.close()
    result["seconds"] = round(time.monotonic() - started, 3)
    # Only the successful sends are timed (first to last), as for the engine.
    result["send_span_s"] = round(span[-1] - span[0], 3) if len(span) > 1 else 0.0
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    result["baseline_rss_mib"] = round(baseline, 1)
    Path(args.done).write_text("\n".join(str(c) for c in done))  # noqa: ASYNC240 (once, at the end)
    return result


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._peers")
    parser.add_argument("approach", choices=["plain", "broadcaster"])
    parser.add_argument("database_file")
    parser.add_argument("api_url")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--paid", action="store_true")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--done", required=True)
    parser.add_argument(
        "--split", type=int, default=1, help="mailings sent at once over parts of the audience"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse(sys.argv[1:])))), flush=True)
