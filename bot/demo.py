"""A small demo data set for the sandbox: two municipalities of Kostroma oblast, schools, hosts, events."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Event,
    EventKind,
    EventLevel,
    EventStatus,
    Municipality,
    Organisation,
    OrganisationType,
    PupilCount,
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
