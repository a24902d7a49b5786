"""Invitations: a coordinator creates a deep link for a teacher (a school) or a coordinator (a
municipality, or a whole region: an admin, or a coordinator of all its municipalities), lists and
revokes them; anyone who opens a link gets the role if it is still valid."""

from __future__ import annotations

import contextlib
import html
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audience_callbacks import InviteCb, ProfileCb, RoleCb
from bot.filters import HasRole
from bot.settings import Settings
from handlers.keyboards import nav_row, page_note, page_of, paged_rows, rows
from models import Invitation, Municipality, Role, School, User
from services import directory
from services.invitations import (
    MAX_USES_CHOICES,
    HeldRole,
    InvitationError,
    active_invitations,
    create_invitation,
    held_role,
    may_invite_region,
    may_manage,
    redeem,
    revocable_roles,
    revoke_invitation,
    revoke_role,
)
from services.people import Profile
from services.profiles import teacher_grades, teacher_grades_of

router = Router(name="invitations")

INVITE_ROLES = {1: Role.teacher, 2: Role.coordinator, 3: Role.coordinator}
REGION = 3  # the coordinator of a whole region: each of its municipalities


class InviteDialog(StatesGroup):
    choosing = State()


def refusal(code: str) -> str:
    """A polite sentence for every reason an invitation action is refused."""
    return {
        "unknown": _("This invitation link is not valid. Ask your coordinator for a new one."),
        "revoked": _("This invitation has been revoked. Ask your coordinator for a new one."),
        "expired": _("This invitation has expired. Ask your coordinator for a new one."),
        "used_up": _("This invitation has already been used. Ask your coordinator for a new one."),
        "already": _("You already hold this role."),
        "role_gone": _("This person no longer holds this role."),
        "wider": _(
            "You already serve every municipality as a coordinator; this link would narrow that, "
            "so it has not been used."
        ),
        "other_municipality": _(
            "You are already a coordinator of another municipality; a link does not change that, "
            "so it has not been used. Ask a coordinator to take your role away first (/roles)."
        ),
        "no_consent": _("Please agree to the processing of data first: send /start."),
        "forbidden": _("This action is available to coordinators only."),
        "unknown_school": _("This school is not in the directory."),
        "unknown_municipality": _("This municipality is not in the directory."),
        "unknown_region": _("This region has no municipalities in the directory."),
    }.get(code, _("This action cannot be done."))


def class_keyboard(grades: list[int]) -> InlineKeyboardMarkup:
    buttons = [
        (("✅ " if g in grades else "") + str(g), ProfileCb(action="class", value=g).pack())
        for g in range(1, 12)
    ]
    markup = rows(buttons, width=4)
    markup.inline_keyboard.append(
        rows([(_("Done"), ProfileCb(action="classes_done").pack())]).inline_keyboard[0]
    )
    return markup


async def accept_invitation(
    target: Message, session: AsyncSession, user: User, code: str, edit: bool
) -> None:
    """Redeem `code` for `user` and tell them what they now are (or why not)."""
    try:
        redeemed = await redeem(session, user, code)
    except InvitationError as refused:
        text, markup = refusal(refused.code), None
    else:
        await session.commit()  # the role is granted before the person is told so
        invitation = redeemed.invitation
        if invitation.role is Role.teacher:
            school = await session.get(School, invitation.school_id) if invitation.school_id else None
            text = _(
                "You are now a teacher of {school}.\n\nWhich classes do you lead? Tap the grades, then «Done»."
            ).format(school=html.escape(school.name if school else "?"))
            if redeemed.left_school_id is not None:
                left = await session.get(School, redeemed.left_school_id)
                text = (
                    _("You are no longer a teacher of {school}: its classes have been removed.").format(
                        school=html.escape(left.name if left else "?")
                    )
                    + "\n"
                    + text
                )
            markup = class_keyboard(await teacher_grades(session, user))
        else:
            text = _("You are now a coordinator of {municipality}. Your commands: /help").format(
                municipality=html.escape(await _coordinator_of(session, invitation))
            )
            markup = None
    if edit:
        await target.edit_text(text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


async def _coordinator_of(session: AsyncSession, invitation: Invitation) -> str:
    """The municipality of a coordinator invitation, or «region: its municipalities» for a region's."""
    if invitation.region is not None:
        munis = await directory.region_municipalities(session, invitation.region)
        return "{}: {}".format(invitation.region, ", ".join(m.name for m in munis))
    muni = await session.get(Municipality, invitation.municipality_id) if invitation.municipality_id else None
    return muni.name if muni else "?"


async def _regions(session: AsyncSession, profile: Profile) -> list[Municipality]:
    """The regions the coordinator may invite a region coordinator for (one municipality standing for
    each): every region for an admin, else those all of whose municipalities they serve."""
    return await directory.whole_regions(session, profile.coordinator_municipalities)


@router.message(Command("invite"), HasRole(Role.coordinator))
async def invite(message: Message, state: FSMContext, session: AsyncSession, profile: Profile) -> None:
    await state.clear()
    await state.set_state(InviteDialog.choosing)
    buttons = [
        (_("Teacher (a school)"), InviteCb(step="role", value=1).pack()),
        (_("Coordinator (a municipality)"), InviteCb(step="role", value=2).pack()),
    ]
    if await _regions(session, profile):
        buttons.append((_("Coordinator (a whole region)"), InviteCb(step="role", value=REGION).pack()))
    await message.answer(_("New invitation. Which role will it give?"), reply_markup=rows(buttons))


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


async def _ask_scope(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, profile: Profile, page: int = 0
) -> None:
    data = await state.get_data()
    if int(data["role"]) == REGION:
        if "region" not in data:
            regions = await _regions(session, profile)
            markup, page, pages = paged_rows(
                [(m.region, InviteCb(step="region", value=m.id).pack()) for m in regions],
                page,
                lambda p: InviteCb(step="page", value=p).pack(),
            )
            await _edit(
                query, "\n".join(filter(None, [_("For which region?"), page_note(page, pages)])), markup
            )
            return
    else:
        scope = profile.coordinator_municipalities
        if scope is not None and len(scope) == 1 and "municipality_id" not in data:
            (only,) = scope
            await state.update_data(municipality_id=only)
            data["municipality_id"] = only
    if int(data["role"]) != REGION and "municipality_id" not in data:
        items = await directory.municipalities(session, profile.coordinator_municipalities)
        markup, page, pages = paged_rows(
            [(m.name, InviteCb(step="muni", value=m.id).pack()) for m in items],
            page,
            lambda p: InviteCb(step="page", value=p).pack(),
        )
        await _edit(
            query, "\n".join(filter(None, [_("For which municipality?"), page_note(page, pages)])), markup
        )
        return
    if INVITE_ROLES[int(data["role"])] is Role.teacher and "school_id" not in data:
        schools = await directory.schools_of(session, int(data["municipality_id"]))
        markup, page, pages = paged_rows(
            [(s.name, InviteCb(step="school", value=s.id).pack()) for s in schools],
            page,
            lambda p: InviteCb(step="page", value=p).pack(),
        )
        await _edit(query, "\n".join(filter(None, [_("For which school?"), page_note(page, pages)])), markup)
        return
    await _edit(
        query,
        _("How many people may use the link?"),
        rows([(str(n), InviteCb(step="uses", value=n).pack()) for n in MAX_USES_CHOICES], width=3),
    )


@router.callback_query(InviteDialog.choosing, InviteCb.filter(F.step == "page"), HasRole(Role.coordinator))
async def invite_page(
    query: CallbackQuery, callback_data: InviteCb, state: FSMContext, session: AsyncSession, profile: Profile
) -> None:
    """«◀» / «▶» in the list of municipalities or schools: the same question, another page."""
    if "role" not in await state.get_data():
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await _ask_scope(query, state, session, profile, callback_data.value)


@router.callback_query(InviteDialog.choosing, InviteCb.filter(F.step == "role"), HasRole(Role.coordinator))
async def invite_role(
    query: CallbackQuery, callback_data: InviteCb, state: FSMContext, session: AsyncSession, profile: Profile
) -> None:
    if callback_data.value not in INVITE_ROLES:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    if callback_data.value == REGION and not await _regions(session, profile):
        # Only an admin, or the coordinator of a whole region, may invite a region's coordinator.
        await query.answer(refusal("forbidden"), show_alert=True)
        return
    await state.update_data(role=callback_data.value)
    await _ask_scope(query, state, session, profile)


@router.callback_query(InviteDialog.choosing, InviteCb.filter(F.step == "region"), HasRole(Role.coordinator))
async def invite_region(
    query: CallbackQuery, callback_data: InviteCb, state: FSMContext, session: AsyncSession, profile: Profile
) -> None:
    """A region, named by one of its municipalities (callback data is not trusted)."""
    data = await state.get_data()
    muni = await session.get(Municipality, callback_data.value)
    if int(data.get("role", 0)) != REGION or muni is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    if not await may_invite_region(session, profile, muni.region):
        await query.answer(refusal("forbidden"), show_alert=True)
        return
    await state.update_data(region=muni.region)
    await _ask_scope(query, state, session, profile)


@router.callback_query(InviteDialog.choosing, InviteCb.filter(F.step == "muni"), HasRole(Role.coordinator))
async def invite_muni(
    query: CallbackQuery, callback_data: InviteCb, state: FSMContext, session: AsyncSession, profile: Profile
) -> None:
    data = await state.get_data()
    if (
        int(data.get("role", REGION)) == REGION
        or await session.get(Municipality, callback_data.value) is None
    ):
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    if not may_manage(profile, callback_data.value):
        await query.answer(refusal("forbidden"), show_alert=True)
        return
    await state.update_data(municipality_id=callback_data.value)
    await _ask_scope(query, state, session, profile)


@router.callback_query(InviteDialog.choosing, InviteCb.filter(F.step == "school"), HasRole(Role.coordinator))
async def invite_school(
    query: CallbackQuery, callback_data: InviteCb, state: FSMContext, session: AsyncSession, profile: Profile
) -> None:
    data = await state.get_data()
    school = await directory.school_in(session, callback_data.value, int(data.get("municipality_id", 0)))
    if "role" not in data or school is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(school_id=school.id)
    await _ask_scope(query, state, session, profile)


@router.callback_query(InviteDialog.choosing, InviteCb.filter(F.step == "uses"), HasRole(Role.coordinator))
async def invite_uses(
    query: CallbackQuery,
    callback_data: InviteCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    bot: Bot,
    settings: Settings,
) -> None:
    data = await state.get_data()
    if (
        "role" not in data
        or callback_data.value not in MAX_USES_CHOICES
        or (int(data["role"]) == REGION and "region" not in data)
    ):
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    try:
        invitation = await create_invitation(
            session,
            profile,
            INVITE_ROLES[int(data["role"])],
            school_id=data.get("school_id"),
            municipality_id=data.get("municipality_id"),
            region=data.get("region") if int(data["role"]) == REGION else None,
            max_uses=callback_data.value,
        )
    except InvitationError as refused:
        await state.clear()
        await _edit(query, refusal(refused.code))
        return
    await state.clear()
    await session.commit()
    await _edit(
        query,
        await describe(session, invitation, bot, settings.zone)
        + "\n\n"
        + _("Send this link to the person. Revoke it with /invites."),
    )


async def describe(session: AsyncSession, invitation: Invitation, bot: Bot, default_zone: ZoneInfo) -> str:
    """The link and its limits; times in the municipality's zone (TIMEZONE when it has none)."""
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={invitation.code}"
    if invitation.role is Role.teacher and invitation.school_id:
        school = await session.get(School, invitation.school_id)
        what = _("teacher of {school}").format(school=html.escape(school.name if school else "?"))
    else:
        what = _("coordinator of {municipality}").format(
            municipality=html.escape(await _coordinator_of(session, invitation))
        )
    zone = default_zone
    if invitation.municipality_id:
        muni = await session.get(Municipality, invitation.municipality_id)
        if muni is not None:
            zone = ZoneInfo(muni.timezone)
    elif invitation.region is not None:
        region = await directory.region_municipalities(session, invitation.region)
        if region:
            zone = ZoneInfo(region[0].timezone)
    return _("Invitation: {what}\nLink: {link}\nValid until {until}, uses: {uses} of {max}").format(
        what=what,
        link=link,
        until=invitation.expires_at.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
        uses=invitation.uses,
        max=invitation.max_uses,
    )


INVITES_PAGE = 10  # ten descriptions with their links fit one message


async def invites_view(
    session: AsyncSession, profile: Profile, bot: Bot, page: int, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup] | None:
    """One page of the active invitations, numbered across pages, a «Revoke» button each."""
    items = await active_invitations(session, profile)
    if not items:
        return None
    shown, page, pages = page_of(items, page, INVITES_PAGE)
    lines = [_("<b>Active invitations</b>")]
    if pages > 1:
        lines[0] += "\n" + page_note(page, pages)
    buttons = []
    for number, invitation in enumerate(shown, start=page * INVITES_PAGE + 1):
        lines.append(f"{number}. " + await describe(session, invitation, bot, zone))
        buttons.append(
            (_("Revoke #{n}").format(n=number), InviteCb(step="revoke", value=invitation.id).pack())
        )
    markup = rows(buttons, width=2)
    nav = nav_row(page, pages, lambda p: InviteCb(step="invites_page", value=p).pack())
    if nav:
        markup.inline_keyboard.append(nav)
    return "\n\n".join(lines), markup


@router.message(Command("invites"), HasRole(Role.coordinator))
async def invites(
    message: Message, session: AsyncSession, profile: Profile, bot: Bot, settings: Settings
) -> None:
    view = await invites_view(session, profile, bot, 0, settings.zone)
    if view is None:
        await message.answer(_("There are no active invitations. Create one with /invite."))
        return
    await message.answer(view[0], reply_markup=view[1])


@router.callback_query(InviteCb.filter(F.step == "invites_page"), HasRole(Role.coordinator))
async def invites_page(
    query: CallbackQuery,
    callback_data: InviteCb,
    session: AsyncSession,
    profile: Profile,
    bot: Bot,
    settings: Settings,
) -> None:
    view = await invites_view(session, profile, bot, callback_data.value, settings.zone)
    if view is None:
        await query.answer(_("There are no active invitations. Create one with /invite."), show_alert=True)
        return
    await _edit(query, view[0], view[1])


@router.callback_query(InviteCb.filter(F.step == "revoke"), HasRole(Role.coordinator))
async def revoke(
    query: CallbackQuery, callback_data: InviteCb, session: AsyncSession, profile: Profile
) -> None:
    try:
        await revoke_invitation(session, profile, callback_data.value)
    except InvitationError as refused:
        await query.answer(refusal(refused.code), show_alert=True)
        return
    await session.commit()
    await query.answer(_("Revoked: the link no longer works."), show_alert=True)


async def _role_name(session: AsyncSession, held: HeldRole) -> str:
    """«teacher of <school>» or «coordinator of <municipality>», in the current language."""
    role = held.role
    if role.role is Role.teacher:
        school = await session.get(School, role.school_id) if role.school_id else None
        return _("teacher of {school}").format(school=html.escape(school.name if school else "?"))
    muni = await session.get(Municipality, role.municipality_id) if role.municipality_id else None
    return _("coordinator of {municipality}").format(municipality=html.escape(muni.name if muni else "?"))


@router.message(Command("roles"), HasRole(Role.coordinator))
async def roles(message: Message, session: AsyncSession, profile: Profile) -> None:
    """Teachers and coordinators within the coordinator's scope, each with «Take away #N»."""
    held = await revocable_roles(session, profile)
    if not held:
        await message.answer(
            _("There are no teachers or coordinators in your area yet. Invite them with /invite.")
        )
        return
    lines = [_("<b>Teachers and coordinators</b>"), ""]
    buttons = []
    for number, item in enumerate(held, start=1):
        name = await _role_name(session, item)
        if item.role.role is Role.teacher:
            grades = await teacher_grades_of(session, item.role.user_id)
            if grades:
                name += "; " + _("classes: {grades}").format(grades=", ".join(map(str, grades)))
        lines.append(_("{n}. {role} — Telegram id {id}").format(n=number, role=name, id=item.telegram_id))
        buttons.append(
            (_("Take away #{n}").format(n=number), RoleCb(action="ask", value=item.role.id).pack())
        )
    lines += ["", _("A role taken away is recorded, and the person is told.")]
    await message.answer("\n".join(lines), reply_markup=rows(buttons, width=2))


@router.callback_query(RoleCb.filter(F.action == "ask"), HasRole(Role.coordinator))
async def role_ask(
    query: CallbackQuery, callback_data: RoleCb, session: AsyncSession, profile: Profile
) -> None:
    try:
        held = await held_role(session, profile, callback_data.value)
    except InvitationError as refused:
        await query.answer(refusal(refused.code), show_alert=True)
        return
    await _edit(
        query,
        _("Take away the role «{role}» from Telegram id {id}? They will be told.").format(
            role=await _role_name(session, held), id=held.telegram_id
        ),
        rows(
            [
                (_("Yes, take it away"), RoleCb(action="yes", value=held.role.id).pack()),
                (_("No"), RoleCb(action="no").pack()),
            ],
            width=2,
        ),
    )


@router.callback_query(RoleCb.filter(F.action == "no"), HasRole(Role.coordinator))
async def role_keep(query: CallbackQuery) -> None:
    await _edit(query, _("Nothing was changed."))


@router.callback_query(RoleCb.filter(F.action == "yes"), HasRole(Role.coordinator))
async def role_revoke(
    query: CallbackQuery, callback_data: RoleCb, session: AsyncSession, profile: Profile, bot: Bot, i18n: I18n
) -> None:
    try:
        held = await held_role(session, profile, callback_data.value)
    except InvitationError as refused:
        await query.answer(refusal(refused.code), show_alert=True)
        return
    name = await _role_name(session, held)
    with i18n.use_locale(held.language or i18n.default_locale):
        notice = _(
            "A coordinator has taken away your role: {role}. Your other roles and subscriptions stay as they were."
        ).format(role=await _role_name(session, held))
    await revoke_role(session, profile, callback_data.value)
    await session.commit()  # taken away before anyone is told so
    await _edit(
        query,
        _("Done: the role «{role}» has been taken away from Telegram id {id}.").format(
            role=name, id=held.telegram_id
        ),
    )
    with contextlib.suppress(TelegramAPIError):  # a person who blocked the bot is simply not told
        await bot.send_message(held.telegram_id, notice)


@router.message(Command("invite", "invites", "roles"))
async def not_coordinator(message: Message) -> None:
    await message.answer(_("This command is available to coordinators only."))


@router.callback_query(InviteCb.filter())
@router.callback_query(RoleCb.filter())
async def invite_refused(query: CallbackQuery) -> None:
    """Someone without the role, or a step that is over: refuse and change nothing."""
    await query.answer(_("This button is out of date or not available to you."), show_alert=True)
