"""152-ФЗ: what is kept about a person, and deleting it on request.

`/forget` deletes the `users` row itself and everything personal hanging from it. Participation stays
only as anonymous aggregates: RSVPs and feedback already carry copies of school, grade and ОВЗ, so
their links to the person are cut (set to NULL) rather than the rows deleted. A pupil who answered
events stays as an *anonymous learner* (a school, a grade, the ОВЗ mark; `user_id` NULL): the answers
keep pointing at it, so past reports count the same participations and unique pupils after /forget.
Their sign-ups to events that have not started are withdrawn and the seats offered to the wait list.
The audit of role changes keeps the fact that a role was granted, without saying to whom.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Broadcast,
    Event,
    Feedback,
    FsmRecord,
    Invitation,
    Learner,
    Outbox,
    RoleChange,
    Rsvp,
    TeacherClass,
    User,
    UserRole,
)
from services.leaving import let_pupils_go, withdraw_future_answers


async def forget_user(session: AsyncSession, user_id: int) -> None:
    """Remove the user's personal data from every table; safe to call twice."""
    user = await session.get(User, user_id)
    if user is None:
        return
    telegram_id = user.telegram_id
    # Seats they will never be reminded of go to the wait list; pupils who answered stay, nobody's, so
    # reports count them as before (services.leaving); the other learners go below.
    await withdraw_future_answers(session, Rsvp.user_id == user_id)
    pupils = (await session.scalars(select(Learner.id).where(Learner.user_id == user_id))).all()
    await let_pupils_go(session, pupils)
    await session.execute(
        update(Rsvp)
        .where(Rsvp.user_id == user_id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Feedback)
        .where(Feedback.user_id == user_id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
    for model, column in (
        (Invitation, Invitation.created_by),
        (Event, Event.created_by),
        (Broadcast, Broadcast.author_id),
    ):
        await session.execute(
            update(model)
            .where(column == user_id)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(RoleChange)
        .where(RoleChange.user_id == user_id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(RoleChange)
        .where(RoleChange.actor_id == user_id)
        .values(actor_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(UserRole)
        .where(UserRole.granted_by == user_id)
        .values(granted_by=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(Outbox).where(or_(Outbox.user_id == user_id, Outbox.chat_id == telegram_id)))
    await session.execute(delete(TeacherClass).where(TeacherClass.user_id == user_id))
    await session.execute(delete(Learner).where(Learner.user_id == user_id))
    await session.execute(delete(UserRole).where(UserRole.user_id == user_id))
    # aiogram's key: fsm:<bot>:<chat>:<user>:<destiny>; in a private chat chat == user.
    await session.execute(delete(FsmRecord).where(FsmRecord.key.like(f"%:{telegram_id}:{telegram_id}:%")))
    await session.execute(delete(User).where(User.id == user_id).execution_options(synchronize_session=False))
    session.expunge(user)
    await session.flush()
