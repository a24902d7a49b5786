"""The gettext catalogs without aiogram: compiling them and translating with the standard library.

The bot reads the same `.mo` files through aiogram's `I18n` (`bot/i18n.py`); the delivery process
(`python -m bot.deliver`) reads them here, so delivering a broadcast never loads aiogram (~166 MiB).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("ru", "en")

# A msgid -> its text in one language; code that renders for several languages takes one as `_`.
Translate = Callable[[str], str]


def compile_catalogs(path: Path = LOCALES_DIR) -> list[Path]:
    """Write a `.mo` beside every `.po` that is newer than it; returns what was written."""
    written = []
    for po in sorted(path.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        from babel.messages.mofile import write_mo  # only when a catalog is stale
        from babel.messages.pofile import read_po

        with po.open("rb") as src:
            catalog = read_po(src, locale=po.parent.parent.name)
        with mo.open("wb") as dst:
            write_mo(dst, catalog)
        written.append(mo)
    return written


def pick_language(code: str | None, default: str) -> str:
    """Map Telegram's language_code to a language we have; Russian unless the user's client says English."""
    if code:
        short = code.split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return default


class Catalogs:
    """Every language's translations, for rendering a message in its recipient's language.

    Same answers as aiogram's `I18n` over the same files: a missing msgid, or a language we do not have,
    gives the msgid itself (English).
    """

    def __init__(self, default_locale: str = "ru", path: Path = LOCALES_DIR):
        compile_catalogs(path)
        self.default_locale = default_locale
        self._by_language: dict[str, gettext.NullTranslations] = {
            language: gettext.translation(DOMAIN, path, languages=[language], fallback=True)
            for language in LANGUAGES
        }
        self._untranslated = gettext.NullTranslations()

    def translator(self, locale: str | None) -> Translate:
        """`_` for `locale` (the default language when the user has not chosen one)."""
        return self._by_language.get(locale or self.default_locale, self._untranslated).gettext
