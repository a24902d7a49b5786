"""Typed callback data for every inline button (Telegram allows 64 bytes; these stay far below)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class OnboardingCb(CallbackData, prefix="ob"):
    """A step of the sign-up dialog: `step` names it, `value` is the choice."""

    step: str
    value: int


class RsvpCb(CallbackData, prefix="rs"):
    event_id: int
    answer: str


class NewEventCb(CallbackData, prefix="ne"):
    """A choice in the coordinator's event dialog."""

    step: str
    value: str


class StatsCb(CallbackData, prefix="rep"):
    """Reports: `action` p (overview of a period), e (one event), x / c (workbook / CSV of a period),
    ex (workbook of one event); `value` is a period code or an event id."""

    action: str
    value: str


class BroadcastStepCb(CallbackData, prefix="bs"):
    """A choice in the broadcast dialog (audience, roles, grades, school, acknowledgement)."""

    step: str
    value: str


class BroadcastCb(CallbackData, prefix="bc"):
    """An action on the author's own broadcast: send, drop (draft), stop (while sending)."""

    action: str
    id: int


class BroadcastAckCb(CallbackData, prefix="ba"):
    """«I have read it» under a broadcast; the server looks up the presser's own copy."""

    id: int
