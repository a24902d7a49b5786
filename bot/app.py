"""Composition root: builds settings-driven parts and hands them in; nothing reaches for a global.

The outbox is sent here (DELIVERY_MODE=inline) or by `python -m bot.deliver` (worker, `bot/deliver.py`);
both build the engine with `bot.outbox.build_delivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalogs import LANGUAGES, Catalogs
from bot.clock import Clock, SystemClock
from bot.fsm_storage import SqlStorage
from bot.i18n import UserLocaleMiddleware, build_i18n
from bot.middlewares import DbSessionMiddleware, PerUserOrderMiddleware, ProfileMiddleware
from bot.outbox import RenderDeps, build_delivery
from bot.settings import Settings
from bot.throttling import ThrottlingMiddleware
from handlers import build_router
from handlers.common import bot_commands
from models.database import create_engine, create_session_factory
from models.migrate import upgrade
from scheduler.event_jobs import EventJobs, add_event_jobs
from scheduler.jobs import OutboxWakeup, build_scheduler
from scheduler.monthly import add_monthly_summary_job
from services import report_summary
from services.broadcasts import ReportRefresher
from services.delivery import Delivery
from services.people import revoke_former_admins

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    dispatcher: Dispatcher
    scheduler: AsyncIOScheduler
    delivery: Delivery
    i18n: I18n
    reports: ReportRefresher
    _polling: asyncio.Task[None] | None = None
    clock: Clock = field(default_factory=SystemClock)
    event_jobs: EventJobs | None = None
    order: PerUserOrderMiddleware | None = None  # knows whether an update is still being handled
    prepared: bool = False

    async def prepare(self) -> None:
        """Migrate the database and set the command menu; safe to run on every start.

        `start()` runs it unless it has run already (the sandbox and the tests prepare first, to seed data).
        """
        await upgrade(self.engine)
        # After an upgrade that adds report summaries (or a crash), count what is stale now rather than in
        # the first coordinator's /stats.
        async with self.sessions.begin() as session:
            await report_summary.refresh(session)
        # An id taken out of ADMIN_IDS is an admin no more (recorded in role_changes).
        async with self.sessions.begin() as session:
            gone = await revoke_former_admins(session, self.settings.admin_ids)
        if gone:
            log.info("ADMIN_IDS: %d former admin(s) lost the global coordinator role", len(gone))
        for language in LANGUAGES:
            await self.bot.set_my_commands(
                bot_commands(self.i18n, language),
                scope=BotCommandScopeDefault(),
                language_code=None if language == self.i18n.default_locale else language,
            )
        self.prepared = True

    async def start(self) -> None:
        if not self.prepared:
            await self.prepare()
        self.scheduler.start()
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot, handle_signals=False, close_bot_session=False, polling_timeout=10
            )
        )

    async def _finish_running_jobs(self, timeout: float = 5.0) -> None:
        """Let a job that is running (an outbox pass, reminders) end before the engine goes away.

        APScheduler's asyncio executor would cancel it mid-query on shutdown (a traceback on Ctrl-C); no new
        run starts once paused. Its running tasks are not public API, hence the defensive getattr.
        """
        self.scheduler.pause()
        executor = getattr(self.scheduler, "_executors", {}).get("default")
        running = [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]
        if running:
            await asyncio.wait(running, timeout=timeout)

    async def run_forever(self) -> None:
        await self.start()
        assert self._polling is not None
        await self._polling

    async def stop(self) -> None:
        if self.scheduler.running:
            await self._finish_running_jobs()
            self.scheduler.shutdown(wait=False)
        if self._polling is not None:
            with contextlib.suppress(RuntimeError):
                await self.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        await self.dispatcher.storage.close()
        await self.delivery.close()
        await self.reports.close()
        await self.bot.session.close()
        await self.engine.dispose()


def build_storage(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> BaseStorage:
    """Redis when configured (several instances), otherwise the bot's own database."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url)
    return SqlStorage(sessions)


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    settings.ensure_data_dir()
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    api = TelegramAPIServer.from_base(str(settings.telegram_api_url).rstrip("/"))
    bot = Bot(
        settings.token,
        session=AiohttpSession(api=api),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    i18n = build_i18n(settings.default_locale)
    clock = clock or SystemClock()
    deps = RenderDeps(Catalogs(settings.default_locale), clock, i18n)
    delivery, reports = build_delivery(settings, sessions, deps, lazy=False)
    scheduler = build_scheduler(
        delivery, settings.zone, settings.outbox_interval, deliver=settings.delivery_mode == "inline"
    )
    wakeup = OutboxWakeup(scheduler, settings.zone)
    event_jobs = EventJobs(sessions, clock, settings.zone, settings.reminder_offsets, wakeup)
    add_event_jobs(scheduler, event_jobs, settings.event_timers_interval, settings.zone)
    add_monthly_summary_job(scheduler, sessions, settings.zone)
    dispatcher = Dispatcher(storage=build_storage(settings, sessions))
    dispatcher["settings"] = settings
    dispatcher["outbox_wakeup"] = wakeup
    dispatcher["clock"] = clock
    dispatcher["report_refresher"] = reports
    # One user's updates in order, before the FSM reads their dialog state.
    dispatcher.update.outer_middleware.unregister(dispatcher.fsm)
    # Floods are dropped first, before they wait for their turn or touch the database.
    dispatcher.update.outer_middleware(
        ThrottlingMiddleware(i18n, settings.throttle_rate, settings.throttle_burst)
    )
    order = PerUserOrderMiddleware()
    dispatcher.update.outer_middleware(order)
    dispatcher.update.outer_middleware(dispatcher.fsm)
    dispatcher.update.outer_middleware(DbSessionMiddleware(sessions))
    dispatcher.update.outer_middleware(ProfileMiddleware(settings.admin_ids))
    UserLocaleMiddleware(i18n).setup(dispatcher)
    dispatcher.include_router(build_router())
    return App(
        settings,
        engine,
        sessions,
        bot,
        dispatcher,
        scheduler,
        delivery,
        i18n,
        reports,
        clock=clock,
        event_jobs=event_jobs,
        order=order,
    )
