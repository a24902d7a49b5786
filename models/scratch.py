"""Throw-away PostgreSQL databases for tests and benchmarks: created beside the given one, dropped after."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.engine import make_url


async def _admin_connection(base_url: str) -> Any:
    import asyncpg

    url = make_url(base_url)
    return await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port or 5432, database=url.database
    )


async def create_scratch_database(base_url: str, prefix: str) -> tuple[str, str]:
    """A new empty database on the server of `base_url`; returns (its URL, its name)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await _admin_connection(base_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False), name


async def drop_scratch_database(base_url: str, name: str) -> None:
    conn = await _admin_connection(base_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
