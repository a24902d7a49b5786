"""Factories of the renderers that need aiogram (`CallbackData` keyboards, aiogram's `I18n`).

`bot.outbox.AIOGRAM_KINDS` names them by import path: the delivery process imports this module only on
the first outbox row of one of their kinds.
"""

from __future__ import annotations

from bot.outbox import RenderDeps
from services.delivery import Renderer
from services.monthly_summary import KIND as MONTHLY_SUMMARY
from services.monthly_summary import monthly_summary_renderer
from services.notifications import event_renderers


def event_kinds(deps: RenderDeps) -> dict[str, Renderer]:
    """Announcements, reminders, changes, wait-list offers, feedback requests and digests."""
    return event_renderers(deps.aiogram_i18n(), deps.clock)


def monthly_summary_kinds(deps: RenderDeps) -> dict[str, Renderer]:
    return {MONTHLY_SUMMARY: monthly_summary_renderer(deps.aiogram_i18n())}
