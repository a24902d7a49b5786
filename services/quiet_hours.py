"""Quiet hours and the weekly digest: which outbox rows must wait, and until when.

A user's night is `quiet_start`..`quiet_end` (minutes after local midnight; default 21:00–08:00) in the time
zone of their pupils' (or their role's) municipality, else the deployment's. Announcements to users who
chose the weekly digest wait for the digest instead of going out one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from models import Event, Learner, Municipality, Outbox, OutboxStatus, Priority, School, User, UserRole
from services.delivery import HoldPolicy
from services.outbox import REPLY, enqueue

DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = time(10, 0)
DIGEST_KINDS = frozenset({"announcement"})


def in_quiet(local: datetime, start: int, end: int) -> bool:
    minute = local.hour * 60 + local.minute
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def quiet_until(local: datetime, end: int) -> datetime:
    """The next local moment `end` minutes after midnight (the morning), as an aware datetime."""
    candidate = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(
            hour=end // 60, minute=end % 60, second=0, microsecond=0
        )
    return candidate


def digest_moment(local: datetime) -> datetime:
    """This week's digest moment (Monday 10:00 local) — may be in the past."""
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime.combine(monday, DIGEST_TIME, tzinfo=local.tzinfo)


async def user_zones(session: AsyncSession, user_ids: set[int], default: ZoneInfo) -> dict[int, ZoneInfo]:
    """The municipality's zone of each user's first pupil, else of their role, else the default."""
    zones: dict[int, ZoneInfo] = {}
    via_learners = (
        await session.execute(
            select(Learner.user_id, Municipality.timezone)
            .join(School, School.id == Learner.school_id)
            .join(Municipality, Municipality.id == School.municipality_id)
            .where(Learner.user_id.in_(user_ids))
            .order_by(Learner.id)
        )
    ).all()
    via_roles = (
        await session.execute(
            select(UserRole.user_id, Municipality.timezone)
            .join(Municipality, Municipality.id == UserRole.municipality_id)
            .where(UserRole.user_id.in_(user_ids))
            .order_by(UserRole.id)
        )
    ).all()
    for user_id, zone in [*via_learners, *via_roles]:
        if user_id is not None and user_id not in zones:  # never None: selected by user
            try:
                zones[user_id] = ZoneInfo(zone)
            except (KeyError, ValueError):
                continue
    return {user_id: zones.get(user_id, default) for user_id in user_ids}


async def release_held(session: AsyncSession, user_id: int) -> int:
    """After the user changed their quiet hours or digest choice: what waits for them is due again now.

    The hold policy decides afresh at the next delivery: rows held for the morning or for Monday's digest
    go at once if the new preferences allow, or are held again. Returns how many rows were released.
    """
    now = datetime.now(UTC)
    result = await session.execute(
        update(Outbox)
        .where(Outbox.user_id == user_id, Outbox.status == OutboxStatus.pending, Outbox.not_before > now)
        .values(not_before=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def quiet_hours_policy(clock: Clock, default_zone: ZoneInfo) -> HoldPolicy:
    """Defers rows to users in their night until their morning, and weekly-digest announcements to the digest.

    Replies (rows flagged `REPLY`: the user is waiting for them) are never held.

    `until` is in real time (the delivery engine's), so it is now + how long the clock says to wait.
    """

    async def hold(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, datetime]:
        user_ids = {r.user_id for r in rows if r.user_id is not None}
        if not user_ids:
            return {}
        users = {u.id: u for u in (await session.scalars(select(User).where(User.id.in_(user_ids)))).all()}
        zones = await user_zones(session, user_ids, default_zone)
        now = clock.now()
        real_now = datetime.now(UTC)
        held: dict[int, datetime] = {}
        for row in rows:
            user = users.get(row.user_id or 0)
            if user is None or (row.payload or {}).get(REPLY):
                continue
            local = now.astimezone(zones[user.id])
            target: datetime | None = None
            if user.digest == "weekly" and row.kind in DIGEST_KINDS:
                moment = digest_moment(local)
                if moment <= local:
                    moment += timedelta(days=7)
                target = moment + timedelta(hours=1)  # the digest job collects it before then
            elif in_quiet(local, user.quiet_start, user.quiet_end):
                target = quiet_until(local, user.quiet_end)
            if target is not None:
                held[row.id] = real_now + (target - local)
        return held

    return hold


async def queue_digests(session: AsyncSession, now: datetime, default_zone: ZoneInfo) -> int:
    """Once a week per user, from Monday 10:00 local: one message for the announcements held for them.

    This week's digest covers the events published before this week's digest moment; what is published
    after it (midweek) waits for next Monday's. A late run (after downtime) sends the week's digest late,
    once. Replies are never collected (they are never held). The announcements it covers are settled as
    sent (through the digest), so none goes out twice.
    """
    pending = (
        await session.execute(
            select(
                Outbox.id, Outbox.user_id, Outbox.event_id, Outbox.chat_id, Outbox.payload, Event.published_at
            )
            .join(User, User.id == Outbox.user_id)
            .outerjoin(Event, Event.id == Outbox.event_id)
            .where(
                Outbox.status == OutboxStatus.pending,
                Outbox.kind.in_(DIGEST_KINDS),
                User.digest == "weekly",
                User.is_active.is_(True),
            )
            .order_by(Outbox.id)
        )
    ).all()
    if not pending:
        return 0
    by_user: dict[int, list[tuple[int, int | None, int, datetime | None]]] = {}
    for row_id, user_id, event_id, chat_id, payload, published_at in pending:
        if user_id is not None and not (payload or {}).get(REPLY):
            by_user.setdefault(user_id, []).append((row_id, event_id, chat_id, published_at))
    zones = await user_zones(session, set(by_user), default_zone)
    queued = 0
    for user_id, all_items in by_user.items():
        local = now.astimezone(zones[user_id])
        moment = digest_moment(local)
        if local < moment:
            continue  # Monday before 10:00: last week's digest went out; this week's is not due yet
        items = [item for item in all_items if item[3] is None or item[3] < moment]
        if not items:
            continue  # published since this week's digest moment: they wait for next Monday's
        year, week, _ = local.isocalendar()
        key = f"digest:{user_id}:{year}-W{week:02d}"
        created = await enqueue(
            session,
            key=key,
            chat_id=items[0][2],
            user_id=user_id,
            kind="digest",
            payload={"events": []},
            priority=Priority.announcement,
        )
        if not created:
            continue  # this week's digest went out already; these wait for the next one
        # Only what is still pending is taken (the sender may have just claimed a row to hold it): the
        # digest names exactly the announcements it settles, so none is announced again next week.
        taken = (
            await session.execute(
                update(Outbox)
                .where(Outbox.id.in_([item[0] for item in items]), Outbox.status == OutboxStatus.pending)
                .values(status=OutboxStatus.sent, sent_at=datetime.now(UTC), last_error="in weekly digest")
                .returning(Outbox.event_id)
                .execution_options(synchronize_session=False)
            )
        ).scalars()
        events = sorted({event_id for event_id in taken if event_id is not None})
        if not events:
            await session.execute(delete(Outbox).where(Outbox.key == key))
            continue
        await session.execute(
            update(Outbox)
            .where(Outbox.key == key)
            .values(payload={"events": events})
            .execution_options(synchronize_session=False)
        )
        queued += 1
    return queued
