"""Help, cancel, and polite answers to everything no other router took: unknown commands, stray text,
stale buttons, and the bot being blocked."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import JOIN_TRANSITION, LEAVE_TRANSITION, ChatMemberUpdatedFilter, Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BotCommand, CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy
from sqlalchemy.ext.asyncio import AsyncSession

from models import Role
from models.base import utcnow
from services.people import Profile

router = Router(name="common")

COMMANDS: list[tuple[str, LazyProxy, frozenset[Role] | None]] = [
    ("start", __("sign up or see your subscription"), None),
    ("help", __("what I can do"), None),
    ("cancel", __("stop the current dialog"), None),
    ("new_event", __("create and publish an event"), frozenset({Role.coordinator, Role.teacher})),
    ("stats", __("events and answers"), frozenset({Role.coordinator, Role.teacher})),
    ("export", __("participation report as a spreadsheet"), frozenset({Role.coordinator, Role.teacher})),
    # audience (issue 3)
    ("profile", __("your school, grade, children"), None),
    ("settings", __("interests, reminders, quiet hours, language"), None),
    ("privacy", __("what data I keep and why"), None),
    ("forget", __("delete all your data"), None),
    ("invite", __("invitation link for a teacher or coordinator"), frozenset({Role.coordinator})),
    ("invites", __("active invitations, revoke"), frozenset({Role.coordinator})),
    ("roles", __("teachers and coordinators, take a role away"), frozenset({Role.coordinator})),
    ("import", __("load schools, organisations, pupil counts"), frozenset({Role.coordinator})),
    ("my", __("my upcoming events and sign-ups"), None),
    ("events", __("change or cancel my events"), frozenset({Role.coordinator, Role.teacher})),
    ("attendance", __("mark who came to an event"), frozenset({Role.coordinator, Role.teacher})),
    ("plan", __("import a plan of events from a spreadsheet"), frozenset({Role.coordinator})),
    ("broadcast", __("send an announcement"), frozenset({Role.teacher, Role.coordinator})),
]


def bot_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    """The command menu shown to everybody, in one language (privileged ones are listed by /help)."""
    with i18n.context(), i18n.use_locale(locale):
        return [
            BotCommand(command=name, description=str(text)) for name, text, roles in COMMANDS if roles is None
        ]


@router.message(Command("help"))
async def help_(message: Message, profile: Profile) -> None:
    lines = [_("<b>What I can do</b>"), ""]
    for name, description, roles in COMMANDS:
        if roles is None or roles & profile.roles:
            lines.append(f"/{name} — {description}")
    lines += ["", _("Events for you arrive here by themselves; answer them with the buttons under each one.")]
    await message.answer("\n".join(lines))


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."))
        return
    await state.clear()
    await message.answer(_("Cancelled. Nothing was changed."))


@router.message(Command("new_event", "stats", "export", "events", "attendance"))
async def teachers_and_coordinators_only(message: Message) -> None:
    await message.answer(_("This command is available to teachers and coordinators only."))


@router.message(Command("import", "plan", "invite", "invites", "roles"))
async def coordinators_only(message: Message) -> None:
    await message.answer(_("This command is available to coordinators only."))


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    await message.answer(_("I do not know this command. See /help for the list."))


@router.message()
async def anything_else(message: Message, profile: Profile) -> None:
    if not profile.is_registered and not profile.has(Role.coordinator):
        await message.answer(_("To get events, send /start and answer a few questions with the buttons."))
    else:
        await message.answer(_("I understand buttons and commands. See /help for the list."))


@router.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    """A button this bot no longer knows (old, or forged): say so and change nothing."""
    await query.answer(_("This button is out of date."), show_alert=True)


@router.my_chat_member(ChatMemberUpdatedFilter(LEAVE_TRANSITION))
async def blocked(update: ChatMemberUpdated, session: AsyncSession, profile: Profile) -> None:
    """A user who blocks the bot is marked inactive and gets nothing more."""
    profile.user.is_active = False
    profile.user.blocked_at = utcnow()


@router.my_chat_member(ChatMemberUpdatedFilter(JOIN_TRANSITION))
async def unblocked(update: ChatMemberUpdated, profile: Profile) -> None:
    profile.user.is_active = True
    profile.user.blocked_at = None
