"""The schema comes from Alembic on both databases: up to head, down to base, and up again."""

from __future__ import annotations

from sqlalchemy import inspect, text

from models import Base
from models.database import create_engine
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
