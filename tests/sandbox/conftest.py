"""Fixtures for the emulator's own tests: a started Emulator and an aiogram Bot pointed at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

# The editable install may predate sandbox/__init__.py and map "sandbox" as a namespace package;
# putting the repo root first makes `import sandbox` resolve to the real package.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402

from sandbox import Emulator, EmulatorConfig  # noqa: E402

TOKEN = "123456789:AAH-sandbox_test_token"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """Emulator with limits high enough not to interfere; rate tests lower them."""
    emulator = Emulator(
        EmulatorConfig(global_rate=10_000, per_chat_rate=10_000, per_chat_burst=10_000, seed=1)
    )
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    """aiogram Bot talking to the emulator over real HTTP."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.url))
    tg_bot = Bot(TOKEN, session=session)
    try:
        yield tg_bot
    finally:
        await tg_bot.session.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """Raw HTTP client for shapes aiogram hides (status codes, JSON bodies, control API)."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def started(emu: Emulator):
    """A user who has already started the bot (so sends to them are allowed)."""
    user = emu.user(1001, first_name="Мария")
    await user.send("/start")
    return user
