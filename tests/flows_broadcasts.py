"""Helpers for the broadcast tests: people put straight into the database (teachers and coordinators are
appointed, not self-registered), and the author's dialog from /broadcast to the preview."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from bot.app import App, build_app
from bot.demo import seed_directory
from models import Learner, Municipality, Role, School, TeacherClass, User, UserRole
from models.base import utcnow
from sandbox import Emulator, SimUser
from tests.conftest import DaytimeClock, make_settings
from tests.flows import press_and_wait_edit, send_and_wait


@asynccontextmanager
async def running_app(emulator: Emulator, database_url: str, **settings: object) -> AsyncIterator[App]:
    """Like the `app` fixture, with settings of our own (rates, for instance)."""
    application = build_app(make_settings(emulator, database_url, **settings), clock=DaytimeClock())
    await application.prepare()
    async with application.sessions.begin() as session:
        await seed_directory(session)
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


async def add_person(
    app: App,
    emulator: Emulator,
    telegram_id: int,
    role: Role,
    school: str | None = None,
    grade: int | None = None,
    *,
    classes: tuple[int, ...] = (),
    municipality: str | None = None,
    language: str = "ru",
    started: bool = True,
) -> SimUser:
    """A consenting user with one role; `started` means they have opened the bot in Telegram."""
    async with app.sessions.begin() as session:
        user = User(telegram_id=telegram_id, consent_at=utcnow(), language=language, is_active=True)
        session.add(user)
        await session.flush()
        school_row = None
        if school is not None:
            school_row = await session.scalar(select(School).where(School.name == school))
            assert school_row is not None, school
        muni_id = school_row.municipality_id if school_row else None
        if municipality is not None:
            muni_id = await session.scalar(select(Municipality.id).where(Municipality.name == municipality))
        session.add(
            UserRole(
                user_id=user.id,
                role=role,
                school_id=school_row.id if school_row and role is Role.teacher else None,
                municipality_id=muni_id,
            )
        )
        if role in (Role.student, Role.parent):
            assert school_row is not None and grade is not None
            session.add(
                Learner(user_id=user.id, school_id=school_row.id, grade=grade, is_self=role is Role.student)
            )
        for g in classes:
            assert school_row is not None
            session.add(TeacherClass(user_id=user.id, school_id=school_row.id, grade=g, letter="А"))
    sim = emulator.user(telegram_id, language_code=language)
    sim.started = started
    return sim


async def compose(
    author: SimUser,
    choices: list[str],
    text: str,
    ack: bool,
    entities: list[dict[str, Any]] | None = None,
) -> str:
    """/broadcast → the buttons in `choices` → the text (with its formatting `entities`, Telegram's
    MessageEntity dicts) → the «read» question; returns the summary text."""
    await send_and_wait(author, "/broadcast", timeout=10)
    for label in choices:
        await press_and_wait_edit(author, label, timeout=10)
    count = len(author.bot_messages)
    await author.send(text, entities=entities)
    await author.wait_messages(count + 1, timeout=10)
    count = len(author.bot_messages)
    await author.press("Да, добавить кнопку" if ack else "Нет")
    await author.wait_for(
        lambda u: "Отправить?" in (u.last.text or "") and len(u.bot_messages) > count, timeout=10
    )
    return author.last.text or ""
