"""Small helpers that lay out inline buttons in rows."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup


def rows(buttons: Iterable[tuple[str, str]], width: int = 1) -> InlineKeyboardMarkup:
    """(label, callback data) pairs, `width` per row."""
    items = [InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[items[i : i + width] for i in range(0, len(items), width)])
