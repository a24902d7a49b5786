"""Small helpers that lay out inline buttons in rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from services import directory

T = TypeVar("T")

# Telegram refuses an inline keyboard of more than 100 buttons (8 in a row) with "reply markup is too
# long"; lists that grow with the data (participants, schools, organisations) are shown a page at a time.
PAGE_SIZE = 20


def rows(buttons: Iterable[tuple[str, str]], width: int = 1) -> InlineKeyboardMarkup:
    """(label, callback data) pairs, `width` per row."""
    items = [InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[items[i : i + width] for i in range(0, len(items), width)])


def page_of(items: Sequence[T], page: int, size: int = PAGE_SIZE) -> tuple[Sequence[T], int, int]:
    """The items on `page` (clamped to the existing pages), that page and the number of pages."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    return items[page * size : (page + 1) * size], page, pages


def nav_row(page: int, pages: int, data: Callable[[int], str]) -> list[InlineKeyboardButton]:
    """«◀» / «▶» to the neighbouring pages (none on a single page); `data(page)` packs the callback."""
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(text="◀", callback_data=data(page - 1)))
    if page < pages - 1:
        row.append(InlineKeyboardButton(text="▶", callback_data=data(page + 1)))
    return row


def page_note(page: int, pages: int) -> str:
    """«Page 2 of 6» for a list longer than a page, else nothing."""
    return _("Page {page} of {pages}").format(page=page + 1, pages=pages) if pages > 1 else ""


def paged_rows(
    buttons: Sequence[tuple[str, str]],
    page: int,
    data: Callable[[int], str],
    *,
    head: Sequence[tuple[str, str]] = (),
    tail: Sequence[tuple[str, str]] = (),
    width: int = 1,
    size: int = PAGE_SIZE,
) -> tuple[InlineKeyboardMarkup, int, int]:
    """One page of (label, callback data) pairs, `width` per row, between fixed `head` and `tail` buttons
    (on every page), with «◀» / «▶»; returns the keyboard, the page shown and the number of pages."""
    shown, page, pages = page_of(buttons, page, size)
    markup = rows([*head, *shown, *tail], width)
    nav = nav_row(page, pages, data)
    if nav:
        markup.inline_keyboard.append(nav)
    return markup, page, pages


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


async def municipality_chooser(
    session: AsyncSession,
    page: int,
    only: frozenset[int] | None,
    question: str,
    choose: Callable[[int], str],
    turn: Callable[[int], str],
) -> tuple[str, InlineKeyboardMarkup]:
    """«Which municipality?», 20 a page: all of them (`only` None, an admin) or the user's own.

    `choose` packs the callback data of a municipality's button, `turn` that of a page.
    """
    municipalities = await directory.municipalities(session, only)
    markup, page, pages = paged_rows([(m.name, choose(m.id)) for m in municipalities], page, turn)
    return "\n".join(filter(None, [question, page_note(page, pages)])), markup
