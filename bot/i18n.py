"""Gettext catalogs for ru and en, compiled from `locales/*/LC_MESSAGES/messages.po` when stale."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("ru", "en")


def compile_catalogs(path: Path = LOCALES_DIR) -> list[Path]:
    """Write a `.mo` beside every `.po` that is newer than it; returns what was written."""
    written = []
    for po in sorted(path.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as src:
            catalog = read_po(src, locale=po.parent.parent.name)
        with mo.open("wb") as dst:
            write_mo(dst, catalog)
        written.append(mo)
    return written


def build_i18n(default_locale: str = "ru") -> I18n:
    compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def pick_language(code: str | None, default: str) -> str:
    """Map Telegram's language_code to a language we have; Russian unless the user's client says English."""
    if code:
        short = code.split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return default


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
