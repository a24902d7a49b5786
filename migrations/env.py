"""Alembic environment: runs migrations over the bot's own async engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from models import Base
from models.database import create_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from bot.settings import load_settings

        url = load_settings().database_url
    return str(url)


def _migrate(connection: Connection) -> int:
    """Run the pending migrations; returns how many steps ran (0 at most start-ups)."""
    steps: list[object] = []
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=lambda **kw: steps.append(kw["step"]),
    )
    with context.begin_transaction():
        context.run_migrations()
    return len(steps)


def _foreign_keys(connection: Connection, on: bool) -> None:
    """SQLite ignores `PRAGMA foreign_keys` inside a transaction: end any, set it, and make sure it took."""
    connection.commit()
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    state = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    connection.commit()
    if state != int(on):
        raise RuntimeError(f"SQLite did not switch foreign keys {'on' if on else 'off'} for migrations")


def _foreign_key_check(connection: Connection) -> None:
    """With foreign keys off nothing stopped a migration from leaving a dangling reference: refuse it."""
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"migrations left broken foreign keys (table, rowid, parent, fk): {problems[:20]}")


def _run(connection: Connection) -> None:
    """SQLite: foreign keys off while migrating (the batch-mode recipe).

    Batch mode recreates a table (copy, `DROP TABLE`, rename); with foreign keys on, the `DROP` runs the
    ON DELETE actions of every table referring to it (e.g. rsvps.learner_id SET NULL) and wipes the links.
    They are switched back on afterwards: connections are pooled and `models.database` sets them only when
    a connection is opened.
    """
    if connection.dialect.name != "sqlite":
        _migrate(connection)
        return
    _foreign_keys(connection, on=False)
    try:
        steps = _migrate(connection)
        connection.commit()
        if steps:  # the check reads every table: not at a start-up with nothing to migrate
            _foreign_key_check(connection)
    finally:
        connection.rollback()
        _foreign_keys(connection, on=True)


async def _run_async() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
