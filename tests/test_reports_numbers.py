"""The report numbers against ground truth computed independently from a generated data set, on SQLite
and (with TEST_DATABASE_URL) PostgreSQL; plus hand-made edge cases and the authorization of scopes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo import seed_directory
from models import (
    Event,
    EventKind,
    EventStatus,
    Learner,
    Municipality,
    PupilCount,
    Role,
    Rsvp,
    RsvpStatus,
    School,
    User,
    UserRole,
)
from services.reports import (
    NotAllowed,
    Period,
    event_report,
    events_table,
    month_of,
    overview,
    parse_period,
    participant_list,
    quarter_of,
    resolve_scope,
    school_year_of,
)
from tests.flows_reports import (
    MSK,
    YEAR,
    Dataset,
    build,
    compare_event,
    expected,
    expected_event,
    is_participant,
)


async def _dataset(sessions: async_sessionmaker[AsyncSession]) -> Dataset:
    async with sessions.begin() as session:
        await seed_directory(session)
        return await build(session)


async def _coordinator(session: AsyncSession, municipality_id: int | None, tg: int = 6001) -> int:
    user = User(telegram_id=tg, language="ru")
    session.add(user)
    await session.flush()
    session.add(UserRole(user_id=user.id, role=Role.coordinator, municipality_id=municipality_id))
    await session.flush()
    return user.id


def _compare(o, exp) -> None:
    assert dict(o.events_by_kind) == exp.events_by_kind
    assert dict(o.events_by_level) == exp.events_by_level
    t = o.totals
    assert (t.signups, t.waitlisted, t.attended, t.no_shows) == (
        exp.signups,
        exp.waitlisted,
        exp.attended,
        exp.no_shows,
    )
    assert t.participations == exp.participations
    assert t.unique_pupils == exp.unique
    assert t.ovz_pupils == exp.ovz
    assert (t.winners, t.prize_winners) == (exp.winners, exp.prize_winners)
    assert o.cumulative.unique_pupils == exp.cumulative_unique
    # Every total, of the period and cumulative (from the first record to the period's end).
    assert dataclasses.asdict(o.totals) == exp.totals
    assert dataclasses.asdict(o.cumulative) == exp.cumulative
    assert {r.label: (r.participants, r.pupils) for r in o.coverage_by_band} == exp.band
    assert {r.label: (r.participants, r.pupils) for r in o.coverage_by_school} == exp.school
    assert {h: (e, p) for h, e, p in o.trials_by_host} == exp.trials
    assert {m: n for m, n, _u in o.by_month} == exp.by_month
    assert {m: u for m, _n, u in o.by_month} == exp.by_month_unique
    got_fb = {r.school: (r.student_avg, r.student_n, r.parent_avg, r.parent_n) for r in o.feedback}
    assert got_fb.keys() == exp.feedback.keys()
    for school, (sa, sn, pa, pn) in exp.feedback.items():
        gsa, gsn, gpa, gpn = got_fb[school]
        assert (gsn, gpn) == (sn, pn)
        assert (gsa is None) == (sa is None) and (sa is None or abs(gsa - sa) < 1e-9)
        assert (gpa is None) == (pa is None) and (pa is None or abs(gpa - pa) < 1e-9)


async def test_coordinator_overview_matches_ground_truth(sessions):
    ds = await _dataset(sessions)
    async with sessions.begin() as session:
        uid = await _coordinator(session, ds.municipality_id)
        scope = await resolve_scope(session, uid)
        assert scope.kind == "municipality" and scope.title == "город Кострома"
        o = await overview(session, scope, YEAR)
    exp = expected(ds, set(ds.schools), ds.municipality_id)
    assert exp.unique > 10 and exp.participations > exp.unique  # the data set is not trivial
    assert exp.cumulative_unique >= exp.unique
    _compare(o, exp)
    assert o.coverage_total.participants == exp.unique
    assert o.coverage_total.pupils == sum(n for (s, _g), n in ds.pupils.items() if s in ds.schools)


async def test_admin_overview_covers_every_municipality(sessions):
    ds = await _dataset(sessions)
    async with sessions.begin() as session:
        uid = await _coordinator(session, None)
        scope = await resolve_scope(session, uid)
        assert scope.kind == "all"
        o = await overview(session, scope, YEAR)
    _compare(o, expected(ds, set(ds.school_muni), None))


async def test_a_month_and_a_quarter(sessions):
    ds = await _dataset(sessions)
    async with sessions.begin() as session:
        uid = await _coordinator(session, ds.municipality_id)
        scope = await resolve_scope(session, uid)
        for period in (
            month_of(date(2025, 10, 1)),
            quarter_of(date(2026, 2, 10)),
            Period(date(2025, 11, 1), date(2026, 3, 31)),
        ):
            o = await overview(session, scope, period)
            exp = expected(ds, set(ds.schools), ds.municipality_id, period)
            assert exp.participations >= exp.unique > 0 and exp.cumulative_unique > exp.unique
            _compare(o, exp)  # every table, read from the answers (no summaries for these periods)
            assert o.coverage_total.participants == exp.unique


async def test_teacher_sees_their_school_only(sessions):
    ds = await _dataset(sessions)
    async with sessions.begin() as session:
        scope = await resolve_scope(session, ds.teacher_user_id)
        assert scope.kind == "school"
        o = await overview(session, scope, YEAR)
    school = scope.school_id
    assert school is not None
    exp = expected(ds, {school}, ds.municipality_id, school_events=school)
    _compare(o, exp)
    assert [r.label for r in o.coverage_by_school] == [ds.schools[school]]


async def test_pupils_and_parents_get_no_statistics(sessions):
    ds = await _dataset(sessions)
    async with sessions.begin() as session:
        with pytest.raises(NotAllowed):
            await resolve_scope(session, ds.student_user_id)
        with pytest.raises(NotAllowed):
            await resolve_scope(session, ds.parent_two_children[0])


async def test_event_report_and_scope_of_events(sessions):
    ds = await _dataset(sessions)
    events = {e.id: e for e in ds.events}
    async with sessions.begin() as session:
        uid = await _coordinator(session, ds.municipality_id)
        scope = await resolve_scope(session, uid)
        held = [e for e in ds.events if e.municipality_id == ds.municipality_id and e.status == "finished"
                and YEAR.start <= e.starts_at.astimezone(MSK).date() <= YEAR.end]  # fmt: skip
        target = held[0]
        report = await event_report(session, scope, target.id)
        rows = [r for r in ds.rsvps if r.event_id == target.id]
        assert report.going == sum(r.status == "going" for r in rows)
        assert report.maybe == sum(r.status == "maybe" for r in rows)
        assert report.not_going == sum(r.status == "not_going" for r in rows)
        assert report.waitlisted == sum(r.status in ("waitlisted", "offered") for r in rows)
        assert report.attended == sum(r.attended is True for r in rows)
        assert report.no_shows == sum(r.attended is False for r in rows)
        assert report.participants == len({r.learner_id for r in rows if is_participant(r)})
        assert sum(x.going for x in report.rows) == report.going
        people = await participant_list(session, scope, target.id)
        assert len(people) == len(rows)
        # Another municipality's event, a draft and an unknown number are refused.
        other = next(
            e for e in ds.events if e.municipality_id == ds.other_municipality_id and e.status != "draft"
        )
        draft = next(e for e in ds.events if e.status == "draft")
        for event_id in (other.id, draft.id, 10**9):
            with pytest.raises(NotAllowed):
                await event_report(session, scope, event_id)
            with pytest.raises(NotAllowed):
                await participant_list(session, scope, event_id)
        table = await events_table(session, scope, YEAR)
        in_year = [e for e in ds.events if e.municipality_id == ds.municipality_id
                   and e.status in ("published", "finished") and YEAR.start <= e.starts_at.astimezone(MSK).date() <= YEAR.end]  # fmt: skip
        assert sorted(r.event_id for r in table) == sorted(e.id for e in in_year)
        row = next(r for r in table if r.event_id == target.id)
        assert row.going == report.going and row.participants == report.participants
        assert events[target.id].kind == row.kind


async def test_every_event_report_matches_ground_truth(sessions):
    """Notified and delivered (announcements sent, pending, failed, undeliverable; to pupils, parents of one
    or two matching children, teachers, and a user the event is meant for no more), answers, feedback and
    the breakdown by school and grade, row by row, for a coordinator and for a teacher (their school)."""
    ds = await _dataset(sessions)
    async with sessions.begin() as session:
        uid = await _coordinator(session, ds.municipality_id)
        coordinator = await resolve_scope(session, uid)
        teacher = await resolve_scope(session, ds.teacher_user_id)
        assert teacher.school_id == ds.teacher_school
        visible = [e for e in ds.events if e.municipality_id == ds.municipality_id and e.status != "draft"]
        seen = {"notified": 0, "fb": 0, "teacher_notified": 0, "two_rows": 0, "stray": 0}
        for e in visible:
            exp = expected_event(ds, e.id)
            compare_event(await event_report(session, coordinator, e.id), exp, ds)
            seen["notified"] += exp.notified > exp.delivered > 0
            seen["fb"] += exp.feedback_student[1] > 0 and exp.feedback_parent[1] > 0
            seen["stray"] += (None, None) in exp.rows and exp.rows[(None, None)]["notified"] != 0
            seen["two_rows"] += sum(int(str(r["notified"])) for r in exp.rows.values()) > exp.notified
            if e.school_id in (None, ds.teacher_school):
                mine = expected_event(ds, e.id, school=ds.teacher_school)
                compare_event(await event_report(session, teacher, e.id), mine, ds)
                seen["teacher_notified"] += 0 < mine.notified < exp.notified
        # The data set makes every case happen, several times.
        assert all(n >= 2 for n in seen.values()), seen


async def test_hand_made_edge_cases(sessions):
    """A pupil at two events counts once; a parent's two children count two; cancelled, wait-listed,
    «Возможно» and marked-absent answers are not participants; an attended walk-in is."""
    async with sessions.begin() as session:
        muni = Municipality(region="Тест", name="Тестовый район")
        session.add(muni)
        await session.flush()
        school = School(municipality_id=muni.id, name="Школа № 1")
        session.add(school)
        await session.flush()
        for grade in range(1, 12):
            session.add(PupilCount(school_id=school.id, grade=grade, school_year=2025, pupils=10))
        parent, pupil, other = (User(telegram_id=t) for t in (1, 2, 3))
        session.add_all([parent, pupil, other])
        await session.flush()
        child_a = Learner(user_id=parent.id, school_id=school.id, grade=3)
        child_b = Learner(user_id=parent.id, school_id=school.id, grade=7, ovz=True)
        me = Learner(user_id=pupil.id, school_id=school.id, grade=10, is_self=True)
        extra = [Learner(user_id=other.id, school_id=school.id, grade=8) for _ in range(5)]
        session.add_all([child_a, child_b, me, *extra])
        await session.flush()
        ev = [
            Event(
                kind=EventKind.fair,
                title=f"E{i}",
                starts_at=datetime(2025, 10, 10 + i, 9, tzinfo=UTC),
                municipality_id=muni.id,
                status=EventStatus.finished,
            )
            for i in range(2)
        ]
        session.add_all(ev)
        await session.flush()

        def rsvp(
            event: Event,
            learner: Learner,
            status: RsvpStatus,
            attended: bool | None = None,
            walk_in: bool = False,
        ) -> Rsvp:
            return Rsvp(event_id=event.id, learner_id=learner.id, user_id=learner.user_id, status=status,
                        school_id=learner.school_id, grade=learner.grade, ovz=learner.ovz, attended=attended,
                        walk_in=walk_in)  # fmt: skip

        session.add_all([
            rsvp(ev[0], me, RsvpStatus.going, True),
            rsvp(ev[1], me, RsvpStatus.going),  # not marked yet: counts, once
            rsvp(ev[0], child_a, RsvpStatus.going),
            rsvp(ev[0], child_b, RsvpStatus.going),
            rsvp(ev[0], extra[0], RsvpStatus.cancelled),
            rsvp(ev[0], extra[1], RsvpStatus.waitlisted),
            rsvp(ev[0], extra[2], RsvpStatus.maybe),
            rsvp(ev[0], extra[3], RsvpStatus.going, False),  # a no-show
            rsvp(ev[1], extra[4], RsvpStatus.not_going, True, walk_in=True),  # came anyway
        ])  # fmt: skip
        session.add(UserRole(user_id=other.id, role=Role.coordinator, municipality_id=muni.id))
        await session.flush()
        scope = await resolve_scope(session, other.id)
        o = await overview(session, scope, YEAR)
        t = o.totals
        assert t.unique_pupils == 4  # me, child_a, child_b, the walk-in
        assert t.participations == 5
        assert t.ovz_pupils == 1
        assert t.signups == 5 and t.waitlisted == 1 and t.no_shows == 1 and t.attended == 2
        bands = {r.label: (r.participants, r.pupils, r.share) for r in o.coverage_by_band}
        assert bands == {"1–4": (1, 40, 1 / 40), "5–9": (2, 50, 2 / 50), "10–11": (1, 20, 1 / 20)}
        assert o.coverage_total.participants == 4 and o.coverage_total.pupils == 110
        # A cancelled sign-up changes the count; the event report agrees.
        me_row = await session.scalar(select(Rsvp).where(Rsvp.learner_id == child_a.id))
        assert me_row is not None
        me_row.status = RsvpStatus.cancelled
        await session.flush()
        assert (await overview(session, scope, YEAR)).totals.unique_pupils == 3
        report = await event_report(session, scope, ev[0].id)
        assert (report.participants, report.ovz, report.no_shows, report.waitlisted) == (2, 1, 1, 1)


def test_periods_people_type():
    today = date(2026, 11, 25)
    assert parse_period("", today) == Period(date(2026, 9, 1), date(2027, 8, 31))
    assert parse_period("месяц", today) == Period(date(2026, 11, 1), date(2026, 11, 30))
    assert parse_period("quarter", today) == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert parse_period("2026-02", today) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period("03.2026", today) == Period(date(2026, 3, 1), date(2026, 3, 31))
    assert parse_period("2025/2026", today) == school_year_of(date(2025, 10, 1))
    assert parse_period("Q1 2026", today) == Period(date(2026, 1, 1), date(2026, 3, 31))
    assert parse_period("01.09.2025-31.12.2025", today) == Period(date(2025, 9, 1), date(2025, 12, 31))
    for bad in ("вчера", "2026-13", "31.02.2026-01.03.2026", "31.12.2025-01.09.2025", "2025/2027", "x" * 50):
        assert parse_period(bad, today) is None


async def test_teacher_sees_their_classes(sessions):
    from models import TeacherClass

    ds = await _dataset(sessions)
    async with sessions.begin() as session:
        scope = await resolve_scope(session, ds.teacher_user_id)
        assert scope.school_id is not None
        for grade, letter in ((9, "А"), (9, "Б"), (3, "")):
            session.add(
                TeacherClass(
                    user_id=ds.teacher_user_id, school_id=scope.school_id, grade=grade, letter=letter
                )
            )
        await session.flush()
        scope = await resolve_scope(session, ds.teacher_user_id)
        assert scope.grades == (3, 9)
        o = await overview(session, scope, YEAR)
    events = {e.id: e for e in ds.events}
    for row in o.classes:
        grade = int(row.label)
        who = {
            r.learner_id
            for r in ds.rsvps
            if is_participant(r)
            and r.school_id == scope.school_id
            and r.grade == grade
            and events[r.event_id].status in ("published", "finished")
            and YEAR.start <= events[r.event_id].starts_at.astimezone(MSK).date() <= YEAR.end
        }
        assert (row.participants, row.pupils) == (len(who), ds.pupils[(scope.school_id, grade)])
    assert [r.label for r in o.classes] == ["3", "9"]


async def test_months_follow_the_municipality_calendar(sessions):
    """An event at 00:30 Moscow time on 1 March (21:30 UTC on 28 February) is a March participation, as the
    March period's bounds say; one at 01:00 Yekaterinburg time on 1 April is April there but 31 March in the
    view of all municipalities (Moscow). The summaries (school year) and the scan (month, quarter) agree."""
    from zoneinfo import ZoneInfo

    yekt = ZoneInfo("Asia/Yekaterinburg")
    async with sessions.begin() as session:
        moscow_muni = Municipality(region="Тест", name="Московское время", timezone="Europe/Moscow")
        ural = Municipality(region="Тест", name="Уральское время", timezone="Asia/Yekaterinburg")
        session.add_all([moscow_muni, ural])
        await session.flush()
        schools = [School(municipality_id=m.id, name=f"Школа {m.name}") for m in (moscow_muni, ural)]
        session.add_all(schools)
        parent = User(telegram_id=11)
        session.add(parent)
        await session.flush()
        pupils = [Learner(user_id=parent.id, school_id=s.id, grade=8) for s in schools]
        session.add_all(pupils)
        events = [
            Event(kind=EventKind.fair, title="Полночь", starts_at=datetime(2026, 3, 1, 0, 30, tzinfo=MSK),
                  municipality_id=moscow_muni.id, status=EventStatus.finished),
            Event(kind=EventKind.fair, title="Урал", starts_at=datetime(2026, 4, 1, 1, 0, tzinfo=yekt),
                  municipality_id=ural.id, status=EventStatus.finished),
        ]  # fmt: skip
        session.add_all(events)
        await session.flush()
        for event, pupil in zip(events, pupils, strict=True):
            session.add(Rsvp(event_id=event.id, learner_id=pupil.id, user_id=parent.id, status=RsvpStatus.going,
                             school_id=pupil.school_id, grade=8, attended=True))  # fmt: skip
        coordinators = []
        for tg, muni in ((12, moscow_muni.id), (13, ural.id), (14, None)):
            coordinators.append(await resolve_scope(session, await _coordinator(session, muni, tg)))
        moscow, ural_scope, everyone = coordinators
        for period in (YEAR, month_of(date(2026, 3, 1)), quarter_of(date(2026, 3, 1))):
            assert (await overview(session, moscow, period)).by_month == [("2026-03", 1, 1)], period
        assert (await overview(session, moscow, month_of(date(2026, 2, 1)))).by_month == []
        for period in (YEAR, month_of(date(2026, 4, 1)), quarter_of(date(2026, 4, 1))):
            assert (await overview(session, ural_scope, period)).by_month == [("2026-04", 1, 1)], period
        assert (await overview(session, everyone, YEAR)).by_month == [("2026-03", 2, 2)]
        assert (await overview(session, everyone, month_of(date(2026, 3, 1)))).by_month == [("2026-03", 2, 2)]
