"""aiogram's side of the gettext catalogs: the `I18n` handlers translate with, and the user's language.

Compiling and the aiogram-free translations live in `bot/catalogs.py` (the delivery process uses them).
"""

from __future__ import annotations

import sys
from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.catalogs import DOMAIN, LANGUAGES, LOCALES_DIR, compile_catalogs, pick_language

__all__ = ["LANGUAGES", "UserLocaleMiddleware", "build_i18n", "compile_catalogs", "pick_language"]


def build_i18n(default_locale: str = "ru") -> I18n:
    compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


class UserLocaleMiddleware(I18nMiddleware):
    """The saved language of the user, else their Telegram client's language, else the default."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("user")
        if user is not None and getattr(user, "language", None):
            return str(user.language)
        tg_user: TgUser | None = data.get("event_from_user")
        return pick_language(tg_user.language_code if tg_user else None, self.i18n.default_locale)


if __name__ == "__main__":
    if sys.argv[1:] == ["compile"]:
        for item in compile_catalogs():
            print(f"compiled {item.relative_to(LOCALES_DIR.parent)}")
    else:
        print("usage: python -m bot.i18n compile", file=sys.stderr)
        sys.exit(2)
