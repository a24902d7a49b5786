"""Dialog state lives in the database (or Redis when configured): a restart mid-dialog loses nothing."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.demo import seed_directory
from models import Learner
from tests.conftest import DaytimeClock, make_settings
from tests.dbcheck import rows
from tests.flows import SCHOOL_A, send_and_wait


async def _start(settings, seed: bool = False):
    app = build_app(settings, clock=DaytimeClock())
    await app.prepare()
    if seed:
        async with app.sessions.begin() as session:
            await seed_directory(session)
    await app.start()
    return app


async def _half_then_restart(emulator, settings) -> None:
    first = await _start(settings, seed=True)
    user = emulator.user(7001, language_code="ru")
    try:
        await send_and_wait(user, "/start")
        await user.press("✅ Согласен(на)")
        await user.wait_for(lambda u: (u.last.text or "").startswith("Кто вы?"))
        await user.press("Я ученик")
        await user.wait_for(lambda u: "Выберите муниципалитет" in (u.last.text or ""))
        await emulator.wait_idle(timeout=10)
    finally:
        await first.stop()

    second = await _start(settings)
    try:
        await user.press("город Кострома")
        await user.wait_for(lambda u: "Выберите школу" in (u.last.text or ""), timeout=10)
        await user.press(SCHOOL_A)
        await user.wait_for(lambda u: "В каком вы классе?" in (u.last.text or ""), timeout=10)
        await user.press("8")
        await user.wait_for(lambda u: "Готово!" in (u.last.text or ""), timeout=10)
        assert await rows(second, select(Learner.grade)) == [(8,)]
    finally:
        await second.stop()


async def test_dialog_resumes_after_restart_with_database_storage(emulator, database_url):
    await _half_then_restart(emulator, make_settings(emulator, database_url))


def _worker_database(url: str) -> str:
    """A Redis database of this pytest-xdist worker's own (gw0: the URL's, gw1: the one below…), so that
    two workers never flush each other's dialogs."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    base, _, number = url.rpartition("/")
    return f"{base}/{max(int(number or 0) - worker, 0)}" if number.isdigit() else url


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL is not set")
async def test_dialog_resumes_after_restart_with_redis_storage(emulator, database_url):
    import redis.asyncio as redis

    url = _worker_database(os.environ["TEST_REDIS_URL"])
    client = redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    await _half_then_restart(emulator, make_settings(emulator, database_url, REDIS_URL=url))
