"""A generated participation data set with known ground truth, and the expected report numbers computed
independently, in plain Python, from the generated records (never from the database)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
    pupils: dict[tuple[int, int], int] = field(default_factory=dict)  # (school, grade) -> pupils in YEAR
    teacher_user_id: int = 0
    student_user_id: int = 0
    parent_two_children: tuple[int, int, int] = (0, 0, 0)  # user, learner a, learner b
    twice_learner: int = 0


async def build(
    session: AsyncSession, seed: int = 7, teacher_tg: int = 5001, student_tg: int = 5002
) -> Dataset:
    """Users, learners, events, answers and feedback in Kostroma (and some in Chukhloma), with edge cases."""
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
    session.add(Learner(user_id=student.id, school_id=first_school, grade=9, is_self=True))
    ds.teacher_user_id, ds.student_user_id = teacher.id, student.id
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
    ds.learners = [L(x.id, x.user_id, x.school_id, x.grade, x.ovz) for x, _ in learner_objs]
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
            grade_min=1,
            grade_max=11,
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
            ds.feedback.append(F(event.id, role, r.school_id or 0, rating))
            session.add(
                Feedback(
                    event_id=event.id,
                    user_id=r.user_id,
                    respondent_role=role,
                    school_id=r.school_id,
                    rating=rating,
                )
            )
    await session.flush()
    return ds


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


def _in(period: Period | None, e: E) -> bool:
    day = e.starts_at.astimezone(MSK).date()
    return day <= YEAR.end if period is None else period.start <= day <= period.end


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
    cum = [r for r in ds.rsvps if held(events[r.event_id]) and _in(None, events[r.event_id])
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
    for r in part:
        months[events[r.event_id].starts_at.astimezone(UTC).strftime("%Y-%m")] += 1
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
    )
