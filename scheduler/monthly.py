"""The job that queues the monthly summary for coordinators (the outbox sends it)."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monthly_summary import enqueue_monthly_summaries

log = logging.getLogger(__name__)

MONTHLY_JOB = "monthly-summary"


async def queue_monthly_summaries(sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo) -> None:
    """Runs every morning; only the first days of a month queue anything, and each summary once (by key)."""
    try:
        async with sessions.begin() as session:
            queued = await enqueue_monthly_summaries(session, datetime.now(zone).date())
        if queued:
            log.info("queued %d monthly summaries", queued)
    except Exception:  # a bad moment of the database must not kill the scheduler
        log.exception("queueing monthly summaries failed")


def add_monthly_summary_job(
    scheduler: AsyncIOScheduler, sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo
) -> None:
    scheduler.add_job(
        queue_monthly_summaries,
        "cron",
        hour=9,
        minute=0,
        args=[sessions, zone],
        id=MONTHLY_JOB,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
        replace_existing=True,
    )
