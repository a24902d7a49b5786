"""Keep the gettext catalogs in step with the code: `python -m locales.tools.catalogs update`.

Extracts every `_()`/`__()` string from the code and merges it into ru and en catalogs; new Russian
entries are filled from the `ru_seed*.py` dictionaries when they have them, and `check` lists what is still untranslated.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

STABLE_DATE = datetime(2026, 1, 1, tzinfo=UTC)

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "handlers", "services", "scheduler")
KEYWORDS = {"_": None, "__": None}


def extract() -> Catalog:
    template = Catalog(project="profbot", charset="utf-8")
    for folder in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=()
        ):
            template.add(message, locations=[(f"{folder}/{filename}", lineno)])
    return template


def po_path(language: str) -> Path:
    return ROOT / "locales" / language / "LC_MESSAGES" / "messages.po"


def russian_seeds() -> dict[str, str]:
    """Every `locales/tools/ru_seed*.py` holds a RU dict (one file per feature, so branches do not collide)."""
    import importlib

    merged: dict[str, str] = {}
    for path in sorted((ROOT / "locales" / "tools").glob("ru_seed*.py")):
        merged.update(importlib.import_module(f"locales.tools.{path.stem}").RU)
    return merged


def update() -> None:
    RU = russian_seeds()
    for language in ("ru", "en"):
        # A fresh template per language: Babel's update adopts the template's Message objects, so a
        # shared one would carry the Russian strings into the English catalog.
        template = extract()
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=language)
        else:
            catalog = Catalog(locale=language, project="profbot", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        for message in catalog:
            if not message.id:
                continue
            if language == "ru" and not message.string and message.id in RU:
                message.string = RU[message.id]
            if language == "en":
                # The msgids are English: an English "translation" is the msgid itself (empty msgstr).
                message.string = ""
            message.flags.discard("fuzzy")
        catalog.obsolete.clear()
        with path.open("wb") as f:
            catalog.creation_date = STABLE_DATE  # a regenerated catalog differs only where messages do
            catalog.revision_date = STABLE_DATE
            write_po(f, catalog, width=120, omit_header=False, no_location=True)


def missing() -> list[str]:
    """Russian is the first language: every message must have a Russian translation."""
    with po_path("ru").open("rb") as f:
        catalog = read_po(f, locale="ru")
    template = extract()
    return [m.id for m in template if m.id and not (catalog.get(m.id) and catalog.get(m.id).string)]


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    elif sys.argv[1:] == ["check"]:
        gaps = missing()
        for gap in gaps:
            print(f"untranslated: {gap!r}")
        sys.exit(1 if gaps else 0)
    else:
        print("usage: python -m locales.tools.catalogs update|check", file=sys.stderr)
        sys.exit(2)
