"""Small helpers that lay out inline buttons in rows."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message


def rows(buttons: Iterable[tuple[str, str]], width: int = 1) -> InlineKeyboardMarkup:
    """(label, callback data) pairs, `width` per row."""
    items = [InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[items[i : i + width] for i in range(0, len(items), width)])


async def ask(
    target: Message | CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """The next step of a dialog: after a button, edit that message in place (and close the button's
    spinner); after typed text, send a new message."""
    if isinstance(target, CallbackQuery):
        if isinstance(target.message, Message):
            await target.message.edit_text(text, reply_markup=keyboard)
        await target.answer()
    else:
        await target.answer(text, reply_markup=keyboard)
