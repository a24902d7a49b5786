"""The schema comes from Alembic on both databases: up to head, down to base, and up again."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text, update

from models import Base, Event, EventKind, EventStatus, Learner, Municipality, Rsvp, RsvpStatus, School, User
from models.database import create_engine, create_session_factory
from models.migrate import downgrade, upgrade


async def _tables(engine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade(database_url):
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        expected = set(Base.metadata.tables)
        assert expected <= await _tables(engine)
        await downgrade(engine, "base")
        assert (await _tables(engine)) - {"alembic_version"} == set()
        await upgrade(engine)
        assert expected <= await _tables(engine)
    finally:
        await engine.dispose()


async def test_models_match_migrations(database_url):
    """Autogenerate finds nothing to add: the models and the migrations describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata
                )
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wal.sqlite3'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_0008_keeps_answers_linked_to_their_pupils(database_url):
    """Making learners.user_id nullable recreates `learners` on SQLite: its `DROP TABLE` must not run the
    rsvps' ON DELETE SET NULL (foreign keys are off while migrating, and on again afterwards)."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    sessions = create_session_factory(engine)
    try:
        await upgrade(engine, "0007")
        async with sessions.begin() as session:
            muni = Municipality(region="Костромская область", name="город Кострома")
            session.add(muni)
            await session.flush()
            school = School(municipality_id=muni.id, name="Школа № 1")
            user = User(telegram_id=7001)
            event = Event(kind=EventKind.fair, title="Ярмарка", municipality_id=muni.id,
                          starts_at=datetime(2025, 10, 10, 9, tzinfo=UTC), status=EventStatus.published)  # fmt: skip
            session.add_all([school, user, event])
            await session.flush()
            pupils = [Learner(user_id=user.id, school_id=school.id, grade=g) for g in (5, 9)]
            session.add_all(pupils)
            await session.flush()
            for pupil in pupils:
                session.add(Rsvp(event_id=event.id, user_id=user.id, learner_id=pupil.id, status=RsvpStatus.going,
                                 school_id=school.id, grade=pupil.grade))  # fmt: skip
        links = select(Rsvp.learner_id).order_by(Rsvp.id)
        sqlite = engine.dialect.name == "sqlite"
        triggers = text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'rsvps' ORDER BY name"
            if sqlite
            else "SELECT tgname FROM pg_trigger WHERE tgrelid = 'rsvps'::regclass AND NOT tgisinternal ORDER BY 1"
        )
        async with engine.connect() as conn:
            before = (await conn.scalars(links)).all()
            triggers_before = (await conn.scalars(triggers)).all()
        assert before == [p.id for p in pupils] and len(triggers_before) >= 3

        await upgrade(engine)
        async with engine.connect() as conn:  # the pool's one connection, which ran the migration
            assert (await conn.scalars(links)).all() == before
            assert (await conn.scalars(triggers)).all() == triggers_before
            if sqlite:
                assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
                schema = "SELECT sql FROM sqlite_master WHERE name = 'learners'"
                assert "grade BETWEEN 1 AND 11" in (await conn.execute(text(schema))).scalar()

        # Down again: an anonymous pupil (left by /forget) goes, with its answers' link; the others stay.
        async with sessions.begin() as session:
            await session.execute(update(Learner).where(Learner.id == pupils[0].id).values(user_id=None))
        await downgrade(engine, "0007")
        async with engine.connect() as conn:
            assert (await conn.scalars(links)).all() == [None, pupils[1].id]
            assert (await conn.scalars(select(Learner.id))).all() == [pupils[1].id]
    finally:
        await engine.dispose()


async def test_sqlite_migration_leaving_a_broken_reference_is_refused_whole(tmp_path):
    """Foreign keys are off while migrating, so `PRAGMA foreign_key_check` runs after each step: a broken
    reference stops the upgrade loudly, and the one transaction leaves the database as it was."""
    path = tmp_path / "broken.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", pool_size=1, max_overflow=0)
    try:
        await upgrade(engine, "0007")
        raw = sqlite3.connect(path)  # foreign keys off: an answer to an event that does not exist
        raw.execute(
            "INSERT INTO rsvps (event_id, status, ovz, walk_in, created_at, updated_at) "
            "VALUES (999, 'going', 0, 0, '2025-10-10', '2025-10-10')"
        )
        raw.commit()
        raw.close()
        with pytest.raises(RuntimeError, match="broken foreign keys"):
            await upgrade(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar() == "0007"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            assert not [t for t in tables if t.startswith("_alembic_tmp")]
    finally:
        await engine.dispose()
