"""A generated participation data set with known ground truth, and the expected report numbers computed
independently, in plain Python, from the generated records (never from the database)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Event,
    EventKind,
    EventLevel,
    EventStatus,
    Feedback,
    Learner,
    Municipality,
    Organisation,
    Outbox,
    OutboxStatus,
    PupilCount,
    Role,
    Rsvp,
    RsvpStatus,
    School,
    User,
    UserRole,
)
from services.reports import BANDS, Period

MSK = ZoneInfo("Europe/Moscow")
YEAR = Period(date(2025, 9, 1), date(2026, 8, 31))  # the school year the tests report on
KOSTROMA = "город Кострома"


@dataclass
class L:
    id: int
    user_id: int
    school_id: int
    grade: int
    ovz: bool
    is_self: bool = False


@dataclass
class E:
    id: int
    municipality_id: int
    school_id: int | None
    kind: str
    level: str
    status: str
    starts_at: datetime
    host_type: str | None
    for_parents: bool = False
    for_teachers: bool = False
    grade_min: int = 1
    grade_max: int = 11


@dataclass
class R:
    event_id: int
    learner_id: int | None
    user_id: int
    status: str
    school_id: int | None
    grade: int | None
    ovz: bool
    attended: bool | None
    result: str | None


@dataclass
class F:
    event_id: int
    role: str
    school_id: int
    rating: int
    user_id: int = 0


@dataclass
class N:
    """An announcement of an event to a user (an outbox row)."""

    event_id: int
    user_id: int
    status: str


@dataclass
class Dataset:
    municipality_id: int  # Kostroma
    other_municipality_id: int  # Chukhloma
    schools: dict[int, str]  # Kostroma's schools
    school_names: dict[int, str]  # every school
    school_muni: dict[int, int]
    learners: list[L] = field(default_factory=list)
    events: list[E] = field(default_factory=list)
    rsvps: list[R] = field(default_factory=list)
    feedback: list[F] = field(default_factory=list)
    notifications: list[N] = field(default_factory=list)
    self_learner: L | None = None  # the student with a Telegram id: no answers, but notified
    teacher_school: int = 0
    pupils: dict[tuple[int, int], int] = field(default_factory=dict)  # (school, grade) -> pupils in YEAR
    teacher_user_id: int = 0
    student_user_id: int = 0
    parent_two_children: tuple[int, int, int] = (0, 0, 0)  # user, learner a, learner b
    twice_learner: int = 0


async def build(
    session: AsyncSession,
    seed: int = 7,
    teacher_tg: int = 5001,
    student_tg: int = 5002,
    announcements: bool = True,
) -> Dataset:
    """Users, learners, events, answers and feedback in Kostroma (and some in Chukhloma), with edge cases;
    with `announcements`, outbox rows announcing most events (sent, pending in 2100, failed, undeliverable)."""
    rng = random.Random(seed)
    munis = {m.name: m for m in (await session.scalars(select(Municipality))).all()}
    kostroma, chukhloma = munis[KOSTROMA], munis["Чухломский муниципальный район"]
    schools = (await session.scalars(select(School))).all()
    school_muni = {s.id: s.municipality_id for s in schools}
    k_schools = {s.id: s.name for s in schools if s.municipality_id == kostroma.id}
    orgs = (await session.scalars(select(Organisation))).all()
    ds = Dataset(kostroma.id, chukhloma.id, k_schools, {s.id: s.name for s in schools}, school_muni)

    for school_id in school_muni:
        for grade in range(1, 12):
            n = rng.randint(20, 60)
            session.add(PupilCount(school_id=school_id, grade=grade, school_year=2025, pupils=n))
            session.add(PupilCount(school_id=school_id, grade=grade, school_year=2024, pupils=n + 5))
            ds.pupils[(school_id, grade)] = n

    # Users: 30 parents with one or two children, 40 students; the teacher and a student with a Telegram id.
    users: list[tuple[User, str]] = []
    for i in range(70):
        user = User(telegram_id=700000 + i, language="ru", consent_at=datetime(2025, 9, 1, tzinfo=UTC))
        session.add(user)
        users.append((user, "parent" if i < 30 else "student"))
    teacher = User(telegram_id=teacher_tg, language="ru", consent_at=datetime(2025, 9, 1, tzinfo=UTC))
    student = User(telegram_id=student_tg, language="ru", consent_at=datetime(2025, 9, 1, tzinfo=UTC))
    session.add_all([teacher, student])
    await session.flush()
    first_school = min(k_schools)
    session.add(
        UserRole(user_id=teacher.id, role=Role.teacher, school_id=first_school, municipality_id=kostroma.id)
    )
    session.add(UserRole(user_id=student.id, role=Role.student, municipality_id=kostroma.id))
    own = Learner(user_id=student.id, school_id=first_school, grade=9, is_self=True)
    session.add(own)
    ds.teacher_user_id, ds.student_user_id, ds.teacher_school = teacher.id, student.id, first_school
    all_schools = list(school_muni)
    learner_objs: list[tuple[Learner, str]] = []
    for n, (user, role) in enumerate(users):
        session.add(UserRole(user_id=user.id, role=Role(role), municipality_id=kostroma.id))
        children = 2 if role == "parent" and n % 2 == 0 else 1
        for _ in range(children):
            school = rng.choice(all_schools) if n % 5 else first_school
            learner = Learner(
                user_id=user.id,
                school_id=school,
                grade=rng.randint(1, 11),
                is_self=role == "student",
                ovz=rng.random() < 0.15,
            )
            session.add(learner)
            learner_objs.append((learner, role))
    await session.flush()
    ds.learners = [L(x.id, x.user_id, x.school_id, x.grade, x.ovz, x.is_self) for x, _ in learner_objs]
    ds.self_learner = L(own.id, student.id, first_school, 9, False, True)
    roles_of = {x.id: r for x, r in learner_objs}

    # Events: in the school year, in the year before (cumulative only), after it (excluded), drafts and
    # cancelled ones (never counted), some in Chukhloma.
    kinds = [k.value for k in EventKind]
    levels = [lv.value for lv in EventLevel]
    months = [(2024, 10), (2025, 3), (2025, 9), (2025, 10), (2025, 11), (2025, 12), (2026, 2), (2026, 3),
              (2026, 4), (2026, 5), (2026, 9)]  # fmt: skip
    for i in range(26):
        year, month = months[i % len(months)]
        muni = chukhloma.id if i % 9 == 8 else kostroma.id
        status = [EventStatus.finished, EventStatus.published, EventStatus.finished, EventStatus.draft,
                  EventStatus.cancelled, EventStatus.finished, EventStatus.published][i % 7]  # fmt: skip
        kind = EventKind.profession_trial.value if i % 3 == 0 else kinds[i % len(kinds)]
        org = rng.choice(orgs) if i % 4 else None
        event = Event(
            kind=kind,
            title=f"Мероприятие {i}",
            starts_at=datetime(year, month, 5 + i % 20, 12, 0, tzinfo=MSK),
            municipality_id=muni,
            school_id=first_school if i == 5 else None,
            organisation_id=org.id if org else None,
            level=levels[i % len(levels)],
            status=status,
            grade_min=1 if i % 5 else 5,
            grade_max=11 if i % 5 else 9,
            for_parents=i % 2 == 0,
            for_teachers=i % 3 == 0,
        )
        session.add(event)
        await session.flush()
        ds.events.append(
            E(
                event.id,
                muni,
                event.school_id,
                kind,
                event.level,
                status.value,
                event.starts_at,
                org.type.value if org else None,
                event.for_parents,
                event.for_teachers,
                event.grade_min,
                event.grade_max,
            )
        )

    statuses = [s.value for s in RsvpStatus]
    for event in ds.events:
        for learner in rng.sample(ds.learners, rng.randint(5, 25)):
            status = rng.choice(statuses)
            attended = None
            if event.status == "finished" and status in ("going", "maybe", "waitlisted", "cancelled"):
                attended = rng.choice([None, True, False, True])
            result = None
            if event.kind == EventKind.contest.value and attended:
                result = rng.choice([None, "winner", "prize_winner"])
            ds.rsvps.append(
                R(
                    event.id,
                    learner.id,
                    learner.user_id,
                    status,
                    learner.school_id,
                    learner.grade,
                    learner.ovz,
                    attended,
                    result,
                )
            )
        # A teacher's own answer: an adult, never a pupil.
        ds.rsvps.append(R(event.id, None, teacher.id, "going", None, None, False, None, None))

    # Edge cases made certain: the first parent signs up both children to the first held event of the year;
    # a pupil attends two events and counts once.
    held = [e for e in ds.events if e.municipality_id == kostroma.id and e.status in ("published", "finished")
            and date(2025, 9, 1) <= e.starts_at.astimezone(MSK).date() <= date(2026, 8, 31)]  # fmt: skip
    two = [x for x in ds.learners if x.user_id == users[0][0].id]
    assert len(two) == 2
    ds.parent_two_children = (users[0][0].id, two[0].id, two[1].id)
    for child in two:
        _set(ds, held[0].id, child, "going", None)
    twice = next(x for x in reversed(ds.learners) if x.school_id == first_school)
    ds.twice_learner = twice.id
    _set(ds, held[0].id, twice, "going", True)
    _set(ds, held[1].id, twice, "going", True)

    for r in ds.rsvps:
        session.add(
            Rsvp(
                event_id=r.event_id,
                learner_id=r.learner_id,
                user_id=r.user_id,
                status=RsvpStatus(r.status),
                respondent_role=roles_of.get(r.learner_id or 0, "teacher"),
                school_id=r.school_id,
                grade=r.grade,
                ovz=r.ovz,
                attended=r.attended,
                result=r.result,
            )
        )
    # Feedback from pupils and parents after finished events.
    for event in ds.events:
        if event.status != "finished":
            continue
        seen: set[int] = set()
        for r in ds.rsvps:
            if r.event_id != event.id or r.learner_id is None or r.user_id in seen or rng.random() < 0.4:
                continue
            seen.add(r.user_id)
            role = roles_of[r.learner_id]
            rating = rng.randint(1, 5)
            ds.feedback.append(F(event.id, role, r.school_id or 0, rating, r.user_id))
            session.add(
                Feedback(
                    event_id=event.id,
                    user_id=r.user_id,
                    respondent_role=role,
                    school_id=r.school_id,
                    rating=rating,
                )
            )
    if announcements:
        await _announce(session, ds, rng, [u for u, _r in users] + [teacher, student])
    await session.flush()
    return ds


async def _announce(session: AsyncSession, ds: Dataset, rng: random.Random, users: list[User]) -> None:
    """Announcements of three events in four: to most users the event is meant for, and to a parent whose
    child was removed (meant for nobody any more). Pending rows wait until 2100, so no test sends them."""
    stray = User(telegram_id=799999, language="ru", consent_at=datetime(2025, 9, 1, tzinfo=UTC))
    session.add(stray)
    await session.flush()
    session.add(UserRole(user_id=stray.id, role=Role.parent, municipality_id=ds.municipality_id))
    chats = {u.id: u.telegram_id for u in [*users, stray]}
    statuses = [OutboxStatus.sent, OutboxStatus.sent, OutboxStatus.pending, OutboxStatus.failed,
                OutboxStatus.undeliverable]  # fmt: skip
    for n, event in enumerate(ds.events):
        if n % 4 == 1:
            continue
        meant = sorted(uid for uid in chats if notified_as(ds, event, uid))
        who = [uid for uid in meant if rng.random() < 0.8] + ([stray.id] if n % 2 == 0 else [])
        for uid in who:
            status = rng.choice(statuses)
            ds.notifications.append(N(event.id, uid, status.value))
            session.add(
                Outbox(
                    key=f"announce:{event.id}:{uid}",
                    user_id=uid,
                    chat_id=chats[uid],
                    kind="announcement",
                    event_id=event.id,
                    status=status,
                    not_before=datetime(2100, 1, 1, tzinfo=UTC),
                )
            )


def notified_as(ds: Dataset, event: E, user_id: int) -> set[tuple[int, int | None]]:
    """The (school, grade) pairs an announcement of `event` to the user is attributed to: the user's pupils
    the event is meant for, or for a teacher of an event for teachers their school (no grade)."""
    pairs: set[tuple[int, int | None]] = set()
    for x in [*ds.learners, *([ds.self_learner] if ds.self_learner else [])]:
        if x.user_id != user_id or not event.grade_min <= x.grade <= event.grade_max:
            continue
        if event.school_id is not None and x.school_id != event.school_id:
            continue
        if ds.school_muni[x.school_id] != event.municipality_id:
            continue
        if x.is_self or event.for_parents:  # every event here is for pupils themselves
            pairs.add((x.school_id, x.grade))
    teacher_invited = event.school_id in (None, ds.teacher_school)
    teacher_invited = teacher_invited and ds.school_muni[ds.teacher_school] == event.municipality_id
    if event.for_teachers and user_id == ds.teacher_user_id and teacher_invited:
        pairs.add((ds.teacher_school, None))
    return pairs


def _set(ds: Dataset, event_id: int, learner: L, status: str, attended: bool | None) -> None:
    """Make `learner`'s answer to the event exactly this one (replacing a random one if any)."""
    ds.rsvps[:] = [r for r in ds.rsvps if not (r.event_id == event_id and r.learner_id == learner.id)]
    ds.rsvps.append(
        R(
            event_id,
            learner.id,
            learner.user_id,
            status,
            learner.school_id,
            learner.grade,
            learner.ovz,
            attended,
            None,
        )
    )


# ------------------------------------------------------------------ expected numbers, in plain Python


def _in(period: Period | None, e: E, end: date | None = None) -> bool:
    """In the period; with None, from the first record up to `end` (the school year's end by default)."""
    day = e.starts_at.astimezone(MSK).date()
    return day <= (end or YEAR.end) if period is None else period.start <= day <= period.end


def is_participant(r: R) -> bool:
    return r.learner_id is not None and (r.attended is True or (r.attended is None and r.status == "going"))


@dataclass
class Expected:
    events_by_kind: dict[str, int]
    events_by_level: dict[str, int]
    signups: int
    waitlisted: int
    attended: int
    no_shows: int
    participations: int
    unique: int
    ovz: int
    winners: int
    prize_winners: int
    cumulative_unique: int
    band: dict[str, tuple[int, int]]  # band -> (participants, pupils)
    school: dict[str, tuple[int, int]]
    trials: dict[str, tuple[int, int]]
    feedback: dict[str, tuple[float | None, int, float | None, int]]
    by_month: dict[str, int]
    maybe: int = 0
    adults: int = 0
    by_month_unique: dict[str, int] = field(default_factory=dict)
    # Every field of `Totals` (signups, maybe, …, adults), in the period and from the first record on.
    totals: dict[str, int] = field(default_factory=dict)
    cumulative: dict[str, int] = field(default_factory=dict)


def expected(ds: Dataset, scope_schools: set[int], municipality_id: int | None, period: Period = YEAR,
             school_events: int | None = None) -> Expected:  # fmt: skip
    """The overview of `period` for pupils of `scope_schools` (events of `municipality_id` for event counts)."""
    events = {e.id: e for e in ds.events}

    def held(e: E) -> bool:
        return e.status in ("published", "finished")

    def event_in_scope(e: E) -> bool:
        if municipality_id is not None and e.municipality_id != municipality_id:
            return False
        return school_events is None or e.school_id in (None, school_events)

    ev = [e for e in ds.events if held(e) and _in(period, e) and event_in_scope(e)]
    kinds: dict[str, int] = defaultdict(int)
    levels: dict[str, int] = defaultdict(int)
    for e in ev:
        kinds[e.kind] += 1
        levels[e.level] += 1
    rows = [r for r in ds.rsvps if held(events[r.event_id]) and _in(period, events[r.event_id])
            and r.school_id in scope_schools]  # fmt: skip
    cum = [r for r in ds.rsvps if held(events[r.event_id]) and _in(None, events[r.event_id], period.end)
           and r.school_id in scope_schools]  # fmt: skip
    part = [r for r in rows if is_participant(r)]
    band: dict[str, tuple[int, int]] = {}
    for name, lo, hi in BANDS:
        who = {r.learner_id for r in part if r.grade is not None and lo <= r.grade <= hi}
        pupils = sum(n for (s, g), n in ds.pupils.items() if s in scope_schools and lo <= g <= hi)
        band[name] = (len(who), pupils)
    school = {}
    for s in scope_schools:
        who = {r.learner_id for r in part if r.school_id == s}
        school[ds.school_names[s]] = (len(who), sum(n for (sc, _g), n in ds.pupils.items() if sc == s))
    trials: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in ev:
        if e.kind == "profession_trial":
            trials[e.host_type or "other"][0] += 1
    for r in part:
        e = events[r.event_id]
        if e.kind == "profession_trial":
            trials[e.host_type or "other"][1] += 1
    fb: dict[str, tuple[float | None, int, float | None, int]] = {}
    for s in scope_schools:
        marks = [
            f
            for f in ds.feedback
            if f.school_id == s and held(events[f.event_id]) and _in(period, events[f.event_id])
        ]
        if not marks:
            continue
        st = [f.rating for f in marks if f.role == "student"]
        pa = [f.rating for f in marks if f.role == "parent"]
        fb[ds.school_names[s]] = (
            sum(st) / len(st) if st else None,
            len(st),
            sum(pa) / len(pa) if pa else None,
            len(pa),
        )
    months: dict[str, int] = defaultdict(int)
    month_pupils: dict[str, set[int | None]] = defaultdict(set)
    for r in part:
        month = events[r.event_id].starts_at.astimezone(MSK).strftime("%Y-%m")  # the municipality's calendar
        months[month] += 1
        month_pupils[month].add(r.learner_id)

    def adults(until_end_only: bool) -> int:
        return sum(
            r.learner_id is None and (r.attended is True or (r.attended is None and r.status == "going"))
            for r in ds.rsvps
            if held(events[r.event_id])
            and event_in_scope(events[r.event_id])
            and _in(None if until_end_only else period, events[r.event_id], period.end)
        )

    def totals(rs: list[R], adult: int) -> dict[str, int]:
        p = [r for r in rs if is_participant(r)]
        return {
            "signups": sum(r.status == "going" for r in rs),
            "maybe": sum(r.status == "maybe" for r in rs),
            "waitlisted": sum(r.status in ("waitlisted", "offered") for r in rs),
            "attended": sum(r.attended is True for r in rs),
            "no_shows": sum(r.attended is False for r in rs),
            "participations": len(p),
            "unique_pupils": len({r.learner_id for r in p}),
            "ovz_pupils": len({r.learner_id for r in p if r.ovz}),
            "winners": sum(r.result == "winner" for r in p),
            "prize_winners": sum(r.result == "prize_winner" for r in p),
            "adults": adult,
        }

    return Expected(
        events_by_kind=dict(kinds),
        events_by_level=dict(levels),
        signups=sum(r.status == "going" for r in rows),
        waitlisted=sum(r.status in ("waitlisted", "offered") for r in rows),
        attended=sum(r.attended is True for r in rows),
        no_shows=sum(r.attended is False for r in rows),
        participations=len(part),
        unique=len({r.learner_id for r in part}),
        ovz=len({r.learner_id for r in part if r.ovz}),
        winners=sum(r.result == "winner" for r in part),
        prize_winners=sum(r.result == "prize_winner" for r in part),
        cumulative_unique=len({r.learner_id for r in cum if is_participant(r)}),
        band=band,
        school=school,
        trials={k: (v[0], v[1]) for k, v in trials.items()},
        feedback=fb,
        by_month=dict(months),
        maybe=sum(r.status == "maybe" for r in rows),
        adults=adults(False),
        by_month_unique={m: len(u) for m, u in month_pupils.items()},
        totals=totals(rows, adults(False)),
        cumulative=totals(cum, adults(True)),
    )


@dataclass
class ExpectedEvent:
    """One event's report: totals, and rows by (school id or None, grade or None) with the same fields as
    `BreakdownRow`; feedback as (average or None, answers)."""

    notified: int
    delivered: int
    going: int
    maybe: int
    not_going: int
    waitlisted: int
    cancelled: int
    attended: int
    no_shows: int
    participants: int
    ovz: int
    feedback_student: tuple[float | None, int]
    feedback_parent: tuple[float | None, int]
    rows: dict[tuple[int | None, int | None], dict[str, object]]


def _avg(marks: list[int]) -> tuple[float | None, int]:
    return (sum(marks) / len(marks) if marks else None, len(marks))


def expected_event(ds: Dataset, event_id: int, school: int | None = None) -> ExpectedEvent:
    """The per-event report, for everyone (a coordinator) or for one school's teacher (`school`)."""
    event = next(e for e in ds.events if e.id == event_id)
    rsvps = [r for r in ds.rsvps if r.event_id == event_id and (school is None or r.school_id == school)]
    # Notifications: attributed to (school, grade) pairs; unattributed ones to (None, None).
    sent: dict[tuple[int | None, int | None], list[N]] = defaultdict(list)
    counted: list[N] = []
    for n in ds.notifications:
        if n.event_id != event_id:
            continue
        pairs: set[tuple[int | None, int | None]] = set(notified_as(ds, event, n.user_id)) or {(None, None)}
        pairs = {p for p in pairs if school is None or p[0] == school}
        for pair in pairs:
            sent[pair].append(n)
        if pairs:
            counted.append(n)
    marks = [f for f in ds.feedback if f.event_id == event_id and (school is None or f.school_id == school)]
    rows: dict[tuple[int | None, int | None], dict[str, object]] = {}

    def row(key: tuple[int | None, int | None]) -> dict[str, object]:
        return rows.setdefault(key, {"going": 0, "maybe": 0, "not_going": 0, "waitlisted": 0, "attended": 0,
                                     "no_shows": 0, "ovz": 0, "notified": 0, "delivered": 0,
                                     "feedback_student": (None, 0), "feedback_parent": (None, 0)})  # fmt: skip

    keys = {(r.school_id, r.grade) for r in rsvps}
    for key in keys:
        mine = [r for r in rsvps if (r.school_id, r.grade) == key]
        x = row(key)
        x["going"] = sum(r.status == "going" for r in mine)
        x["maybe"] = sum(r.status == "maybe" for r in mine)
        x["not_going"] = sum(r.status == "not_going" for r in mine)
        x["waitlisted"] = sum(r.status in ("waitlisted", "offered") for r in mine)
        x["attended"] = sum(r.attended is True for r in mine)
        x["no_shows"] = sum(r.attended is False for r in mine)
        x["ovz"] = len({r.learner_id for r in mine if is_participant(r) and r.ovz})
    for key, ns in sent.items():
        x = row(key)
        x["notified"], x["delivered"] = len(ns), sum(n.status == "sent" for n in ns)
    # A mark goes to each grade its author answered for at the mark's school (no such answer: no grade).
    by_grade: dict[tuple[int | None, int | None], list[F]] = defaultdict(list)
    for f in marks:
        grades = {r.grade for r in ds.rsvps if r.event_id == event_id and r.user_id == f.user_id
                  and r.school_id == f.school_id and r.learner_id is not None} or {None}  # fmt: skip
        for g in grades:
            by_grade[(f.school_id, g)].append(f)
    for key, fs in by_grade.items():
        x = row(key)
        x["feedback_student"] = _avg([f.rating for f in fs if f.role == "student"])
        x["feedback_parent"] = _avg([f.rating for f in fs if f.role == "parent"])
    return ExpectedEvent(
        notified=len(counted),
        delivered=sum(n.status == "sent" for n in counted),
        going=sum(r.status == "going" for r in rsvps),
        maybe=sum(r.status == "maybe" for r in rsvps),
        not_going=sum(r.status == "not_going" for r in rsvps),
        waitlisted=sum(r.status in ("waitlisted", "offered") for r in rsvps),
        cancelled=sum(r.status == "cancelled" for r in rsvps),
        attended=sum(r.attended is True for r in rsvps),
        no_shows=sum(r.attended is False for r in rsvps),
        participants=len({r.learner_id for r in rsvps if is_participant(r)}),
        ovz=len({r.learner_id for r in rsvps if is_participant(r) and r.ovz}),
        feedback_student=_avg([f.rating for f in marks if f.role == "student"]),
        feedback_parent=_avg([f.rating for f in marks if f.role == "parent"]),
        rows=rows,
    )


def _close(got: tuple[float | None, int], want: tuple[float | None, int]) -> bool:
    (ga, gn), (wa, wn) = got, want
    return gn == wn and (ga is None) == (wa is None) and (wa is None or abs(ga - wa) < 1e-9)


def compare_event(report: Any, exp: ExpectedEvent, ds: Dataset) -> None:
    """An `EventReport` against `expected_event`: totals, feedback, and every row of the breakdown."""
    fields = ("notified", "delivered", "going", "maybe", "not_going", "waitlisted", "cancelled", "attended",
              "no_shows", "participants", "ovz")  # fmt: skip
    assert {f: getattr(report, f) for f in fields} == {f: getattr(exp, f) for f in fields}
    assert _close(report.feedback_student, exp.feedback_student)
    assert _close(report.feedback_parent, exp.feedback_parent)
    counts = (
        "going",
        "maybe",
        "not_going",
        "waitlisted",
        "attended",
        "no_shows",
        "ovz",
        "notified",
        "delivered",
    )
    got = {(x.school, x.grade): x for x in report.rows}
    want = {(ds.school_names[s] if s is not None else "", g): v for (s, g), v in exp.rows.items()}
    assert got.keys() == want.keys()
    for key, x in got.items():
        assert {c: getattr(x, c) for c in counts} == {c: want[key][c] for c in counts}, key
        assert _close(x.feedback_student, want[key]["feedback_student"]), key
        assert _close(x.feedback_parent, want[key]["feedback_parent"]), key
