"""Flood control through the emulator: a user who floods the bot is asked once to wait, in their language,
extra updates change nothing, and normal use is never throttled."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import build_app
from bot.demo import seed_directory
from bot.i18n import build_i18n
from bot.throttling import ThrottlingMiddleware
from models import User
from tests.conftest import DaytimeClock, make_settings
from tests.dbcheck import scalar
from tests.flows import send_and_wait

RU_WAIT = "Вы нажимаете быстрее, чем я успеваю отвечать"


async def test_a_flood_is_cut_and_the_user_told_once(emulator, database_url):
    app = build_app(
        make_settings(emulator, database_url, THROTTLE_RATE=1, THROTTLE_BURST=5), clock=DaytimeClock()
    )
    await app.prepare()
    async with app.sessions.begin() as session:
        await seed_directory(session)
    await app.start()
    try:
        user = emulator.user(7301, language_code="ru")
        await send_and_wait(user, "/start")  # consent screen, with buttons
        for _ in range(30):  # a stuck client pressing the same button
            await user.press("Не согласен(на)")
        await user.wait_for(lambda u: len(u.callback_answers) >= 30, timeout=10)
        warnings = [a for a in user.callback_answers if a.text and RU_WAIT in a.text]
        assert len(warnings) == 1, "told once per flood, not thirty times"
        for _ in range(20):
            await user.send("привет")
        await asyncio.sleep(1.0)
        texts = [m.text or "" for m in user.bot_messages]
        assert sum(RU_WAIT in t for t in texts) <= 1
        assert len(user.bot_messages) < 15, "most of the flood was dropped before any handler"
        assert await scalar(app, select(func.count()).select_from(User)) == 1

        await asyncio.sleep(5.5)  # the bucket refills: a person is answered normally again
        reply = await send_and_wait(user, "/help")
        assert RU_WAIT not in reply
    finally:
        await app.stop()


def test_bucket_lets_a_person_through_and_refills():
    now = [0.0]
    throttle = ThrottlingMiddleware(build_i18n("ru"), rate=2.0, burst=3, clock=lambda: now[0])
    assert [throttle.allow(1) for _ in range(3)] == [(True, False)] * 3
    assert throttle.allow(1) == (False, True)  # told once
    assert throttle.allow(1) == (False, False)
    assert throttle.allow(2) == (True, False), "other users are not affected"
    now[0] += 0.5  # one token back
    assert throttle.allow(1)[0] is True
    now[0] += 10
    assert [throttle.allow(1)[0] for _ in range(3)] == [True] * 3
