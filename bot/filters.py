"""Filters that guard privileged handlers; the check is on the server, never on what the button says."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from models import Role
from services.people import Profile


class HasRole(Filter):
    """Passes when the user holds any of the roles (loaded by ProfileMiddleware from the database)."""

    def __init__(self, *roles: Role):
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, profile: Profile | None = None) -> bool:
        return profile is not None and bool(self.roles & profile.roles)
