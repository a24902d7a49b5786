"""What sends the outbox, for both processes that may do it: the bot (`DELIVERY_MODE=inline`, its
scheduler job) and `python -m bot.deliver` (`DELIVERY_MODE=worker`).

A renderer per outbox kind, the live report hook and the engine with its hold policy. Broadcast kinds
render without aiogram (stdlib gettext over the same catalogs, plain-dict keyboards). The other kinds
build aiogram `CallbackData` keyboards, so they are named by import path and, in the delivery process,
imported on the first row of such a kind: delivering a 100,000-recipient broadcast never loads aiogram
(~166 MiB of the 200 MiB allowed).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalogs import Catalogs
from bot.clock import Clock
from bot.settings import Settings
from models import Outbox
from services import broadcasts
from services.broadcasts import ReportRefresher
from services.delivery import Delivery, OutgoingMessage, Renderer
from services.delivery_http import method_url
from services.quiet_hours import quiet_hours_policy

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

log = logging.getLogger(__name__)

EVENTS = "bot.aiogram_renderers:event_kinds"
MONTHLY = "bot.aiogram_renderers:monthly_summary_kinds"
# Outbox kinds whose renderers need aiogram -> the factory (`module:function`, taking `RenderDeps`)
# that builds them; `tests/test_deliver_worker.py` checks each factory gives exactly its kinds.
AIOGRAM_KINDS: dict[str, str] = {
    "announcement": EVENTS,
    "reminder": EVENTS,
    "deadline": EVENTS,
    "event_changed": EVENTS,
    "event_cancelled": EVENTS,
    "wait_offer": EVENTS,
    "wait_expired": EVENTS,
    "feedback_request": EVENTS,
    "digest": EVENTS,
    "monthly_summary": MONTHLY,
}


@dataclass
class RenderDeps:
    """What renderers are built from; aiogram's `I18n` is made only when an aiogram kind needs it."""

    catalogs: Catalogs
    clock: Clock
    i18n: I18n | None = None  # the bot passes its own

    def aiogram_i18n(self) -> I18n:
        if self.i18n is None:
            from bot.i18n import build_i18n

            self.i18n = build_i18n(self.catalogs.default_locale)
        return self.i18n


Factory = Callable[[RenderDeps], dict[str, Renderer]]


class Factories:
    """Imports each factory once, on first need, and keeps what it built."""

    def __init__(self, deps: RenderDeps):
        self.deps = deps
        self._built: dict[str, dict[str, Renderer]] = {}

    def load(self, path: str) -> dict[str, Renderer]:
        if path not in self._built:
            module, _, name = path.partition(":")
            log.info("loading the renderers of %s", path)
            factory: Factory = getattr(importlib.import_module(module), name)
            self._built[path] = factory(self.deps)
        return self._built[path]

    def lazy(self, kind: str, path: str) -> Renderer:
        async def render(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
            return await self.load(path)[kind](session, rows)

        return render


def build_renderers(deps: RenderDeps, *, lazy: bool) -> dict[str, Renderer]:
    """Every outbox kind's renderer; with `lazy` the aiogram ones are imported on their first row."""
    renderers = {
        broadcasts.KIND: broadcasts.broadcast_renderer(deps.catalogs),
        broadcasts.REPORT_KIND: broadcasts.report_renderer(deps.catalogs),
    }
    factories = Factories(deps)
    for kind, path in AIOGRAM_KINDS.items():
        renderers[kind] = factories.lazy(kind, path) if lazy else factories.load(path)[kind]
    return renderers


def build_delivery(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    deps: RenderDeps,
    *,
    lazy: bool,
) -> tuple[Delivery, ReportRefresher]:
    """The engine as the settings say (rate, paid broadcasts, quiet hours) and its live report hook."""
    urls = method_url(str(settings.telegram_api_url), settings.token)
    reports = ReportRefresher(urls, sessions, deps.catalogs)
    delivery = Delivery(
        urls,
        sessions,
        build_renderers(deps, lazy=lazy),
        rate=settings.delivery_rate,
        paid=settings.paid_broadcast,
        on_settled=reports,
        hold=quiet_hours_policy(deps.clock, settings.zone),
    )
    return delivery, reports
