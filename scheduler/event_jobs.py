"""Timed work of the event features: wait-list offers running out, reminders, deadline notices, digests.

Everything is computed from the database and the clock on each run; the outbox keys make a repeated or a
late run harmless. Tests call `EventJobs.run()` after moving the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from services.quiet_hours import queue_digests
from services.reminders import queue_deadline_reminders, queue_reminders
from services.waitlist import expire_offers

log = logging.getLogger(__name__)

EVENTS_JOB = "event-timers"


@dataclass
class EventJobs:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    zone: ZoneInfo
    offsets: Sequence[int]
    wakeup: Callable[[], Awaitable[None]] | None = None

    async def run(self) -> dict[str, int]:
        """One pass; returns how many rows of each kind it queued."""
        now = self.clock.now()
        async with self.sessions.begin() as session:
            counts = {
                "expired_offers": await expire_offers(session, now),
                "reminders": await queue_reminders(session, now, self.offsets),
                "deadlines": await queue_deadline_reminders(session, now),
                "digests": await queue_digests(session, now, self.zone),
            }
        if any(counts.values()) and self.wakeup is not None:
            await self.wakeup()
        return counts


async def run_event_jobs(jobs: EventJobs) -> None:
    try:
        await jobs.run()
    except Exception:  # the job must survive a bad moment of the database
        log.exception("event timers run failed")


def add_event_jobs(scheduler: AsyncIOScheduler, jobs: EventJobs, interval: float, zone: ZoneInfo) -> None:
    """First run at start-up, so what fell due while the bot was down goes out at once."""
    scheduler.add_job(
        run_event_jobs,
        "interval",
        seconds=interval,
        args=[jobs],
        id=EVENTS_JOB,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(zone),
        misfire_grace_time=None,
    )
