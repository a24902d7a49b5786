"""`python -m bot.deliver` (DELIVERY_MODE=worker): a separate sender that keeps aiogram out while it only
delivers broadcasts, loads it for event cards, stops cleanly on SIGTERM; and the bot then leaves the
outbox alone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.callbacks import BroadcastAckCb, BroadcastCb
from bot.catalogs import Catalogs
from bot.clock import SystemClock
from bot.demo import seed_directory
from bot.outbox import AIOGRAM_KINDS, Factories, RenderDeps
from models import Learner, Municipality, Role, School, TeacherClass, User, UserRole
from models.base import utcnow
from models.database import create_engine, create_session_factory
from models.event import EventKind
from models.migrate import upgrade
from sandbox import Emulator
from scheduler.event_jobs import EVENTS_JOB
from scheduler.jobs import OUTBOX_JOB
from services import broadcasts
from services.broadcast_audience import AudienceFilter
from services.delivery_http import LeanBotApi, method_url
from services.events import EventDraft, create_event, publish_event
from tests.conftest import TOKEN, make_settings
from tests.flows import KOSTROMA, SCHOOL_A

ROOT = Path(__file__).resolve().parent.parent
TEACHER = 5001
PARENTS = {5002: "ru", 5003: "en", 5004: "ru"}


def test_plain_buttons_carry_what_the_callback_factories_pack():
    """The delivery process builds these without aiogram; the bot's handlers parse them with it."""
    assert broadcasts.ack_callback_data(42) == BroadcastAckCb(id=42).pack()
    assert broadcasts.stop_callback_data(42) == BroadcastCb(action="stop", id=42).pack()


def test_each_lazy_factory_builds_exactly_the_kinds_named_for_it():
    factories = Factories(RenderDeps(Catalogs(), SystemClock()))
    for path in set(AIOGRAM_KINDS.values()):
        assert set(factories.load(path)) == {k for k, p in AIOGRAM_KINDS.items() if p == path}


async def test_in_worker_mode_the_bot_does_not_send_the_outbox(emulator, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    for mode, scheduled in (("inline", True), ("worker", False)):
        app = build_app(make_settings(emulator, url, DELIVERY_MODE=mode))
        try:
            assert (app.scheduler.get_job(OUTBOX_JOB) is not None) is scheduled
            assert app.scheduler.get_job(EVENTS_JOB) is not None  # the bot still queues reminders
            await app.dispatcher["outbox_wakeup"]()  # a handler's wake-up is harmless without the job
        finally:
            await app.stop()


async def _seed(database_url: str, report_message_id: int) -> int:
    """A teacher's confirmed broadcast (with the «read» button) to the parents of their class."""
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        async with create_session_factory(engine).begin() as session:
            await seed_directory(session)
            school = await session.scalar(select(School).where(School.name == SCHOOL_A))
            assert school is not None
            people = {TEACHER: "ru", **PARENTS}
            users = {}
            for telegram_id, language in people.items():
                # quiet_start == quiet_end: no quiet hours, whatever the hour the suite runs at
                user = User(
                    telegram_id=telegram_id,
                    consent_at=utcnow(),
                    language=language,
                    quiet_start=0,
                    quiet_end=0,
                )
                session.add(user)
                await session.flush()
                users[telegram_id] = user
                role = Role.teacher if telegram_id == TEACHER else Role.parent
                session.add(
                    UserRole(
                        user_id=user.id,
                        role=role,
                        school_id=school.id if role is Role.teacher else None,
                        municipality_id=school.municipality_id,
                    )
                )
                if role is Role.parent:
                    session.add(Learner(user_id=user.id, school_id=school.id, grade=9, is_self=False))
            session.add(TeacherClass(user_id=users[TEACHER].id, school_id=school.id, grade=9, letter="А"))
            await session.flush()
            chosen = AudienceFilter(scope="classes", roles=("parent",), school_id=school.id)
            text = "Собрание в пятницу в 18:00"
            draft = await broadcasts.create_draft(
                session, users[TEACHER], chosen, text=text, plain_length=len(text), ack_required=True
            )
            assert await broadcasts.start(session, draft.id, users[TEACHER].id, report_message_id) == 3
            return draft.id
    finally:
        await engine.dispose()


async def _publish_event(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            municipality = await session.scalar(select(Municipality.id).where(Municipality.name == KOSTROMA))
            assert municipality is not None
            draft = EventDraft(
                kind=EventKind.open_day,
                title="День открытых дверей",
                starts_at=utcnow() + timedelta(days=7),
                municipality_id=municipality,
                for_students=False,
                for_parents=True,
            )
            assert await publish_event(session, await create_event(session, draft, None)) == 3
    finally:
        await engine.dispose()


async def _report_message(emulator: Emulator) -> int:
    """The author's summary message the report will be edited into, as the bot would have sent it."""
    api = LeanBotApi(method_url(emulator.url, TOKEN))
    try:
        _, answer = await api.post("sendMessage", {"chat_id": TEACHER, "text": "Отправить?"}, 5.0)
    finally:
        await api.close()
    return int(answer["result"]["message_id"])


@pytest.mark.timeout(90)
async def test_the_delivery_process_sends_a_broadcast_without_aiogram_then_event_cards(emulator, tmp_path):
    teacher = emulator.user(TEACHER, language_code="ru")
    parents = {tid: emulator.user(tid, language_code=lang) for tid, lang in PARENTS.items()}
    for user in (teacher, *parents.values()):
        user.started = True
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'profbot.sqlite3'}"
    report_id = await _report_message(emulator)
    broadcast_id = await _seed(database_url, report_id)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.url,
        "DATABASE_URL": database_url,
        "DELIVERY_MODE": "worker",
        "OUTBOX_INTERVAL": "0.2",
        "OUTBOX_RATE": "200",
        "REDIS_URL": "",
    }
    log = tmp_path / "deliver.log"
    with log.open("wb") as stderr:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.deliver", "--stats",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
    assert worker.stdout is not None
    figures: list[dict[str, Any]] = []

    async def read_figures() -> None:
        assert worker.stdout is not None
        async for line in worker.stdout:
            figures.append(json.loads(line))

    reader = asyncio.create_task(read_figures())
    try:
        for tid, parent in parents.items():
            await parent.wait_for(lambda u: "Собрание в пятницу" in (u.last.content if u.last else ""), 20)
            heading = "📢 Объявление" if PARENTS[tid] == "ru" else "📢 Announcement"
            assert (parent.last.text or "").startswith(heading)
            [[button]] = parent.last.buttons
            label = "✅ Ознакомлен(а)" if PARENTS[tid] == "ru" else "✅ I have read it"
            assert (button.text, button.callback_data) == (label, f"ba:{broadcast_id}")

        def reported(user: Any) -> bool:
            edited = next(m for m in user.bot_messages if m.message_id == report_id)
            return "Завершена" in (edited.text or "") and "Завершена" in (user.last.text or "")

        await teacher.wait_for(reported, 20)  # edited live, then the final report as a new message
        edited = next(m for m in teacher.bot_messages if m.message_id == report_id)
        assert f"Рассылка №{broadcast_id} — Завершена." in (edited.text or "")
        assert "Доставлено: 3" in (edited.text or "") and "Ожидают отправки: 0" in (edited.text or "")
        assert edited.buttons == []  # «Stop» is gone once finished
        for _ in range(100):
            if any(f["by_kind"].get("broadcast_report") for f in figures):
                break
            await asyncio.sleep(0.05)
        assert figures and not any(f["aiogram_loaded"] for f in figures), figures

        await _publish_event(database_url)  # a kind whose card needs aiogram: imported now, lazily
        for parent in parents.values():
            await parent.wait_for(lambda u: "День открытых дверей" in (u.last.content if u.last else ""), 30)
            assert "Пойду" in parent.last.button_labels or "Going" in parent.last.button_labels
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(reader, 30)
        await asyncio.wait_for(worker.wait(), 30)
    errors = log.read_text()
    assert worker.returncode == 0, errors
    assert "Traceback" not in errors, errors
    final = figures[-1]
    assert final["at"] == "exit" and final["aiogram_loaded"]
    assert final["by_kind"] == {"broadcast": 3, "broadcast_report": 1, "announcement": 3}
