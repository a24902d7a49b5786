"""The emulator in its own process for the benchmark, with `--users` chats that have started the bot.

`python -m benchmarks._emulator --users N --first-id ID --global-rate 30 --paid-rate 1000 [faults]`
Prints `READY <url>` once listening; SIGTERM stops it. Read results at `<url>/control/counters`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from sandbox import Emulator, EmulatorConfig


async def serve(args: argparse.Namespace) -> None:
    emulator = Emulator(
        EmulatorConfig(
            global_rate=args.global_rate,
            per_chat_rate=1.0,
            per_chat_burst=3,
            paid_rate=args.paid_rate,
            port=args.port,
            seed=args.seed,
        )
    )
    for chat_id in range(args.first_id, args.first_id + args.users):
        emulator.user(chat_id).started = True
    if args.error_rate or args.reset_rate:
        emulator.set_faults(
            seed=args.seed, error_rate=args.error_rate, error_status=502, reset_rate=args.reset_rate
        )
    await emulator.start()
    print(f"READY {emulator.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._emulator")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--first-id", type=int, default=1_000_000)
    parser.add_argument("--global-rate", type=float, default=30.0)
    parser.add_argument("--paid-rate", type=float, default=1000.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--reset-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
