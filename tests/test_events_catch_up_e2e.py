"""Catching up: someone who subscribes, or adds a child, hears at once of the upcoming events meant for
them — even at night, because they are waiting for the answer — while announcements nobody asked for
still wait for the morning."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.clock import TestClock
from models import Outbox, OutboxStatus, User
from tests.dbcheck import rows
from tests.flows import KOSTROMA, SCHOOL_A, SCHOOL_B, press_and_wait_edit, send_and_wait, subscribe
from tests.flows_events import count_containing, drained, local, make_app, publish, pupil


async def _announcements_of(app: App, telegram_id: int) -> list[tuple[OutboxStatus]]:
    query = (
        select(Outbox.status)
        .join(User, User.id == Outbox.user_id)
        .where(User.telegram_id == telegram_id, Outbox.kind == "announcement")
    )
    return [tuple(r) for r in await rows(app, query)]


async def test_subscribing_at_night_brings_the_events_now_but_others_wait_for_morning(emulator, database_url):
    clock = TestClock(local(1, 23, 30))  # 23:30 in Moscow: everyone's quiet hours
    app = await make_app(emulator, database_url, clock)
    try:
        sleeper = emulator.user(6101, language_code="ru")
        await pupil(app, sleeper, 9)
        await publish(app, title="День открытых дверей колледжа", starts_at=local(3, 12, base=clock.now()))
        assert await _announcements_of(app, 6101) == [(OutboxStatus.pending,)], "held until the morning"

        night_owl = emulator.user(6102, language_code="ru")
        await subscribe(night_owl, "Я родитель", SCHOOL_A, 9)
        assert "Ближайших мероприятий для вас: 1. Сейчас пришлю." in night_owl.last.text
        await night_owl.wait_for(
            lambda u: count_containing(u, "День открытых дверей колледжа") == 1, timeout=10
        )
        card = next(m for m in night_owl.bot_messages if "День открытых дверей колледжа" in m.content)
        assert {"Пойду", "Возможно", "Не пойду"} <= {b.text for row in card.buttons for b in row}

        await drained_except_held(app)
        assert count_containing(sleeper, "День открытых дверей колледжа") == 0
        assert await _announcements_of(app, 6101) == [(OutboxStatus.pending,)]
    finally:
        await app.stop()


async def drained_except_held(app: App) -> None:
    """Let the outbox run a few passes: what is due goes, what is held stays."""
    for _ in range(3):
        await app.delivery.run(budget=2)


async def test_adding_a_child_brings_the_events_meant_for_that_child(emulator, database_url):
    clock = TestClock(local(1, 12))
    app = await make_app(emulator, database_url, clock)
    try:
        parent = emulator.user(6201, language_code="ru")
        await subscribe(parent, "Я родитель", SCHOOL_A, 9)
        await publish(
            app,
            title="Профпроба «Юный повар»",
            starts_at=local(4, 15, base=clock.now()),
            kind="profession_trial",
            grade_min=5,
            grade_max=5,
        )
        await drained(app)
        assert count_containing(parent, "Юный повар") == 0, "no child in grade 5 yet"

        await send_and_wait(parent, "/profile")
        await press_and_wait_edit(parent, "➕ Добавить ребёнка")
        await press_and_wait_edit(parent, KOSTROMA)
        await press_and_wait_edit(parent, SCHOOL_B)
        await press_and_wait_edit(parent, "5")
        assert "Ребёнок добавлен: 5 класс" in parent.last.text
        assert "Ближайших мероприятий для этого ребёнка: 1. Сейчас пришлю." in parent.last.text
        await parent.wait_for(lambda u: count_containing(u, "Юный повар") == 1, timeout=10)

        # Changing nothing else and adding another grade-9 child brings nothing twice.
        await send_and_wait(parent, "/profile")
        await press_and_wait_edit(parent, "➕ Добавить ребёнка")
        await press_and_wait_edit(parent, KOSTROMA)
        await press_and_wait_edit(parent, SCHOOL_B)
        await press_and_wait_edit(parent, "5")
        assert "Ближайших мероприятий" not in parent.last.text
        await drained(app)
        assert count_containing(parent, "Юный повар") == 1
        assert len(await _announcements_of(app, 6201)) == 1
    finally:
        await app.stop()
