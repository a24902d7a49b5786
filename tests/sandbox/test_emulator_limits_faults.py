"""Rate limits, fault injection and counters."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

from sandbox import Emulator, SimUser

TOKEN = "123456789:AAH-sandbox_test_token"  # same as conftest.TOKEN


async def _start_users(emu: Emulator, count: int, base: int = 5000) -> list[SimUser]:
    users = [emu.user(base + i) for i in range(count)]
    for user in users:
        await user.send("/start")
    return users


async def test_global_rate_limit(bot: Bot, emu: Emulator) -> None:
    emu.set_limits(global_rate=30, per_chat_rate=100, per_chat_burst=100)
    users = await _start_users(emu, 40)
    results = await asyncio.gather(
        *(bot.send_message(u.id, "broadcast") for u in users), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert 5 <= len(limited) <= 12
    assert all(r.retry_after >= 1 for r in limited)
    assert emu.counters.too_many_requests == len(limited)
    assert emu.counters.by_status[429] == len(limited)
    assert emu.counters.delivered_total == 40 - len(limited)


async def test_paid_broadcast_lifts_global_limit(bot: Bot, emu: Emulator) -> None:
    emu.set_limits(global_rate=30, per_chat_rate=100, per_chat_burst=100, paid_rate=1000)
    users = await _start_users(emu, 40)
    results = await asyncio.gather(
        *(bot.send_message(u.id, "paid", allow_paid_broadcast=True) for u in users), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, Exception)]


async def test_per_chat_rate_limit(bot: Bot, emu: Emulator, started: SimUser) -> None:
    emu.set_limits(per_chat_rate=1, per_chat_burst=3)
    for _ in range(3):
        await bot.send_message(1001, "ok")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(1001, "too fast")
    assert info.value.retry_after == 1
    assert "Original description: Too Many Requests: retry after 1" in info.value.message
    await emu.user(1002).send("/start")
    await bot.send_message(1002, "other chat is fine")
    assert emu.counters.delivered_by_chat[1001] == 3


async def test_per_chat_burst_of_one_lets_the_first_message_through(bot: Bot, emu: Emulator) -> None:
    """A chat's bucket is made on its first send: with a burst of 1 that send must still go (it used to
    get a 429, the new bucket refilling by a negative interval), and the next one within a second not."""
    emu.set_limits(per_chat_rate=1, per_chat_burst=1)
    users = await _start_users(emu, 20)
    for user in users:
        await bot.send_message(user.id, "first")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(users[0].id, "second within a second")
    assert emu.counters.too_many_requests == 1
    assert all(emu.counters.delivered_by_chat[u.id] == 1 for u in users)


async def test_raw_429_shape(http: aiohttp.ClientSession, emu: Emulator, started: SimUser) -> None:
    emu.force_429(1, retry_after=7)
    async with http.post(f"{emu.url}/bot{TOKEN}/sendMessage", json={"chat_id": 1001, "text": "x"}) as resp:
        assert resp.status == 429
        assert await resp.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        }
    async with http.get(f"{emu.url}/bot{TOKEN}/sendMessage", params={"chat_id": "1001", "text": "y"}) as resp:
        assert resp.status == 200


async def test_unauthorized_and_unknown_method(http: aiohttp.ClientSession, emu: Emulator) -> None:
    async with http.post(f"{emu.url}/botnot-a-token/getMe") as resp:
        assert resp.status == 401
        assert (await resp.json())["description"] == "Unauthorized"
    async with http.post(f"{emu.url}/bot{TOKEN}/sendDice") as resp:
        assert resp.status == 404
        assert (await resp.json())["description"] == "Not Found"
    async with http.post(f"{emu.url}/bot{TOKEN}/setMyDescription", data={"description": "x"}) as resp:
        assert (await resp.json()) == {"ok": True, "result": True}


async def test_fault_5xx(bot: Bot, emu: Emulator, started: SimUser) -> None:
    emu.set_faults(method="sendMessage", error_rate=1.0, error_status=502)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(1001, "x")
    await bot.get_me()  # other methods unaffected
    emu.clear_faults()
    await bot.send_message(1001, "x")


async def test_fault_connection_reset(bot: Bot, emu: Emulator, started: SimUser) -> None:
    emu.set_faults(reset_rate=1.0)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(1001, "x")
    emu.clear_faults()
    await bot.send_message(1001, "after reset")


async def test_fault_latency_and_timeout(bot: Bot, emu: Emulator, started: SimUser) -> None:
    loop = asyncio.get_running_loop()
    emu.set_faults(latency_ms=150, jitter_ms=50, seed=42)
    start = loop.time()
    await bot.get_me()
    assert 0.14 <= loop.time() - start < 1.0
    emu.set_faults(timeout_s=5)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.get_me(request_timeout=1)


async def test_forced_429_for_next_sends(bot: Bot, emu: Emulator, started: SimUser) -> None:
    emu.force_429(2, retry_after=3)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as info:
            await bot.send_message(1001, "x")
        assert info.value.retry_after == 3
    await bot.get_me()
    await bot.send_message(1001, "x")
    assert emu.counters.too_many_requests == 2


async def test_seeded_faults_are_reproducible(emu: Emulator, bot: Bot) -> None:
    async def run() -> list[bool]:
        emu.set_faults(method="getMe", error_rate=0.5, seed=7)
        outcome = []
        for _ in range(12):
            try:
                await bot.get_me()
                outcome.append(True)
            except TelegramServerError:
                outcome.append(False)
        return outcome

    first = await run()
    assert await run() == first
    assert True in first and False in first


async def test_counters_reset(bot: Bot, emu: Emulator) -> None:
    await bot.get_me()
    assert emu.counters.by_method["getMe"] == 1
    assert emu.counters.by_status[200] == 1
    emu.reset_counters()
    assert emu.counters.by_method["getMe"] == 0
