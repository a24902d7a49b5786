"""``python -m sandbox serve`` runs a standalone emulator; other sub-commands go to the CLI."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from sandbox.emulator import Emulator, EmulatorConfig

__all__ = ["main", "serve"]


async def serve(config: EmulatorConfig) -> None:
    """Run until SIGINT/SIGTERM, then stop cleanly (no traceback, no pending tasks)."""
    emulator = Emulator(config)
    await emulator.start()
    print(f"Telegram Bot API emulator on {emulator.url}", flush=True)
    print(f"  bot:     TELEGRAM_API_URL={emulator.url}", flush=True)
    print(
        f"  control: {emulator.url}/control/users  (python -m sandbox.cli --url {emulator.url} ...)",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()
        print("emulator stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``serve`` or fall through to ``sandbox.cli``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "serve":
        from sandbox.cli import main as cli_main

        return cli_main(argv)
    parser = argparse.ArgumentParser(prog="python -m sandbox serve", description="Run the Bot API emulator.")
    defaults = EmulatorConfig()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--global-rate", type=float, default=defaults.global_rate)
    parser.add_argument("--per-chat-rate", type=float, default=defaults.per_chat_rate)
    parser.add_argument("--per-chat-burst", type=int, default=defaults.per_chat_burst)
    parser.add_argument("--paid-rate", type=float, default=defaults.paid_rate)
    parser.add_argument("--bot-username", default=defaults.bot_username)
    parser.add_argument("--seed", type=int, default=None, help="seed for fault injection")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv[1:])
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = EmulatorConfig(
        global_rate=args.global_rate,
        per_chat_rate=args.per_chat_rate,
        per_chat_burst=args.per_chat_burst,
        paid_rate=args.paid_rate,
        bot_username=args.bot_username,
        host=args.host,
        port=args.port,
        seed=args.seed,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
