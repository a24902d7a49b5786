"""Typed callback data of the audience features (profiles, settings, invitations, privacy, import).

Every value is re-checked by the handler and the service: these strings come from the client.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ProfileCb(CallbackData, prefix="pf"):
    """`action` on the profile screen; `learner` is a learner id (0 when none), `value` a choice."""

    action: str
    learner: int = 0
    value: int = 0


class SettingsCb(CallbackData, prefix="st"):
    action: str
    value: str = ""


class InviteCb(CallbackData, prefix="iv"):
    """A step of the coordinator's invitation dialog, or `revoke` with an invitation id."""

    step: str
    value: int = 0


class PrivacyCb(CallbackData, prefix="pv"):
    action: str


class ImportCb(CallbackData, prefix="im"):
    action: str


class RoleCb(CallbackData, prefix="rl"):
    """The coordinator's /roles screen: `ask` (confirm), `yes` or `no`, with a user_roles id."""

    action: str
    value: int = 0
