"""/settings: one screen of preferences (interests, reminders, quiet hours, digest, monthly summary,
language), changed with buttons in place. Sending respects them from the next notification on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audience_callbacks import SettingsCb
from handlers.keyboards import rows
from models import EventKind, User
from services.cards import KIND_LABELS
from services.profiles import (
    QUIET_PRESETS,
    ProfileError,
    set_digest,
    set_language,
    set_quiet_hours,
    toggle_interest,
)
from services.quiet_hours import release_held

router = Router(name="settings")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def quiet_text(user: User) -> str:
    if user.quiet_start == user.quiet_end:
        return _("off")
    return f"{_hhmm(user.quiet_start)}–{_hhmm(user.quiet_end)}"


def settings_view(user: User) -> tuple[str, InlineKeyboardMarkup]:
    interests = (
        ", ".join(str(KIND_LABELS[EventKind(k)]) for k in user.interests if k in EventKind.__members__)
        if user.interests
        else _("all kinds of events")
    )
    on, off = _("on"), _("off")
    text = "\n".join(
        [
            _("<b>Settings</b>"),
            "",
            _("Interests: {value}").format(value=interests),
            _("Reminders before events: {value}").format(value=on if user.reminders_on else off),
            _("Quiet hours (your municipality's time): {value}").format(value=quiet_text(user)),
            _("New events: {value}").format(
                value=_("as they are published") if user.digest == "instant" else _("weekly digest")
            ),
            _("Monthly summary: {value}").format(value=on if user.monthly_summary else off),
            _("Language: {value}").format(value="Русский" if (user.language or "ru") == "ru" else "English"),
            "",
            _("Changes apply from the next message. During quiet hours messages wait until morning."),
        ]
    )
    markup = rows(
        [
            (_("🎯 Interests"), SettingsCb(action="interests").pack()),
            (
                _("🔔 Reminders: turn off") if user.reminders_on else _("🔕 Reminders: turn on"),
                SettingsCb(action="reminders").pack(),
            ),
            (_("🌙 Quiet hours"), SettingsCb(action="quiet").pack()),
            (
                _("📬 Switch to weekly digest") if user.digest == "instant" else _("📬 Switch to instant"),
                SettingsCb(action="digest", value="weekly" if user.digest == "instant" else "instant").pack(),
            ),
            (
                _("📊 Monthly summary: turn off")
                if user.monthly_summary
                else _("📊 Monthly summary: turn on"),
                SettingsCb(action="monthly").pack(),
            ),
            (
                "🌐 English" if (user.language or "ru") == "ru" else "🌐 Русский",
                SettingsCb(action="lang", value="en" if (user.language or "ru") == "ru" else "ru").pack(),
            ),
        ]
    )
    return text, markup


def interests_view(user: User) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        (
            ("✅ " if kind.value in user.interests else "") + str(KIND_LABELS[kind]),
            SettingsCb(action="kind", value=kind.value).pack(),
        )
        for kind in EventKind
        if kind in KIND_LABELS
    ]
    buttons.append((_("Done"), SettingsCb(action="show").pack()))
    return (
        _("Which kinds of events interest you? Tap to mark; nothing marked means all kinds."),
        rows(buttons),
    )


def quiet_view() -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        (
            _("No quiet hours") if name == "off" else f"{_hhmm(start)}–{_hhmm(end)}",
            SettingsCb(action="quiet_set", value=name).pack(),
        )
        for name, (start, end) in QUIET_PRESETS.items()
    ]
    return _("When should I keep quiet? Messages in these hours wait until they end."), rows(buttons, width=2)


async def _edit(
    query: CallbackQuery, view: tuple[str, InlineKeyboardMarkup], note: str | None = None
) -> None:
    text, markup = view
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer(note)


@router.message(Command("settings"))
async def settings(message: Message, user: User) -> None:
    if user.consent_at is None:
        await message.answer(
            _("You have not signed up yet. Send /start and answer a few questions with the buttons.")
        )
        return
    text, markup = settings_view(user)
    await message.answer(text, reply_markup=markup)


@router.callback_query(SettingsCb.filter())
async def change(
    query: CallbackQuery,
    callback_data: SettingsCb,
    user: User,
    session: AsyncSession,
    i18n: I18n,
    outbox_wakeup: Callable[[], Awaitable[None]],
) -> None:
    """Every change is validated by the service; unknown values change nothing."""
    if user.consent_at is None:
        await query.answer(_("Please send /start first."), show_alert=True)
        return
    action, value = callback_data.action, callback_data.value
    try:
        _apply(user, action, value)
    except ProfileError:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    released = 0
    if action in ("quiet_set", "digest"):
        # Messages already waiting (for the morning, for Monday's digest) follow the new choice.
        released = await release_held(session, user.id)
    await session.commit()  # saved before the screen says so
    if released:
        await outbox_wakeup()
    if action in ("interests", "kind"):
        await _edit(query, interests_view(user))
    elif action == "quiet":
        await _edit(query, quiet_view())
    elif action == "lang":
        with i18n.use_locale(value):
            await _edit(query, settings_view(user), _("Saved."))
    else:
        await _edit(query, settings_view(user), None if action == "show" else _("Saved."))


def _apply(user: User, action: str, value: str) -> None:
    """Change one preference; raises ProfileError for anything the screen never offers."""
    if action in ("show", "interests", "quiet"):
        return
    if action == "kind":
        toggle_interest(user, value)
    elif action == "reminders":
        user.reminders_on = not user.reminders_on
    elif action == "quiet_set":
        set_quiet_hours(user, value)
    elif action == "digest":
        set_digest(user, value)
    elif action == "monthly":
        user.monthly_summary = not user.monthly_summary
    elif action == "lang":
        set_language(user, value)
    else:
        raise ProfileError("bad_value")
