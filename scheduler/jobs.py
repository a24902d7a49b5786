"""The jobs and the scheduler that runs them."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.delivery import Delivery

log = logging.getLogger(__name__)

OUTBOX_JOB = "deliver-outbox"


async def deliver_outbox(delivery: Delivery) -> None:
    """Send what is due in the outbox; the next run picks up whatever this one left."""
    try:
        await delivery.run(budget=30.0)
    except Exception:  # the job must survive a bad moment of the database or network
        log.exception("outbox delivery run failed")


def build_scheduler(
    delivery: Delivery, zone: ZoneInfo, interval: float, *, deliver: bool = True
) -> AsyncIOScheduler:
    """The bot's scheduler; without `deliver` (DELIVERY_MODE=worker) `python -m bot.deliver` sends."""
    scheduler = AsyncIOScheduler(timezone=zone)
    if not deliver:
        return scheduler
    scheduler.add_job(
        deliver_outbox,
        "interval",
        seconds=interval,
        args=[delivery],
        id=OUTBOX_JOB,
        # A tick (or a wake-up) during a long run finds `Delivery.run` busy and returns at once; with one
        # instance APScheduler would instead log a "skipped" warning every second of a broadcast.
        max_instances=2,
        coalesce=True,
        next_run_time=datetime.now(zone),
        misfire_grace_time=None,
    )
    return scheduler


class OutboxWakeup:
    """Lets a handler ask for the outbox to be drained now, instead of at the next tick.

    With a separate delivery process there is no job here: that process looks every OUTBOX_INTERVAL.
    """

    def __init__(self, scheduler: AsyncIOScheduler, zone: ZoneInfo):
        self.scheduler = scheduler
        self.zone = zone

    async def __call__(self) -> None:
        if self.scheduler.running and self.scheduler.get_job(OUTBOX_JOB) is not None:
            self.scheduler.modify_job(OUTBOX_JOB, next_run_time=datetime.now(self.zone))
