"""/profile: see what the bot knows; add, change or remove a child; the optional ОВЗ mark; a pupil's
own school and grade; a teacher's classes. Buttons only."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audience_callbacks import ProfileCb
from bot.clock import Clock
from bot.filters import HasRole
from handlers.invitations import class_keyboard
from handlers.keyboards import page_note, paged_rows, rows
from models import Learner, Municipality, Role, School, User, UserRole
from services import directory
from services.events import announce_upcoming
from services.profiles import (
    ProfileError,
    add_child,
    change_learner,
    own_learner,
    remove_learner,
    set_ovz,
    teacher_grades,
    teacher_school,
    toggle_teacher_class,
)

router = Router(name="profile")


class ProfileDialog(StatesGroup):
    municipality = State()
    school = State()
    grade = State()


async def _learners(session: AsyncSession, user: User) -> list[Learner]:
    query = select(Learner).where(Learner.user_id == user.id).order_by(Learner.id)
    return list((await session.scalars(query)).all())


async def _school_name(session: AsyncSession, school_id: int | None) -> str:
    school = await session.get(School, school_id) if school_id else None
    return html.escape(school.name) if school else "?"


def _child_line(number: int, learner: Learner, school: str) -> str:
    line = _("Child {n}: grade {grade}, {school}").format(n=number, grade=learner.grade, school=school)
    return line + (" · " + _("ОВЗ") if learner.ovz else "")


async def profile_view(session: AsyncSession, user: User) -> tuple[str, InlineKeyboardMarkup]:
    """The profile screen: one line per thing kept, one button per thing that can be changed."""
    learners = await _learners(session, user)
    roles = (await session.scalars(select(UserRole).where(UserRole.user_id == user.id))).all()
    lines = [_("<b>Your profile</b>")]
    buttons: list[tuple[str, str]] = []
    number = 0
    for learner in learners:
        school = await _school_name(session, learner.school_id)
        if learner.is_self:
            lines.append(_("Pupil: grade {grade}, {school}").format(grade=learner.grade, school=school))
            buttons.append(
                (_("✏️ Change my school and grade"), ProfileCb(action="edit", learner=learner.id).pack())
            )
        else:
            number += 1
            lines.append(_child_line(number, learner, school))
            buttons.append(
                (_("✏️ Child {n}").format(n=number), ProfileCb(action="child", learner=learner.id).pack())
            )
    for role in roles:
        if role.role is Role.teacher:
            grades = await teacher_grades(session, user)
            lines.append(
                _("Teacher: {school}; classes: {grades}").format(
                    school=await _school_name(session, role.school_id),
                    grades=", ".join(map(str, grades)) or "—",
                )
            )
            buttons.append((_("🏫 My classes"), ProfileCb(action="classes").pack()))
        elif role.role is Role.coordinator:
            muni = await session.get(Municipality, role.municipality_id) if role.municipality_id else None
            lines.append(
                _("Coordinator: {municipality}").format(
                    municipality=html.escape(muni.name) if muni else _("all municipalities")
                )
            )
    if not learners:
        lines.append(_("No children added yet."))
    buttons.append((_("➕ Add a child"), ProfileCb(action="add").pack()))
    lines += ["", _("Preferences: /settings · your data: /privacy")]
    return "\n".join(lines), rows(buttons)


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.message(Command("profile"))
async def show_profile(message: Message, session: AsyncSession, user: User, state: FSMContext) -> None:
    if user.consent_at is None:
        await message.answer(
            _("You have not signed up yet. Send /start and answer a few questions with the buttons.")
        )
        return
    await state.clear()
    text, markup = await profile_view(session, user)
    await message.answer(text, reply_markup=markup)


async def _own_or_refuse(
    query: CallbackQuery, session: AsyncSession, user: User, learner_id: int
) -> Learner | None:
    """The user's own child (or self) named by a button; anything else is a stale or forged button."""
    try:
        return await own_learner(session, user, learner_id)
    except ProfileError:
        await query.answer(_("This button is out of date."), show_alert=True)
        return None


@router.callback_query(ProfileCb.filter(F.action == "show"))
async def back_to_profile(query: CallbackQuery, session: AsyncSession, user: User, state: FSMContext) -> None:
    await state.clear()
    text, markup = await profile_view(session, user)
    await _edit(query, text, markup)


@router.callback_query(ProfileCb.filter(F.action == "child"))
async def child_menu(
    query: CallbackQuery, callback_data: ProfileCb, session: AsyncSession, user: User
) -> None:
    learner = await _own_or_refuse(query, session, user, callback_data.learner)
    if learner is None:
        return
    school = await _school_name(session, learner.school_id)
    text = _("Child: grade {grade}, {school}").format(grade=learner.grade, school=school)
    text += "\n" + (_("ОВЗ mark: yes") if learner.ovz else _("ОВЗ mark: not given"))
    await _edit(
        query,
        text,
        rows(
            [
                (_("✏️ Change school and grade"), ProfileCb(action="edit", learner=learner.id).pack()),
                (_("ОВЗ (special needs)"), ProfileCb(action="ovz_ask", learner=learner.id).pack()),
                (_("🗑 Remove this child"), ProfileCb(action="remove_ask", learner=learner.id).pack()),
                (_("« Back"), ProfileCb(action="show").pack()),
            ]
        ),
    )


@router.callback_query(ProfileCb.filter(F.action == "ovz_ask"))
async def ovz_ask(query: CallbackQuery, callback_data: ProfileCb, session: AsyncSession, user: User) -> None:
    learner = await _own_or_refuse(query, session, user, callback_data.learner)
    if learner is None:
        return
    await _edit(
        query,
        _(
            "«ОВЗ» means special educational needs (ограниченные возможности здоровья), as confirmed by the "
            "ПМПК, or a disability.\n\n"
            "This answer is optional. If you give it, I keep only a yes/no mark for this child and use it "
            "for two things: anonymous counts the education department must report, and telling you about "
            "events marked as suitable for children with ОВЗ. You can remove the mark at any time here or "
            "with /forget.\n\nDoes your child have ОВЗ, and do you agree that I store this mark?"
        ),
        rows(
            [
                (
                    _("Yes, and I agree to store it"),
                    ProfileCb(action="ovz_set", learner=learner.id, value=1).pack(),
                ),
                (
                    _("No, or I prefer not to say"),
                    ProfileCb(action="ovz_set", learner=learner.id, value=0).pack(),
                ),
            ]
        ),
    )


@router.callback_query(ProfileCb.filter(F.action == "ovz_set"))
async def ovz_set(query: CallbackQuery, callback_data: ProfileCb, session: AsyncSession, user: User) -> None:
    try:
        await set_ovz(session, user, callback_data.learner, callback_data.value == 1)
    except ProfileError:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await session.commit()  # saved before the person is told so
    text, markup = await profile_view(session, user)
    saved = (
        _("Saved: the ОВЗ mark is kept.") if callback_data.value == 1 else _("Saved: no ОВЗ mark is kept.")
    )
    await _edit(query, saved + "\n\n" + text, markup)


@router.callback_query(ProfileCb.filter(F.action == "remove_ask"))
async def remove_ask(
    query: CallbackQuery, callback_data: ProfileCb, session: AsyncSession, user: User
) -> None:
    learner = await _own_or_refuse(query, session, user, callback_data.learner)
    if learner is None:
        return
    school = await _school_name(session, learner.school_id)
    await _edit(
        query,
        _("Remove the child in grade {grade}, {school}? Events for this child will stop.").format(
            grade=learner.grade, school=school
        ),
        rows(
            [
                (_("Yes, remove"), ProfileCb(action="remove", learner=learner.id).pack()),
                (_("No, keep"), ProfileCb(action="show").pack()),
            ]
        ),
    )


@router.callback_query(ProfileCb.filter(F.action == "remove"))
async def remove(query: CallbackQuery, callback_data: ProfileCb, session: AsyncSession, user: User) -> None:
    try:
        await remove_learner(session, user, callback_data.learner)
    except ProfileError:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await session.commit()
    text, markup = await profile_view(session, user)
    await _edit(query, _("Removed.") + "\n\n" + text, markup)


# Add or change a learner: municipality → school → grade ------------------------------------------


async def _ask_school(target: CallbackQuery, state: FSMContext, session: AsyncSession, page: int = 0) -> None:
    """The municipality (when there are several) and then the school; long lists a page at a time."""
    data = await state.get_data()
    if "municipality_id" not in data:
        items = await directory.municipalities(session)
        if len(items) == 1:
            await state.update_data(municipality_id=items[0].id)
            data["municipality_id"] = items[0].id
        else:
            await state.set_state(ProfileDialog.municipality)
            markup, page, pages = paged_rows(
                [(m.name, ProfileCb(action="muni", value=m.id).pack()) for m in items],
                page,
                lambda p: ProfileCb(action="muni_page", value=p).pack(),
            )
            await _edit(
                target,
                "\n".join(filter(None, [_("Choose the municipality:"), page_note(page, pages)])),
                markup,
            )
            return
    await state.set_state(ProfileDialog.school)
    schools = await directory.schools_of(session, int(data["municipality_id"]))
    markup, page, pages = paged_rows(
        [(s.name, ProfileCb(action="school", value=s.id).pack()) for s in schools],
        page,
        lambda p: ProfileCb(action="school_page", value=p).pack(),
    )
    await _edit(target, "\n".join(filter(None, [_("Choose the school:"), page_note(page, pages)])), markup)


@router.callback_query(ProfileDialog.municipality, ProfileCb.filter(F.action == "muni_page"))
@router.callback_query(ProfileDialog.school, ProfileCb.filter(F.action == "school_page"))
async def pick_page(
    query: CallbackQuery, callback_data: ProfileCb, state: FSMContext, session: AsyncSession
) -> None:
    await _ask_school(query, state, session, callback_data.value)


@router.callback_query(ProfileCb.filter(F.action.in_({"add", "edit"})))
async def start_pick(
    query: CallbackQuery, callback_data: ProfileCb, state: FSMContext, session: AsyncSession, user: User
) -> None:
    if user.consent_at is None:
        await query.answer(_("Please send /start first."), show_alert=True)
        return
    if callback_data.action == "edit":
        try:
            await own_learner(session, user, callback_data.learner)
        except ProfileError:
            await query.answer(_("This button is out of date."), show_alert=True)
            return
    await state.clear()
    await state.update_data(mode=callback_data.action, learner=callback_data.learner)
    await _ask_school(query, state, session)


@router.callback_query(ProfileDialog.municipality, ProfileCb.filter(F.action == "muni"))
async def pick_muni(
    query: CallbackQuery, callback_data: ProfileCb, state: FSMContext, session: AsyncSession
) -> None:
    if await session.get(Municipality, callback_data.value) is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(municipality_id=callback_data.value)
    await _ask_school(query, state, session)


@router.callback_query(ProfileDialog.school, ProfileCb.filter(F.action == "school"))
async def pick_school(
    query: CallbackQuery, callback_data: ProfileCb, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    school = await directory.school_in(session, callback_data.value, int(data.get("municipality_id", 0)))
    if school is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(school_id=school.id)
    await state.set_state(ProfileDialog.grade)
    await _edit(
        query,
        _("Which grade?"),
        rows([(str(g), ProfileCb(action="grade", value=g).pack()) for g in range(1, 12)], width=4),
    )


@router.callback_query(ProfileDialog.grade, ProfileCb.filter(F.action == "grade"))
async def pick_grade(
    query: CallbackQuery,
    callback_data: ProfileCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    outbox_wakeup: Callable[[], Awaitable[None]],
    clock: Clock,
) -> None:
    data = await state.get_data()
    school = await directory.school_in(
        session, int(data.get("school_id", 0)), int(data.get("municipality_id", 0))
    )
    if school is None or not 1 <= callback_data.value <= 11:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    try:
        if data.get("mode") == "edit":
            await change_learner(session, user, int(data.get("learner", 0)), school, callback_data.value)
            done = _("Saved: grade {grade}, {school}.")
        else:
            await add_child(session, user, school, callback_data.value)
            done = _("Child added: grade {grade}, {school}.")
    except ProfileError as error:
        await state.clear()
        message = (
            _("You cannot add more than 10 children.")
            if error.code == "too_many"
            else _("This button is out of date.")
        )
        await query.answer(message, show_alert=True)
        return
    # Upcoming events meant for the new (or moved) child that this parent has not heard of yet.
    upcoming = await announce_upcoming(session, user, clock.now())
    await state.clear()
    await session.commit()
    if upcoming:
        await outbox_wakeup()
    done = done.format(grade=callback_data.value, school=html.escape(school.name))
    if upcoming:
        done += "\n" + _("Upcoming events for this child: {n}. I am sending them now.").format(n=upcoming)
    text, markup = await profile_view(session, user)
    await _edit(query, done + "\n\n" + text, markup)


# A teacher's classes ------------------------------------------------------------------------------


@router.callback_query(ProfileCb.filter(F.action == "classes"), HasRole(Role.teacher))
async def classes(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    school = await teacher_school(session, user)
    await _edit(
        query,
        _("Classes you lead at {school}: tap the grades, then «Done».").format(
            school=html.escape(school.name if school else "?")
        ),
        class_keyboard(await teacher_grades(session, user)),
    )


@router.callback_query(ProfileCb.filter(F.action == "class"), HasRole(Role.teacher))
async def toggle_class(
    query: CallbackQuery, callback_data: ProfileCb, session: AsyncSession, user: User
) -> None:
    try:
        grades = await toggle_teacher_class(session, user, callback_data.value)
    except ProfileError:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await session.commit()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=class_keyboard(grades))
    await query.answer()


@router.callback_query(ProfileCb.filter(F.action == "classes_done"), HasRole(Role.teacher))
async def classes_done(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    grades = await teacher_grades(session, user)
    await _edit(
        query,
        _("Saved. Your classes: {grades}.").format(grades=", ".join(map(str, grades)) or "—")
        + "\n"
        + _("Your profile: /profile · commands: /help"),
    )


@router.callback_query(ProfileCb.filter())
async def profile_refused(query: CallbackQuery) -> None:
    """A step that is over, or a teacher button pressed by someone who is not a teacher."""
    await query.answer(_("This button is out of date or not available to you."), show_alert=True)


@router.message(ProfileDialog.municipality, ~F.text.startswith("/"))
@router.message(ProfileDialog.school, ~F.text.startswith("/"))
@router.message(ProfileDialog.grade, ~F.text.startswith("/"))
async def text_instead_of_button(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons above, or send /cancel."))
