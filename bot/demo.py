"""A small demo data set for the sandbox: two municipalities of Kostroma oblast, schools, hosts, events."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
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
    OrganisationType,
    PupilCount,
    Rsvp,
    RsvpStatus,
    School,
)
from models.base import utcnow

REGION = "Костромская область"
MUNICIPALITIES = {
    "город Кострома": [
        "МБОУ «Гимназия № 1» г. Костромы",
        "МБОУ «Средняя общеобразовательная школа № 7» г. Костромы",
        "МБОУ «Лицей № 17» г. Костромы",
    ],
    "Чухломский муниципальный район": [
        "МОУ Чухломская средняя школа",
        "МОУ Судайская средняя школа",
    ],
}
ORGANISATIONS = [
    (
        "город Кострома",
        "ОГБПОУ «Костромской энергетический техникум им. Ф. В. Чижова»",
        OrganisationType.college,
    ),
    ("город Кострома", "Детский технопарк «Кванториум» г. Костромы", OrganisationType.additional_education),
    ("город Кострома", "Костромской государственный университет", OrganisationType.university),
    ("Чухломский муниципальный район", "Чухломский лесхоз", OrganisationType.enterprise),
]


def _at(days: int, hour: int, zone: ZoneInfo) -> datetime:
    day = (utcnow().astimezone(zone) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=zone)


async def seed_demo(session: AsyncSession) -> bool:
    """Fill an empty database with the demo set; does nothing if a municipality already exists."""
    if await session.scalar(select(Municipality.id).limit(1)) is not None:
        return False
    munis, orgs = await seed_directory(session)
    await seed_events(session, munis, orgs)
    await seed_pupil_counts(session)
    await seed_history(session, munis, orgs)
    return True


def school_year_of(moment: datetime) -> int:
    """A school year is named by the calendar year it starts in (1 September)."""
    return moment.year if moment.month >= 9 else moment.year - 1


async def seed_pupil_counts(session: AsyncSession) -> None:
    """Pupils per grade in every demo school, the denominators of coverage in /stats."""
    year = school_year_of(utcnow())
    schools = (await session.scalars(select(School).order_by(School.id))).all()
    for n, school in enumerate(schools):
        size = 52 if n % 2 == 0 else 27  # a town school with two classes a grade, a village one with one
        session.add_all(
            PupilCount(school_id=school.id, grade=grade, school_year=year, pupils=size - grade)
            for grade in range(1, 12)
        )
    await session.flush()


async def seed_directory(session: AsyncSession) -> tuple[dict[str, Municipality], dict[str, Organisation]]:
    """Municipalities, their schools and host organisations."""
    munis: dict[str, Municipality] = {}
    for name, schools in MUNICIPALITIES.items():
        municipality = Municipality(region=REGION, name=name, timezone="Europe/Moscow")
        session.add(municipality)
        await session.flush()
        munis[name] = municipality
        session.add_all(School(municipality_id=municipality.id, name=school) for school in schools)
    orgs: dict[str, Organisation] = {}
    for muni, name, kind in ORGANISATIONS:
        org = Organisation(municipality_id=munis[muni].id, name=name, type=kind)
        session.add(org)
        orgs[name] = org
    await session.flush()
    return munis, orgs


async def seed_events(
    session: AsyncSession, munis: dict[str, Municipality], orgs: dict[str, Organisation]
) -> None:
    """A few published events typical of the municipal plans."""
    zone = ZoneInfo("Europe/Moscow")
    kostroma, chukhloma = munis["город Кострома"].id, munis["Чухломский муниципальный район"].id
    college = orgs["ОГБПОУ «Костромской энергетический техникум им. Ф. В. Чижова»"].id
    kvantorium = orgs["Детский технопарк «Кванториум» г. Костромы"].id
    events = [
        Event(
            kind=EventKind.open_day, title="День открытых дверей в энергетическом техникуме",
            description="Экскурсия по мастерским, встреча с преподавателями, ответы о приёме на 2027 год.",
            starts_at=_at(12, 11, zone), municipality_id=kostroma, organisation_id=college,
            venue="г. Кострома, ул. Советская, 128", grade_min=8, grade_max=11, for_students=True,
            for_parents=True, level=EventLevel.municipal,
        ),
        Event(
            kind=EventKind.profession_trial, title="Профпроба «Электромонтёр»",
            description="Практическое занятие в мастерской техникума. Количество мест ограничено.",
            starts_at=_at(16, 14, zone), municipality_id=kostroma, organisation_id=college, grade_min=8,
            grade_max=11, capacity=12, ovz_suitable=True, level=EventLevel.municipal,
        ),
        Event(
            kind=EventKind.holiday_programme, title="«Каникулы с пользой»: инженерная смена в Кванториуме",
            description="Три дня занятий по робототехнике и VR в зимние каникулы.",
            starts_at=_at(30, 10, zone), municipality_id=kostroma, organisation_id=kvantorium, grade_min=5,
            grade_max=9, level=EventLevel.municipal,
        ),
        Event(
            kind=EventKind.online_lesson, title="Открытый урок «ПроеКТОриЯ»: профессии энергетики",
            starts_at=_at(7, 12, zone), municipality_id=chukhloma, online_url="https://proektoria.online",
            grade_min=6, grade_max=11, level=EventLevel.federal,
        ),
        Event(
            kind=EventKind.parent_meeting, title="Родительское собрание «Выбор профессии после 9 класса»",
            starts_at=_at(9, 18, zone), municipality_id=chukhloma, venue="Актовый зал Чухломской школы",
            grade_min=8, grade_max=9, for_students=False, for_parents=True, level=EventLevel.school,
        ),
    ]  # fmt: skip
    now = utcnow()
    for event in events:
        event.status = EventStatus.published
        event.published_at = now
    session.add_all(events)
    await session.flush()


async def seed_history(
    session: AsyncSession, munis: dict[str, Municipality], orgs: dict[str, Organisation]
) -> None:
    """This autumn's finished events with answers, attendance, results and marks, so that /stats, its
    charts and /export have something to show. The pupils are anonymous learners (no user, no chat),
    as after /forget: nobody in the sandbox is messaged about them."""
    zone = ZoneInfo("Europe/Moscow")
    rng = random.Random(2026)
    kostroma, chukhloma = munis["город Кострома"].id, munis["Чухломский муниципальный район"].id
    college = orgs["ОГБПОУ «Костромской энергетический техникум им. Ф. В. Чижова»"].id
    enterprise = orgs["Чухломский лесхоз"].id
    university = orgs["Костромской государственный университет"].id
    past = [
        (EventKind.excursion, "Экскурсия в Чухломский лесхоз", -78, chukhloma, enterprise, 7, 9, 25),
        (EventKind.profession_trial, "Профпроба «Повар-кондитер»", -64, kostroma, college, 8, 11, 15),
        (EventKind.fair, "Ярмарка учебных мест «Твой выбор»", -50, kostroma, None, 8, 11, None),
        (EventKind.contest, "Олимпиада «Юный инженер»", -36, kostroma, university, 5, 9, None),
        (EventKind.profession_trial, "Профпроба «Лесник»", -22, chukhloma, enterprise, 8, 11, 10),
        (EventKind.online_lesson, "«ПроеКТОриЯ»: профессии будущего", -8, chukhloma, None, 6, 11, None),
    ]
    schools: dict[int, list[School]] = {}
    for school in (await session.scalars(select(School).order_by(School.id))).all():
        schools.setdefault(school.municipality_id, []).append(school)
    pool: dict[int, list[Learner]] = {}
    for muni_id, muni_schools in schools.items():
        for school in muni_schools:
            for _ in range(30):
                learner = Learner(
                    user_id=None, school_id=school.id, grade=rng.randint(5, 11), ovz=rng.random() < 0.06
                )
                session.add(learner)
                pool.setdefault(muni_id, []).append(learner)
    await session.flush()
    for kind, title, days, muni, org, low, high, capacity in past:
        event = Event(
            kind=kind, title=title, starts_at=_at(days, 11, zone), ends_at=_at(days, 14, zone),
            municipality_id=muni, organisation_id=org, grade_min=low, grade_max=high, capacity=capacity,
            level=EventLevel.regional if kind is EventKind.contest else EventLevel.municipal,
            status=EventStatus.finished, published_at=_at(days - 14, 10, zone),
        )  # fmt: skip
        session.add(event)
        await session.flush()
        eligible = [lr for lr in pool[muni] if low <= lr.grade <= high]
        chosen = rng.sample(eligible, min(len(eligible), capacity or rng.randint(20, 40)))
        for learner in chosen:
            status = rng.choices([RsvpStatus.going, RsvpStatus.maybe, RsvpStatus.not_going], [8, 1, 1])[0]
            attended = rng.random() < 0.85 if status is RsvpStatus.going else None
            result = None
            if kind is EventKind.contest and attended:
                result = rng.choices([None, "prize_winner", "winner"], [8, 2, 1])[0]
            session.add(
                Rsvp(
                    event_id=event.id, user_id=None, learner_id=learner.id, status=status,
                    respondent_role=rng.choice(["student", "parent"]), school_id=learner.school_id,
                    grade=learner.grade, ovz=learner.ovz, attended=attended, result=result,
                )
            )  # fmt: skip
            if attended and rng.random() < 0.5:
                session.add(
                    Feedback(
                        event_id=event.id, user_id=None, respondent_role=rng.choice(["student", "parent"]),
                        school_id=learner.school_id, rating=rng.choices([3, 4, 5], [1, 3, 6])[0],
                    )
                )  # fmt: skip
    await session.flush()
