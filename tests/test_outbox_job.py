"""The outbox job: ticks that fall during a long delivery run are absorbed quietly."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from scheduler.jobs import build_scheduler
from services.delivery import Delivery


class SlowDelivery:
    """Like `Delivery.run`: one run at a time, a call during a run returns at once."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.runs = 0
        self.busy_calls = 0

    async def run(self, budget: float = 30.0) -> int:
        if self.lock.locked():
            self.busy_calls += 1
            return 0
        async with self.lock:
            self.runs += 1
            await asyncio.sleep(0.8)
            return 0


async def test_ticks_during_a_long_run_log_no_warnings(caplog: pytest.LogCaptureFixture) -> None:
    delivery = SlowDelivery()
    scheduler = build_scheduler(cast(Delivery, cast(Any, delivery)), ZoneInfo("Europe/Moscow"), 0.1)
    with caplog.at_level(logging.WARNING, logger="apscheduler"):
        scheduler.start()
        try:
            await asyncio.sleep(1.5)
        finally:
            scheduler.shutdown(wait=False)
    assert delivery.runs >= 1 and delivery.busy_calls >= 3
    assert [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()] == []
