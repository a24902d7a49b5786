"""Unit tests of the event rules: validation, quiet hours, digest moments, reminder offsets, the .ics
file, the import parser, the wait list and the audience's interests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select, update

from bot.clock import TestClock
from models import (
    Event,
    EventKind,
    EventStatus,
    Learner,
    Municipality,
    Outbox,
    OutboxStatus,
    Role,
    Rsvp,
    RsvpStatus,
    User,
    UserRole,
)
from services.event_import import ImportFailure, parse_plan, read_table, template_csv, template_xlsx
from services.events import Authority, EventDraft, EventError, create_event, publish_event, validate
from services.ics import event_ics
from services.people import load_profile
from services.quiet_hours import digest_moment, in_quiet, quiet_until
from services.reminders import due_offset
from services.rsvp import answer

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def draft(**changes: object) -> EventDraft:
    values: dict[str, object] = {
        "kind": EventKind.open_day, "title": "ДОД", "starts_at": NOW + timedelta(days=3), "municipality_id": 1,
    }  # fmt: skip
    values.update(changes)
    return EventDraft(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"starts_at": NOW - timedelta(minutes=1)}, "starts_in_past"),
        ({"ends_at": NOW + timedelta(days=2)}, "ends_before_start"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": -3}, "capacity"),
        ({"description": "x" * 5000}, "description_too_long"),
        ({"title": "   "}, "title_empty"),
        ({"title": "x" * 201}, "title_too_long"),
        ({"grade_min": 9, "grade_max": 5}, "grades"),
        ({"registration_deadline": NOW + timedelta(days=4)}, "deadline"),
        ({"online_url": "javascript:alert(1)"}, "bad_url"),
        ({"for_students": False}, "no_audience"),
    ],
)
def test_validation_refuses_bad_events(changes, code):
    with pytest.raises(EventError) as caught:
        validate(draft(**changes), NOW)
    assert caught.value.code == code


def test_quiet_hours_cross_midnight():
    night = datetime(2026, 11, 26, 23, 0, tzinfo=MSK)
    assert in_quiet(night, 21 * 60, 8 * 60)
    assert in_quiet(night.replace(hour=7, minute=59), 21 * 60, 8 * 60)
    assert not in_quiet(night.replace(hour=8), 21 * 60, 8 * 60)
    assert not in_quiet(night.replace(hour=12), 21 * 60, 8 * 60)
    assert in_quiet(night.replace(hour=13), 12 * 60, 14 * 60)  # a daytime nap window
    assert not in_quiet(night, 0, 0)  # equal bounds: never quiet
    assert quiet_until(night, 8 * 60) == datetime(2026, 11, 27, 8, 0, tzinfo=MSK)
    assert quiet_until(night.replace(hour=3), 8 * 60) == datetime(2026, 11, 26, 8, 0, tzinfo=MSK)


def test_digest_moment_is_monday_ten():
    thursday = datetime(2026, 11, 26, 15, 0, tzinfo=MSK)
    assert digest_moment(thursday) == datetime(2026, 11, 23, 10, 0, tzinfo=MSK)
    assert digest_moment(thursday).weekday() == 0


def test_late_run_picks_only_the_latest_due_reminder():
    event = Event(starts_at=NOW + timedelta(hours=10))
    assert due_offset(event, (1440, 120), NOW) == 1440
    assert due_offset(event, (1440, 120), NOW + timedelta(hours=9)) == 120
    assert due_offset(event, (1440, 120), NOW - timedelta(days=1)) is None


def test_ics_file_has_the_event():
    event = Event(
        id=7, title="Профпроба «Повар»", starts_at=NOW, ends_at=None, venue="Колледж", description="Фартук",
        online_url=None, version=1, created_at=NOW, published_at=NOW, changed_at=None,
    )  # fmt: skip
    calendar = Calendar.from_ical(event_ics(event))
    [item] = calendar.walk("VEVENT")
    assert str(item["summary"]) == "Профпроба «Повар»"
    assert item.decoded("dtstart") == NOW
    assert item.decoded("dtend") == NOW + timedelta(hours=2)
    assert str(item["location"]) == "Колледж"


def test_templates_read_back_and_broken_files_are_refused():
    today = date.today()
    for name, data in (("t.csv", template_csv(today)), ("t.xlsx", template_xlsx(today))):
        [row] = read_table(name, data)
        assert row[0] == "День открытых дверей"
    for name, data, code in (
        ("plan.pdf", b"%PDF", "format"),
        ("plan.xlsx", b"not a zip", "unreadable"),
        ("plan.csv", b"a;b\n1;2\n", "headers"),
        ("plan.csv", template_csv(today).split(b"\n")[0] + b"\n", "empty"),
    ):
        with pytest.raises(ImportFailure) as caught:
            read_table(name, data)
        assert caught.value.code == code


pytestmark = pytest.mark.usefixtures("directory")


@pytest.mark.parametrize(
    "today", [date(2026, 11, 26), date(2026, 12, 31), date(2027, 1, 31), date(2028, 2, 29)]
)
def test_template_example_is_next_month_so_never_in_the_past(today):
    for name, data in (("t.csv", template_csv(today)), ("t.xlsx", template_xlsx(today))):
        [row] = read_table(name, data)
        starts, ends, deadline = (datetime.strptime(row[i], "%d.%m.%Y %H:%M") for i in (3, 4, 11))
        assert today < deadline.date() < starts.date() == ends.date() and starts < ends
        assert (starts.year * 12 + starts.month) - (today.year * 12 + today.month) == 1
        assert starts.day == 15


async def test_template_example_imports_cleanly_today(sessions):
    """The example row, as sent today, passes every check (its date is in the future)."""
    now = datetime.now(UTC)
    async with sessions() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        drafts, errors = await parse_plan(
            session, read_table("t.csv", template_csv(now.date())), municipality_id=kostroma, zone=MSK, now=now,
            auth=Authority(admin=True),
        )  # fmt: skip
    assert errors == [] and len(drafts) == 1 and drafts[0].starts_at > now


async def test_import_rows_are_checked_one_by_one(sessions):
    async with sessions() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        rows = [
            ["Профпроба", "Ок", "", "05.12.2026 10:00", "", "", "", "7-11", "ученики", "", "5", "", "да"],
            ["Профпроба", "Плохая", "", "5 декабря", "", "", "", "7–x", "все", "Школа № 999", "пять", "", "может"],
        ]  # fmt: skip
        drafts, errors = await parse_plan(
            session, rows, municipality_id=kostroma, zone=MSK, now=NOW, auth=Authority(admin=True)
        )
        assert [d.title for d in drafts] == ["Ок"]
        assert drafts[0].capacity == 5 and drafts[0].ovz_suitable and drafts[0].grade_min == 7
        assert {(e.row, e.code) for e in errors} == {
            (3, "date"), (3, "grades"), (3, "audience"), (3, "school"), (3, "capacity_format"), (3, "ovz"),
        }  # fmt: skip
        # A teacher may not import municipal open days.
        _, errors = await parse_plan(
            session,
            rows[:1],
            municipality_id=kostroma,
            zone=MSK,
            now=NOW,
            auth=Authority(schools=frozenset({1})),
        )
        assert [e.code for e in errors] == ["forbidden"]


async def test_capacity_wait_list_and_interests(sessions):
    clock = TestClock(NOW)
    async with sessions.begin() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        users = []
        for n, interests in enumerate([[], [], ["open_day"], ["contest"]]):
            user = User(telegram_id=100 + n, consent_at=NOW, language="ru", interests=interests)
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role=Role.student, municipality_id=kostroma))
            session.add(Learner(user_id=user.id, school_id=1, grade=9, is_self=True))
            users.append(user)
        await session.flush()
        event = await create_event(session, draft(municipality_id=kostroma, capacity=1), None, clock.now())
        assert await publish_event(session, event, clock.now()) == 3, "the contest-only user is not told"
        assert event.status is EventStatus.published
        results = []
        for user in users[:3]:
            profile = await load_profile(session, user)
            results.append(await answer(session, profile, event.id, RsvpStatus.going, clock.now()))
        assert [r.status for r in results] == [RsvpStatus.going, RsvpStatus.waitlisted, RsvpStatus.waitlisted]
        assert [r.position for r in results] == [None, 1, 2]
        again = await answer(
            session, await load_profile(session, users[2]), event.id, RsvpStatus.going, clock.now()
        )
        assert again.position == 2, "a second tap keeps the place"
        statuses = (await session.scalars(select(Rsvp.status).order_by(Rsvp.id))).all()
        assert statuses.count(RsvpStatus.going) == 1


async def test_an_offer_made_at_night_counts_from_the_morning(sessions):
    from services.waitlist import OFFER_TTL, promote

    night = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)  # 23:00 in Moscow
    async with sessions.begin() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        user = User(telegram_id=500, consent_at=night, language="ru")
        session.add(user)
        await session.flush()
        session.add(Learner(user_id=user.id, school_id=1, grade=9, is_self=True))
        event = Event(
            kind=EventKind.open_day, title="ДОД", starts_at=night + timedelta(days=5), municipality_id=kostroma,
            capacity=1, status=EventStatus.published,
        )  # fmt: skip
        session.add(event)
        await session.flush()
        waiting = Rsvp(event_id=event.id, user_id=user.id, status=RsvpStatus.waitlisted, created_at=night,
                       updated_at=night)  # fmt: skip
        session.add(waiting)
        await session.flush()
        [offered] = await promote(session, event, night)
        morning = datetime(2026, 11, 27, 8, 0, tzinfo=MSK)
        assert offered.status is RsvpStatus.offered
        assert offered.offer_expires_at == morning + OFFER_TTL


async def test_leaving_pupils_free_their_seats_and_stay_counted(sessions):
    """A child removed from a profile, or a pupil who uses /forget, gives their seat to the wait list;
    having answered, they stay as anonymous learners so past reports keep counting them."""
    from models.base import utcnow
    from services.privacy import forget_user
    from services.profiles import remove_learner

    now = utcnow()
    async with sessions.begin() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        parent = User(telegram_id=700, consent_at=now, language="ru")
        pupil = User(telegram_id=701, consent_at=now, language="ru")
        quiet = User(telegram_id=702, consent_at=now, language="ru")
        session.add_all([parent, pupil, quiet])
        await session.flush()
        session.add(UserRole(user_id=parent.id, role=Role.parent, municipality_id=kostroma))
        session.add(UserRole(user_id=pupil.id, role=Role.student, municipality_id=kostroma))
        child = Learner(user_id=parent.id, school_id=1, grade=9)
        me = Learner(user_id=pupil.id, school_id=1, grade=9, is_self=True)
        never = Learner(user_id=parent.id, school_id=1, grade=5)  # a second child who answered nothing
        session.add_all([child, me, never])
        await session.flush()
        event = await create_event(
            session,
            draft(municipality_id=kostroma, capacity=1, starts_at=now + timedelta(days=3), for_parents=True),
            None,
            now,
        )
        await publish_event(session, event, now)
        first = await answer(
            session, await load_profile(session, parent), event.id, RsvpStatus.going, now, child.id
        )
        second = await answer(session, await load_profile(session, pupil), event.id, RsvpStatus.going, now)
        assert (first.status, second.status) == (RsvpStatus.going, RsvpStatus.waitlisted), first

        await remove_learner(session, parent, child.id)
        await remove_learner(session, parent, never.id)
        status = dict((await session.execute(select(Rsvp.learner_id, Rsvp.status))).all())
        assert status == {child.id: RsvpStatus.not_going, me.id: RsvpStatus.offered}, "the seat moved on"
        kept = dict((await session.execute(select(Learner.id, Learner.user_id))).all())
        assert kept[child.id] is None, "the child who answered stays, nobody's"
        assert never.id not in kept, "one who never answered is simply gone"

        await forget_user(session, pupil.id)
        status = dict((await session.execute(select(Rsvp.learner_id, Rsvp.status))).all())
        assert status[me.id] is RsvpStatus.not_going, "a forgotten pupil holds no offer"
        assert await session.scalar(select(Learner.user_id).where(Learner.id == me.id)) is None


async def test_digest_collects_held_announcements_but_never_replies(sessions):
    """Monday 10:00: the digest takes the held announcement of an event published last week; a reply (the
    upcoming events a new subscriber is waiting for) stays a message of its own; midweek nothing."""
    from services.outbox import REPLY, enqueue
    from services.quiet_hours import queue_digests

    wednesday = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    async with sessions.begin() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        user = User(telegram_id=600, consent_at=wednesday, language="ru", digest="weekly")
        session.add(user)
        await session.flush()
        session.add(Learner(user_id=user.id, school_id=1, grade=9, is_self=True))
        events = [
            Event(kind=EventKind.open_day, title=f"ДОД {n}", starts_at=monday + timedelta(days=9),
                  municipality_id=kostroma, status=EventStatus.published, published_at=wednesday)
            for n in (1, 2)
        ]  # fmt: skip
        session.add_all(events)
        await session.flush()
        for event, payload in zip(events, ({}, {REPLY: True}), strict=True):
            await enqueue(session, key=f"announce:{event.id}:{user.id}", chat_id=600, user_id=user.id,
                          kind="announcement", payload=payload, event_id=event.id)  # fmt: skip
        assert await queue_digests(session, wednesday + timedelta(hours=1), MSK) == 0, "not midweek"
        assert await queue_digests(session, monday, MSK) == 1
        digest = await session.scalar(select(Outbox).where(Outbox.kind == "digest"))
        assert digest is not None and digest.payload == {"events": [events[0].id]}
        left = (await session.execute(select(Outbox.event_id, Outbox.status).where(Outbox.kind == "announcement")
                                      .order_by(Outbox.event_id))).all()  # fmt: skip
        assert left == [(events[0].id, OutboxStatus.sent), (events[1].id, OutboxStatus.pending)]
        assert await queue_digests(session, monday + timedelta(hours=2), MSK) == 0, "once a week"


async def test_digest_names_only_what_it_settles(sessions, monkeypatch):
    """The sender claims a row (to hold it) after the digest pass read it as pending: this week's digest
    does not name that event, which stays with the sender for the next digest, so no event is in two."""
    from services import quiet_hours
    from services.outbox import enqueue

    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    async with sessions.begin() as session:
        kostroma = await session.scalar(select(Municipality.id).where(Municipality.name == "город Кострома"))
        user = User(telegram_id=700, consent_at=friday, language="ru", digest="weekly")
        session.add(user)
        await session.flush()
        events = [
            Event(kind=EventKind.open_day, title=f"ДОД {n}", starts_at=monday + timedelta(days=9),
                  municipality_id=kostroma, status=EventStatus.published, published_at=friday)
            for n in (1, 2)
        ]  # fmt: skip
        session.add_all(events)
        await session.flush()
        for event in events:
            await enqueue(session, key=f"announce:{event.id}:{user.id}", chat_id=700, user_id=user.id,
                          kind="announcement", event_id=event.id)  # fmt: skip
        zones = quiet_hours.user_zones

        async def claimed_meanwhile(
            session_, user_ids, default
        ):  # the sender's claim, between read and write
            await session_.execute(update(Outbox).where(Outbox.event_id == events[1].id)
                                   .values(status=OutboxStatus.sending))  # fmt: skip
            return await zones(session_, user_ids, default)

        monkeypatch.setattr(quiet_hours, "user_zones", claimed_meanwhile)
        assert await quiet_hours.queue_digests(session, monday, MSK) == 1
        digest = await session.scalar(select(Outbox).where(Outbox.kind == "digest"))
        assert digest is not None and digest.payload == {"events": [events[0].id]}
        statuses = (await session.execute(select(Outbox.event_id, Outbox.status).where(
            Outbox.kind == "announcement").order_by(Outbox.event_id))).all()  # fmt: skip
        assert statuses == [(events[0].id, OutboxStatus.sent), (events[1].id, OutboxStatus.sending)]
