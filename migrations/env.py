"""Alembic environment: runs migrations over the bot's own async engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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


def _migrate(connection: Connection, after_step: Callable[[], None] | None = None) -> None:
    """Run the pending migrations in one transaction; `after_step` runs after each step, before the commit."""
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        # SQLite's DDL is transactional too, but pysqlite only opens a transaction before DML: BEGIN here,
        # so a failed step (a batch copy included) leaves the database as it was.
        transactional_ddl=True,
        on_version_apply=[lambda **_kw: after_step()] if after_step is not None else [],
    )
    with context.begin_transaction():
        if sqlite:
            connection.exec_driver_sql("BEGIN")
        context.run_migrations()


def _foreign_keys(connection: Connection, on: bool) -> None:
    """SQLite ignores `PRAGMA foreign_keys` inside a transaction: end any, set it, and make sure it took."""
    connection.commit()
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    state = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    connection.commit()
    if state != int(on):
        raise RuntimeError(f"SQLite did not switch foreign keys {'on' if on else 'off'} for migrations")


def _foreign_key_check(connection: Connection) -> None:
    """With foreign keys off nothing stopped a step from leaving a dangling reference: refuse it (the
    migration is rolled back and the revision stays where it was, so every start fails the same way)."""
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(
            f"a migration left broken foreign keys (table, rowid, parent, fk): {problems[:20]}"
        )


def _run(connection: Connection) -> None:
    """SQLite: foreign keys off while migrating (the batch-mode recipe).

    Batch mode recreates a table (copy, `DROP TABLE`, rename); with foreign keys on, the `DROP` runs the
    ON DELETE actions of every table referring to it (e.g. rsvps.learner_id SET NULL) and wipes the links.
    `PRAGMA foreign_key_check` after each step stands in for them. They are switched back on afterwards:
    connections are pooled and `models.database` sets them only when a connection is opened.
    """
    if connection.dialect.name != "sqlite":
        _migrate(connection)
        return
    _foreign_keys(connection, on=False)
    try:
        _migrate(connection, lambda: _foreign_key_check(connection))
        connection.commit()
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
