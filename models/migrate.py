"""Bring a database's schema to the newest Alembic revision (never `create_all`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Run `alembic upgrade` on an open engine (used at start-up and by tests).

    The connection is handed over outside a transaction: on SQLite `migrations/env.py` must switch foreign
    keys off before one begins.
    """
    cfg = alembic_config()

    def _do(connection: object) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.connect() as connection:
        await connection.run_sync(_do)
        await connection.commit()


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    cfg = alembic_config()

    def _do(connection: object) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.connect() as connection:
        await connection.run_sync(_do)
        await connection.commit()
