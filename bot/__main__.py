"""`python -m bot`: with BOT_TOKEN it polls Telegram; without, it runs the local sandbox with demo data."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from bot.settings import ConfigError, Settings, load_settings

SANDBOX_ADMIN = 9001
SANDBOX_USER = 1001


def _instructions(url: str, admin: int) -> str:
    return f"""
profbot sandbox is running: a local Bot API emulator at {url} with demo data.
Act as users from another terminal (the bot answers in Russian):

  .venv/bin/python -m sandbox.cli --url {url} --user {SANDBOX_USER} talk     # chat as a new parent or pupil
  .venv/bin/python -m sandbox.cli --url {url} --user {admin} talk     # chat as the coordinator (/new_event, /stats)

or with curl:

  curl -s -X POST {url}/control/users/{SANDBOX_USER}/send -H 'Content-Type: application/json' -d '{{"text": "/start"}}'
  curl -s -X POST {url}/control/users/{SANDBOX_USER}/press -H 'Content-Type: application/json' -d '{{"label": "✅ Согласен(на)"}}'
  curl -s {url}/control/users/{SANDBOX_USER}/chat

The emulator's control side is described in docs/emulator.md. Ctrl-C stops everything.
"""


async def _until_signalled() -> None:
    """Wait for Ctrl-C or SIGTERM, then return so everything stops in order (polling, jobs, emulator)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _run(settings: Settings) -> None:
    from bot.app import build_app
    from bot.demo import seed_demo

    emulator = None
    if settings.sandbox:
        from sandbox import Emulator, EmulatorConfig

        emulator = Emulator(EmulatorConfig(port=settings.sandbox_port))
        await emulator.start()
        admins = settings.admin_ids or [SANDBOX_ADMIN]
        settings = settings.for_sandbox(emulator.url).model_copy(update={"admin_ids": admins})
    app = build_app(settings)
    try:
        await app.prepare()
        if emulator is not None:
            async with app.sessions.begin() as session:
                await seed_demo(session)
            print(_instructions(emulator.url, settings.admin_ids[0]), flush=True)
        await app.start()
        await _until_signalled()
    finally:
        await app.stop()
        if emulator is not None:
            await emulator.stop()


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The outbox job runs every second; its start/finish lines would drown everything else.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
