"""/privacy explains what is kept and why (152-ФЗ); /forget deletes it after a confirmation."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audience_callbacks import PrivacyCb
from handlers.keyboards import rows
from models import User
from services.privacy import forget_user

router = Router(name="privacy")


@router.message(Command("privacy"))
async def privacy(message: Message, user: User) -> None:
    consent = (
        _("You gave consent on {date} (UTC).").format(date=user.consent_at.strftime("%d.%m.%Y %H:%M"))
        if user.consent_at
        else _("You have not given consent: I keep only your Telegram id.")
    )
    await message.answer(
        _(
            "<b>Your data (Federal Law 152-ФЗ «О персональных данных»)</b>\n\n"
            "What I keep and why:\n"
            "• your Telegram id — to send you messages;\n"
            "• your role (pupil, parent, teacher, coordinator) — to choose which events concern you;\n"
            "• for each child (or yourself, if you are a pupil): the school and the grade, never a name — "
            "to send events for that grade;\n"
            "• the ОВЗ mark, only if you gave it — for anonymous counts and events suitable for ОВЗ;\n"
            "• a teacher's school and classes — for their messages to the class;\n"
            "• your settings and your answers to events — to remind you and to count participants;\n"
            "• the time you gave consent.\n\n"
            "Nothing is shared with anyone. Participation is reported only as anonymous counts.\n\n"
            "{consent}\n\n"
            "To delete everything about you, send /forget."
        ).format(consent=consent)
    )


@router.message(Command("forget"))
async def forget(message: Message) -> None:
    await message.answer(
        _(
            "Delete all your data? Your profile, children, roles, settings and pending messages will be "
            "removed, and you will receive nothing more. Participation counts stay only as anonymous "
            "numbers. This cannot be undone."
        ),
        reply_markup=rows(
            [
                (_("🗑 Yes, delete my data"), PrivacyCb(action="forget").pack()),
                (_("No, keep"), PrivacyCb(action="keep").pack()),
            ]
        ),
    )


@router.callback_query(PrivacyCb.filter(F.action == "forget"))
async def forget_confirmed(
    query: CallbackQuery, session: AsyncSession, user: User, state: FSMContext
) -> None:
    await state.clear()
    await forget_user(session, user.id)
    await session.commit()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Done: your data have been deleted. If you want events again, send /start.")
        )
    await query.answer()


@router.callback_query(PrivacyCb.filter(F.action == "keep"))
async def forget_cancelled(query: CallbackQuery) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Nothing was deleted."))
    await query.answer()


@router.callback_query(PrivacyCb.filter())
async def privacy_stale(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date."), show_alert=True)
