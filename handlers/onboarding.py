"""Sign-up with buttons only: consent, role, municipality, school, grade (and an optional ОВЗ mark).

Teachers and coordinators are not chosen here: those roles come only from invitation links
(`/start <code>`, see `handlers.invitations`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from html import escape
from typing import Any

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audience_callbacks import ProfileCb
from bot.callbacks import OnboardingCb
from bot.clock import Clock
from handlers.invitations import accept_invitation
from handlers.keyboards import page_note, paged_rows, rows
from models import Learner, Municipality, Role, School
from services import directory
from services.events import announce_upcoming
from services.people import Profile, give_consent, register

router = Router(name="onboarding")

ROLE_CODES = {1: Role.student, 2: Role.parent}


class Onboarding(StatesGroup):
    consent = State()
    role = State()
    municipality = State()
    school = State()
    grade = State()


def role_label(role: Role) -> str:
    return {
        Role.student: _("I am a pupil"),
        Role.parent: _("I am a parent"),
        Role.teacher: _("I am a teacher"),
        Role.coordinator: _("Coordinator"),
    }[role]


async def _step_view(
    step: State, session: AsyncSession, data: dict[str, Any], page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The question and buttons of a step, from what has been chosen so far (long lists: one `page`)."""
    if step == Onboarding.consent:
        return _(
            "Hello! I tell pupils, parents and teachers about career-guidance events: open days, "
            "profession trials, excursions, «Каникулы с пользой» and more.\n\n"
            "To pick events for you I need to keep your role, your school (or your child's) and the grade. "
            "No names are stored. You can see what is kept with /privacy and delete it with /forget.\n\n"
            "Do you agree to the processing of these data?"
        ), rows(
            [
                (_("✅ I agree"), OnboardingCb(step="consent", value=1).pack()),
                (_("I do not agree"), OnboardingCb(step="consent", value=0).pack()),
            ]
        )
    if step == Onboarding.role:
        return _("Who are you?"), rows(
            [
                (role_label(role), OnboardingCb(step="role", value=code).pack())
                for code, role in ROLE_CODES.items()
            ]
        )
    if step == Onboarding.municipality:
        items = await directory.municipalities(session)
        markup, page, pages = paged_rows(
            [(m.name, OnboardingCb(step="municipality", value=m.id).pack()) for m in items],
            page,
            lambda p: OnboardingCb(step="municipality_page", value=p).pack(),
        )
        return "\n".join(filter(None, [_("Choose your municipality:"), page_note(page, pages)])), markup
    if step == Onboarding.school:
        schools = await directory.schools_of(session, int(data["municipality_id"]))
        question = (
            _("Which school does your child attend?")
            if data.get("role") == Role.parent
            else _("Choose your school:")
        )
        markup, page, pages = paged_rows(
            [(s.name, OnboardingCb(step="school", value=s.id).pack()) for s in schools],
            page,
            lambda p: OnboardingCb(step="school_page", value=p).pack(),
        )
        return "\n".join(filter(None, [question, page_note(page, pages)])), markup
    question = (
        _("Which grade is your child in?")
        if data.get("role") == Role.parent
        else _("Which grade are you in?")
    )
    return question, rows(
        [(str(g), OnboardingCb(step="grade", value=g).pack()) for g in range(1, 12)], width=4
    )


async def _show(
    target: Message | CallbackQuery, state: FSMContext, session: AsyncSession, step: State, page: int = 0
) -> None:
    await state.set_state(step)
    text, keyboard = await _step_view(step, session, await state.get_data(), page)
    if isinstance(target, CallbackQuery) and isinstance(target.message, Message):
        await target.message.edit_text(text, reply_markup=keyboard)
        await target.answer()
    else:
        message = target if isinstance(target, Message) else None
        if message is not None:
            await message.answer(text, reply_markup=keyboard)


def summary(profile: Profile, schools: dict[int, School]) -> str:
    lines = []
    for learner in profile.learners:
        school = schools.get(learner.school_id)
        name = escape(school.name) if school else "?"
        if learner.is_self:
            lines.append(_("• pupil of grade {grade}, {school}").format(grade=learner.grade, school=name))
        else:
            lines.append(_("• child in grade {grade}, {school}").format(grade=learner.grade, school=name))
    if profile.has(Role.teacher):
        lines.append(_("• teacher"))
    if profile.has(Role.coordinator):
        lines.append(_("• coordinator"))
    return "\n".join(lines)


@router.message(CommandStart())
async def start(
    message: Message, command: CommandObject, state: FSMContext, session: AsyncSession, profile: Profile
) -> None:
    code = (command.args or "").strip()[:64]
    if code:
        # An invitation link: consent first (a role is personal data), then the role.
        await state.clear()
        if profile.user.consent_at is None:
            await state.update_data(invite_code=code)
            await _show(message, state, session, Onboarding.consent)
        else:
            await accept_invitation(message, session, profile.user, code, edit=False)
        return
    if profile.is_registered or profile.has(Role.coordinator):
        await state.clear()
        schools = {lr.school_id: await session.get(School, lr.school_id) for lr in profile.learners}
        await message.answer(
            _(
                "Welcome back! You are subscribed as:\n{summary}\n\nNew events will come here. Commands: /help"
            ).format(summary=summary(profile, {k: v for k, v in schools.items() if v}))
        )
        return
    await state.clear()
    await _show(message, state, session, Onboarding.role if profile.user.consent_at else Onboarding.consent)


@router.callback_query(Onboarding.consent, OnboardingCb.filter(F.step == "consent"))
async def consent(
    query: CallbackQuery,
    callback_data: OnboardingCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    i18n: I18n,
) -> None:
    if callback_data.value != 1:
        await state.clear()
        if isinstance(query.message, Message):
            await query.message.edit_text(
                _(
                    "Understood, nothing has been saved. Without consent I cannot send you events. "
                    "If you change your mind, send /start."
                )
            )
        await query.answer()
        return
    give_consent(profile.user, i18n.current_locale)
    code = (await state.get_data()).get("invite_code")
    if code and isinstance(query.message, Message):
        await state.clear()
        await accept_invitation(query.message, session, profile.user, str(code), edit=True)
        await query.answer()
        return
    await _show(query, state, session, Onboarding.role)


@router.callback_query(Onboarding.role, OnboardingCb.filter(F.step == "role"))
async def choose_role(
    query: CallbackQuery, callback_data: OnboardingCb, state: FSMContext, session: AsyncSession
) -> None:
    role = ROLE_CODES.get(callback_data.value)
    if role is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(role=role.value)
    municipalities = await directory.municipalities(session)
    if len(municipalities) == 1:
        await state.update_data(municipality_id=municipalities[0].id)
        await _show(query, state, session, Onboarding.school)
    else:
        await _show(query, state, session, Onboarding.municipality)


@router.callback_query(Onboarding.municipality, OnboardingCb.filter(F.step == "municipality_page"))
async def municipality_page(
    query: CallbackQuery, callback_data: OnboardingCb, state: FSMContext, session: AsyncSession
) -> None:
    await _show(query, state, session, Onboarding.municipality, callback_data.value)


@router.callback_query(Onboarding.school, OnboardingCb.filter(F.step == "school_page"))
async def school_page(
    query: CallbackQuery, callback_data: OnboardingCb, state: FSMContext, session: AsyncSession
) -> None:
    await _show(query, state, session, Onboarding.school, callback_data.value)


@router.callback_query(Onboarding.municipality, OnboardingCb.filter(F.step == "municipality"))
async def choose_municipality(
    query: CallbackQuery, callback_data: OnboardingCb, state: FSMContext, session: AsyncSession
) -> None:
    if await session.get(Municipality, callback_data.value) is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(municipality_id=callback_data.value)
    await _show(query, state, session, Onboarding.school)


@router.callback_query(Onboarding.school, OnboardingCb.filter(F.step == "school"))
async def choose_school(
    query: CallbackQuery,
    callback_data: OnboardingCb,
    state: FSMContext,
    session: AsyncSession,
) -> None:
    data = await state.get_data()
    school = await directory.school_in(session, callback_data.value, int(data.get("municipality_id", 0)))
    if school is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await state.update_data(school_id=school.id)
    await _show(query, state, session, Onboarding.grade)


@router.callback_query(Onboarding.grade, OnboardingCb.filter(F.step == "grade"))
async def choose_grade(
    query: CallbackQuery,
    callback_data: OnboardingCb,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    outbox_wakeup: Callable[[], Awaitable[None]],
    clock: Clock,
) -> None:
    data = await state.get_data()
    school = await directory.school_in(
        session, int(data.get("school_id", 0)), int(data.get("municipality_id", 0))
    )
    if not 1 <= callback_data.value <= 11 or school is None:
        await query.answer(_("This button is not valid. Please choose again."), show_alert=True)
        return
    await _finish(query, state, session, profile, school, callback_data.value, outbox_wakeup, clock.now())


async def _finish(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    profile: Profile,
    school: School,
    grade: int | None,
    outbox_wakeup: Callable[[], Awaitable[None]],
    now: datetime,
) -> None:
    role = Role((await state.get_data())["role"])
    await register(session, profile.user, role, school, grade)
    child = next((lr for lr in reversed(await profile_learners(session, profile)) if not lr.is_self), None)
    upcoming = await announce_upcoming(session, profile.user, now)
    await state.clear()
    await session.commit()
    if upcoming:
        await outbox_wakeup()
    if role is Role.parent:
        text = _("Done! You will receive events for your child: grade {grade}, {school}.").format(
            grade=grade, school=escape(school.name)
        )
    else:
        text = _("Done! You will receive events for grade {grade}, {school}.").format(
            grade=grade, school=escape(school.name)
        )
    if isinstance(query.message, Message):
        more = (
            _("Upcoming events for you: {n}. I am sending them now.").format(n=upcoming)
            if upcoming
            else _("New events will come here.")
        )
        markup = None
        if role is Role.parent and child is not None:
            markup = rows(
                [
                    (
                        _("ОВЗ: tell about special needs (optional)"),
                        ProfileCb(action="ovz_ask", learner=child.id).pack(),
                    ),
                    (_("➕ Add another child"), ProfileCb(action="add").pack()),
                ]
            )
        await query.message.edit_text(
            text + "\n\n" + more + "\n" + _("Your profile: /profile · settings: /settings · commands: /help"),
            reply_markup=markup,
        )
    await query.answer()


async def profile_learners(session: AsyncSession, profile: Profile) -> list[Learner]:
    query = select(Learner).where(Learner.user_id == profile.user.id).order_by(Learner.id)
    return list((await session.scalars(query)).all())


@router.callback_query(OnboardingCb.filter())
async def stale_step(query: CallbackQuery) -> None:
    """A button of a step that is over (or forged): say so, change nothing."""
    await query.answer(_("This button is out of date. Send /start to begin again."), show_alert=True)


@router.message(Onboarding.consent, ~F.text.startswith("/"))
@router.message(Onboarding.role, ~F.text.startswith("/"))
@router.message(Onboarding.municipality, ~F.text.startswith("/"))
@router.message(Onboarding.school, ~F.text.startswith("/"))
@router.message(Onboarding.grade, ~F.text.startswith("/"))
async def text_instead_of_button(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """Typed text where a button is expected: ask again with the buttons, keep what was chosen."""
    step_name = await state.get_state()
    step = next(s for s in Onboarding.__states__ if s.state == step_name)
    text, keyboard = await _step_view(step, session, await state.get_data())
    await message.answer(_("Please choose one of the buttons.") + "\n\n" + text, reply_markup=keyboard)
