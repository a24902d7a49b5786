"""The report summaries (services/report_summary.py) stay exact: after every kind of write — sign-up,
change of mind, wait list promotion, attendance and results, a walk-in, moving and cancelling an event,
/forget, removing a child, a municipality changing its time zone — the school-year overview read from the
summaries equals the one computed from the answers themselves, at every scope, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.demo import seed_directory
from models import (
    Event,
    EventKind,
    EventStatus,
    Learner,
    Municipality,
    ReportEventTally,
    ReportPupilCount,
    Role,
    Rsvp,
    RsvpStatus,
    TeacherClass,
    User,
    UserRole,
)
from services import attendance, events, privacy, profiles, report_summary, waitlist
from services.people import load_profile
from services.reports import (
    BANDS,
    HELD,
    Period,
    Scope,
    _facts,
    _facts_summarised,
    _summarised,
    event_report,
    month_of,
    overview,
    participant,
    resolve_scope,
)
from services.rsvp import answer
from tests.flows_reports import MSK, YEAR, build, compare_event, expected_event

BEFORE = datetime(2025, 10, 1, 9, tzinfo=UTC)  # when people answer
AFTER = datetime(2025, 10, 11, 9, tzinfo=UTC)  # when attendance is marked


def _normal(facts: Any) -> tuple[Any, ...]:
    """What the overview shows (zero rows of distinct counts are absent from the scan, present as 0 here)."""
    names = {name for name, _lo, _hi in BANDS}
    return (
        facts.totals,
        facts.cumulative,
        facts.by_month,
        {k: v for k, v in facts.by_band.items() if k in names and v},
        {k: v for k, v in facts.by_school.items() if v},
        {k: v for k, v in facts.by_grade.items() if v},
        facts.trials,
    )


async def _check(session: AsyncSession, scopes: list[Scope]) -> None:
    for scope in scopes:
        assert await _summarised(session, scope, YEAR), scope
        fast = await _facts_summarised(session, scope, YEAR)
        slow = await _facts(session, scope, YEAR)
        assert _normal(fast) == _normal(slow), scope.kind


async def _snapshot(session: AsyncSession) -> tuple[set[Any], set[Any]]:
    counts = await session.execute(select(ReportPupilCount).where(ReportPupilCount.learners != 0))
    tallies = await session.execute(select(ReportEventTally))
    return (
        {(c.unit, c.school_year, c.measure, c.learners) for c in counts.scalars()},
        {tuple(getattr(t, k) for k in report_summary._TALLY_COLUMNS) for t in tallies.scalars()},
    )


async def test_summaries_stay_exact_through_every_write(sessions):
    async with sessions.begin() as session:
        await seed_directory(session)
        ds = await build(session)
        coordinator = User(telegram_id=6001, language="ru")
        session.add(coordinator)
        await session.flush()
        session.add(
            UserRole(user_id=coordinator.id, role=Role.coordinator, municipality_id=ds.municipality_id)
        )
        teacher_school = min(ds.schools)
        for grade in (3, 9):
            session.add(TeacherClass(user_id=ds.teacher_user_id, school_id=teacher_school, grade=grade))
        await session.flush()
        scopes = [
            Scope("all", ""),
            await resolve_scope(session, coordinator.id),
            await resolve_scope(session, ds.teacher_user_id),
        ]
        assert scopes[2].grades == (3, 9)
        await _check(session, scopes)

        def event(kind: EventKind, when: datetime, capacity: int | None = None) -> Event:
            return Event(kind=kind, title=kind.value, starts_at=when, municipality_id=ds.municipality_id,
                         status=EventStatus.published, for_students=True, for_parents=True, capacity=capacity)  # fmt: skip

        fair = event(EventKind.fair, datetime(2025, 10, 10, 12, tzinfo=MSK), capacity=1)
        contest = event(EventKind.contest, datetime(2025, 10, 10, 15, tzinfo=MSK))
        trial = event(EventKind.profession_trial, datetime(2026, 5, 10, 12, tzinfo=MSK))
        session.add_all([fair, contest, trial])
        await session.flush()
        kostroma = [x for x in ds.learners if x.school_id in ds.schools]
        first, second = kostroma[0], next(x for x in kostroma if x.user_id != kostroma[0].user_id)

        async def profile(user_id: int) -> Any:
            user = await session.get(User, user_id)
            assert user is not None
            return await load_profile(session, user)

        p1, p2 = await profile(first.user_id), await profile(second.user_id)
        # Sign-up; a second one goes to the wait list; the first changes their mind; the second is offered
        # the seat and takes it.
        assert (
            await answer(session, p1, fair.id, RsvpStatus.going, BEFORE, first.id)
        ).status is RsvpStatus.going
        await _check(session, scopes)
        waiting = await answer(session, p2, fair.id, RsvpStatus.going, BEFORE, second.id)
        assert waiting.status is RsvpStatus.waitlisted
        await _check(session, scopes)
        assert (await answer(session, p1, fair.id, RsvpStatus.not_going, BEFORE, first.id)).freed
        offered = await waitlist.promote(session, fair, BEFORE)
        assert len(offered) == 1
        await _check(session, scopes)
        _row, outcome = await waitlist.respond_to_offer(session, p2, offered[0].id, True, BEFORE)
        assert outcome == "confirmed"
        await _check(session, scopes)
        # Attendance, a result, a no-show, a walk-in.
        await answer(session, p1, contest.id, RsvpStatus.going, BEFORE, first.id)
        await answer(session, p2, trial.id, RsvpStatus.going, BEFORE, second.id)
        await _check(session, scopes)
        boss = await session.get(User, coordinator.id)
        assert boss is not None
        await attendance.toggle_attended(session, boss, fair.id, offered[0].id, AFTER)
        _e, rows = await attendance.participants(session, boss, contest.id, AFTER)
        await attendance.cycle_result(session, boss, contest.id, rows[0].id, AFTER)
        await _check(session, scopes)
        await attendance.toggle_attended(session, boss, contest.id, rows[0].id, AFTER)  # a no-show after all
        await attendance.add_walk_in(session, boss, fair.id, 5, AFTER, ovz=True)
        await _check(session, scopes)
        # Moving the trial into the next school year takes it out of this one; cancelling an event, too.
        await events.change_event(
            session, boss, trial.id, BEFORE, starts_at=datetime(2026, 9, 15, 9, tzinfo=UTC)
        )
        await _check(session, scopes)
        held = next(
            e for e in ds.events if e.status == "published" and e.municipality_id == ds.municipality_id
        )
        await events.cancel_event(session, boss, held.id, BEFORE)
        await _check(session, scopes)
        # /forget cuts the pupil off their answers; removing a child does the same.
        await privacy.forget_user(session, first.user_id)
        await _check(session, scopes)
        user2 = await session.get(User, second.user_id)
        assert user2 is not None
        if await session.get(Learner, second.id) is not None and user2.id != first.user_id:
            await profiles.remove_learner(session, user2, second.id)
        await _check(session, scopes)
        # A municipality in another zone counts its school years by its own calendar.
        muni = await session.get(Municipality, ds.municipality_id)
        assert muni is not None
        muni.timezone = "Asia/Vladivostok"
        await session.flush()
        scopes[1] = await resolve_scope(session, coordinator.id)
        scopes[2] = await resolve_scope(session, ds.teacher_user_id)
        await _check(session, scopes)
        # What was kept up to date step by step is what a recount from scratch gives.
        kept = await _snapshot(session)
        await report_summary.rebuild(session)
        assert await _snapshot(session) == kept


async def test_other_periods_are_computed_from_the_answers(sessions):
    """A month is not a school year: it is answered by the scan (and agrees with its own ground truth in
    test_reports_numbers); the summaries are not consulted."""
    async with sessions.begin() as session:
        await seed_directory(session)
        await build(session)
        month = month_of(datetime(2025, 10, 1).date())
        assert not await _summarised(session, Scope("all", ""), month)
        assert await _summarised(session, Scope("all", ""), YEAR)
        moscow_year = await overview(session, Scope("all", ""), YEAR)
        assert moscow_year.totals.unique_pupils > 0


async def test_forget_leaves_past_reports_unchanged(sessions):
    """/forget keeps the pupil as an anonymous learner: the coordinator's overview for the school year
    (summaries), for any other period (the answers themselves) and an event's report give the same
    participations, unique pupils, coverage and ОВЗ counts before and after, and both paths still agree."""
    async with sessions.begin() as session:
        await seed_directory(session)
        ds = await build(session)
        coordinator = User(telegram_id=6001, language="ru")
        session.add(coordinator)
        await session.flush()
        session.add(
            UserRole(user_id=coordinator.id, role=Role.coordinator, municipality_id=ds.municipality_id)
        )
        await session.flush()
        scope = await resolve_scope(session, coordinator.id)
        scopes = [scope, Scope("all", "")]
        # The parent whose pupils count most in Kostroma this school year, one of them with ОВЗ.
        lo, hi = YEAR.bounds(scope.zone)
        counted = (
            select(Rsvp.user_id, Rsvp.event_id)
            .join(Event, Event.id == Rsvp.event_id)
            .where(participant(), Rsvp.ovz.is_(True), Rsvp.school_id.in_(ds.schools))
            .where(Event.status.in_(HELD), Event.starts_at >= lo, Event.starts_at < hi)
            .order_by(Rsvp.user_id)
        )
        user_id, event_id = (await session.execute(counted)).first() or (None, None)
        assert user_id is not None and event_id is not None
        autumn = Period(date(2025, 10, 1), date(2025, 12, 31))
        assert await _summarised(session, scope, YEAR) and not await _summarised(session, scope, autumn)

        async def numbers() -> list[Any]:
            found: list[Any] = [await event_report(session, scope, event_id, now=AFTER)]
            for s in scopes:
                found += [await overview(session, s, period, now=AFTER) for period in (YEAR, autumn)]
            return found

        before = await numbers()
        compare_event(before[0], expected_event(ds, event_id), ds)
        assert before[1].totals.unique_pupils and before[1].totals.ovz_pupils
        await privacy.forget_user(session, user_id)
        await privacy.forget_user(session, user_id)  # twice: nothing more happens
        assert await session.get(User, user_id) is None
        after = await numbers()
        assert after[1:] == before[1:]
        # The event's report: the same answers and marks; the user's messages are deleted with them, and
        # their marks, no longer linked to their children's answers, lose their grade.
        theirs = [n for n in ds.notifications if n.event_id == event_id and n.user_id == user_id]
        assert any(f.event_id == event_id and f.user_id == user_id for f in ds.feedback)
        ds.notifications = [n for n in ds.notifications if n.user_id != user_id]
        for f in ds.feedback:
            f.user_id = -1 if f.user_id == user_id else f.user_id
        compare_event(after[0], expected_event(ds, event_id), ds)
        assert (after[0].notified, after[0].delivered) == (
            before[0].notified - len(theirs),
            before[0].delivered - sum(n.status == "sent" for n in theirs),
        )
        for x in ("going", "maybe", "not_going", "waitlisted", "attended", "no_shows", "participants", "ovz"):
            assert getattr(after[0], x) == getattr(before[0], x)
        assert (after[0].feedback_student, after[0].feedback_parent) == (
            before[0].feedback_student,
            before[0].feedback_parent,
        )
        await _check(session, scopes)
