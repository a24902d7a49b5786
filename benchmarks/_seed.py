"""A migrated database holding `n` consenting users and one queued message for each of them: a `note`
(rendered by the benchmark's own worker) or, with `broadcast_id`, a row of that confirmed broadcast."""

from __future__ import annotations

from sqlalchemy import insert, text

from models import Outbox, OutboxStatus, Priority, User
from models.base import utcnow
from models.database import create_engine
from models.migrate import upgrade

FIRST_CHAT = 1_000_000


async def seed(
    database_url: str,
    n: int,
    first_chat: int = FIRST_CHAT,
    chunk: int = 10_000,
    *,
    broadcast_id: int | None = None,
) -> None:
    """Users get ids 1..n and chats first_chat.. ; outbox keys are unique per user, as a broadcast's are."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        now = utcnow()
        async with engine.begin() as conn:
            for start in range(0, n, chunk):
                stop = min(start + chunk, n)
                await conn.execute(
                    insert(User),
                    [
                        {
                            "id": i + 1,
                            "telegram_id": first_chat + i,
                            "consent_at": now,
                            "is_active": True,
                            # No quiet hours: the benchmark must not depend on the hour it runs at.
                            "quiet_start": 0,
                            "quiet_end": 0,
                        }
                        for i in range(start, stop)
                    ],
                )
                await conn.execute(
                    insert(Outbox),
                    [
                        {
                            "key": f"bench:{i + 1}",
                            "user_id": i + 1,
                            "chat_id": first_chat + i,
                            "kind": "note" if broadcast_id is None else "broadcast",
                            "broadcast_id": broadcast_id,
                            "payload": {},
                            "priority": int(Priority.broadcast),
                            "status": OutboxStatus.pending,
                            "attempts": 0,
                            "not_before": now,
                            "created_at": now,
                        }
                        for i in range(start, stop)
                    ],
                )
            if conn.dialect.name == "postgresql":  # ids were given: move the sequences past them
                for table in ("users", "outbox"):
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                        )
                    )
    finally:
        await engine.dispose()
