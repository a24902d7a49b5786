"""Putting notifications into the durable outbox; the delivery job takes them out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Select, String, cast, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import Outbox, OutboxStatus, Priority
from models.base import utcnow

# Payload flag of a row the user is waiting for (an answer to what they just did): quiet hours and the
# weekly digest do not hold it.
REPLY = "reply"


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Outbox)


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    chat_id: int,
    user_id: int | None,
    kind: str,
    payload: dict[str, Any] | None = None,
    event_id: int | None = None,
    priority: int = Priority.personal,
    not_before: datetime | None = None,
) -> bool:
    """Queue one message; a second call with the same key does nothing. True if it was new."""
    now = utcnow()
    stmt = _insert(session).values(
        key=key,
        chat_id=chat_id,
        user_id=user_id,
        kind=kind,
        payload=payload or {},
        event_id=event_id,
        priority=int(priority),
        status=OutboxStatus.pending,
        attempts=0,
        not_before=not_before or now,
        created_at=now,
    )
    result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
    return bool(getattr(result, "rowcount", 0))


async def enqueue_many(
    session: AsyncSession,
    recipients: Select[int, int],
    *,
    key_prefix: str,
    kind: str,
    event_id: int | None,
    priority: int,
    not_before: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Queue one message per (user_id, telegram_id) row of `recipients`, in the database, in one statement.

    The key is `key_prefix` + user id, so publishing twice never notifies anyone twice.
    """
    now = utcnow()
    sub = recipients.subquery()
    rows = select(
        literal(key_prefix) + cast(sub.c.id, String),
        sub.c.id,
        sub.c.telegram_id,
        literal(kind),
        literal(event_id),
        literal(payload or {}, JSON),
        literal(int(priority)),
        literal(OutboxStatus.pending.value),
        literal(0),
        literal(not_before or now, Outbox.not_before.type),
        literal(now, Outbox.created_at.type),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    columns = [
        "key", "user_id", "chat_id", "kind", "event_id", "payload", "priority", "status", "attempts",
        "not_before", "created_at",
    ]  # fmt: skip
    stmt = _insert(session).from_select(columns, rows).on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
