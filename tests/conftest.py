"""Fixtures: a Bot API emulator, a fresh database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
and the whole bot wired to both, as `python -m bot` wires it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App, build_app
from bot.demo import seed_directory
from bot.settings import Settings
from models.database import create_engine, create_session_factory
from models.migrate import upgrade
from models.scratch import create_scratch_database, drop_scratch_database
from sandbox import Emulator, EmulatorConfig

ADMIN_ID = 9001
TOKEN = "4242:TEST-profbot"

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """A new, empty database for each test; PostgreSQL ones are dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'profbot.sqlite3'}"
        return
    base = os.environ["TEST_DATABASE_URL"]
    url, name = await create_scratch_database(base, "profbot_t")
    try:
        yield url
    finally:
        await drop_scratch_database(base, name)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated, empty database for tests of services (no bot, no emulator)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def directory(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The demo directory in `sessions`: `pytestmark = pytest.mark.usefixtures("directory")`."""
    async with sessions.begin() as session:
        await seed_directory(session)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """Limits are loose by default; tests of pacing set them explicitly."""
    emu = Emulator(EmulatorConfig(global_rate=1000.0, per_chat_rate=50.0, per_chat_burst=50))
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


class DaytimeClock:
    """Real time, moved to today's noon in Moscow: tests that do not set a clock must not depend on the
    hour CI happens to run at (quiet hours would hold every announcement at night)."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        noon = now.astimezone(ZoneInfo("Europe/Moscow")).replace(hour=12, minute=0, second=0, microsecond=0)
        self._offset: timedelta = noon - now

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


def make_settings(emulator: Emulator, database_url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.url,
        "DATABASE_URL": database_url,
        "ADMIN_IDS": str(ADMIN_ID),
        "OUTBOX_INTERVAL": 0.2,
        "OUTBOX_RATE": 200.0,
        "REDIS_URL": "",
        "THROTTLE_RATE": 0,  # test users type faster than people; tests/test_throttling.py turns it on
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def app(emulator: Emulator, database_url: str) -> AsyncIterator[App]:
    """The bot running (polling the emulator, scheduler on) over a migrated database with a directory."""
    application = build_app(make_settings(emulator, database_url), clock=DaytimeClock())
    await application.prepare()
    async with application.sessions.begin() as session:
        await seed_directory(session)
    await application.start()
    try:
        yield application
    finally:
        await application.stop()
