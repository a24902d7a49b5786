"""A large participation data set for the reports benchmark, written in bulk: `executemany` on SQLite,
COPY (asyncpg `copy_records_to_table`) on PostgreSQL. Explicit ids, so nothing is read back.

Shape (full size): 20 municipalities × 25 schools, 100,000 users (60 % pupils, 40 % parents with one or two
children, ≈120,000 learners), 2,000 events over two school years, 1,000,000 answers (500 per event, pupils of
the event's municipality), 100,000 feedback marks, 100,000 announcements in the outbox.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import make_url

KINDS = ["open_day", "holiday_programme", "profession_trial", "excursion", "fair", "online_lesson", "contest",
         "master_class", "consultation", "class_hour", "parent_meeting", "other"]  # fmt: skip
LEVELS = ["international", "federal", "regional", "municipal", "school"]
HOSTS = ["college", "university", "enterprise", "additional_education", "employment_centre"]
STATUS_WEIGHTS = [
    ("going", 55),
    ("maybe", 15),
    ("not_going", 15),
    ("waitlisted", 5),
    ("offered", 2),
    ("cancelled", 8),
]
EVENT_STATUS = [("finished", 60), ("published", 30), ("cancelled", 5), ("draft", 5)]
START = datetime(2024, 9, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class Sizes:
    municipalities: int = 20
    schools_per_municipality: int = 25
    users: int = 100_000
    events: int = 2_000
    rsvps_per_event: int = 500
    feedback_per_event: int = 50
    announced_events: int = 100
    announcements_per_event: int = 1_000


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _pick(rng: random.Random, weights: Sequence[tuple[str, int]], n: int) -> list[str]:
    return rng.choices([w[0] for w in weights], weights=[w[1] for w in weights], k=n)


def generate(sizes: Sizes, seed: int = 1) -> list[Table]:
    rng = random.Random(seed)
    M, S = sizes.municipalities, sizes.schools_per_municipality
    munis = [(m, "Бенчмарк", f"Муниципалитет {m}", "Europe/Moscow") for m in range(1, M + 1)]
    schools = [(m * 1000 + s, m, f"Школа № {s} ({m})") for m in range(1, M + 1) for s in range(1, S + 1)]
    school_ids = [s[0] for s in schools]
    orgs = [
        (m * 100 + i, m, f"Площадка {i} ({m})", HOSTS[i % len(HOSTS)])
        for m in range(1, M + 1)
        for i in range(5)
    ]
    counts = [
        (n, sid, g, year, rng.randint(40, 120))
        for n, (sid, g, year) in enumerate(
            ((s, g, y) for s in school_ids for g in range(1, 12) for y in (2024, 2025)), 1
        )
    ]
    users = []
    learners = []
    learners_by_muni: dict[int, list[tuple[int, int, int, int, bool]]] = {m: [] for m in range(1, M + 1)}
    lid = 0
    for uid in range(1, sizes.users + 1):
        users.append((uid, 10_000_000 + uid, "ru", START, True, START))
        is_pupil = uid % 5 < 3
        for _ in range(1 if is_pupil or rng.random() < 0.5 else 2):
            lid += 1
            school = rng.choice(school_ids)
            grade = rng.randint(1, 11)
            ovz = rng.random() < 0.05
            learners.append((lid, uid, school, grade, is_pupil, ovz, START))
            learners_by_muni[school // 1000].append((lid, uid, school, grade, ovz))
    span = (datetime(2026, 8, 31, tzinfo=UTC) - START).total_seconds()
    events = []
    statuses = _pick(rng, EVENT_STATUS, sizes.events)
    for eid in range(1, sizes.events + 1):
        m = (eid - 1) % M + 1
        kind = KINDS[eid % len(KINDS)]
        starts = START + timedelta(seconds=rng.random() * span)
        org = m * 100 + rng.randrange(5) if eid % 3 else None
        events.append((eid, kind, f"Мероприятие {eid}", "", starts, LEVELS[eid % len(LEVELS)], 1, 11, True, False,
                       False, m, False, statuses[eid - 1], START, 1, org))  # fmt: skip
    rsvps = []
    feedback = []
    rid = fid = 0
    for eid, kind, *_rest in events:
        m = (eid - 1) % M + 1
        starts = events[eid - 1][4]
        past = starts < NOW
        chosen = rng.sample(learners_by_muni[m], sizes.rsvps_per_event)
        answers = _pick(rng, STATUS_WEIGHTS, len(chosen))
        rated: set[int] = set()
        for n, ((lid, uid, school, grade, ovz), status) in enumerate(zip(chosen, answers, strict=True)):
            rid += 1
            attended = None
            if past and status == "going":
                x = rng.random()
                attended = True if x < 0.7 else False if x < 0.9 else None
            result = None
            if kind == "contest" and attended:
                x = rng.random()
                result = "winner" if x < 0.05 else "prize_winner" if x < 0.15 else None
            role = "student" if uid % 5 < 3 else "parent"
            rsvps.append(
                (
                    rid,
                    eid,
                    uid,
                    lid,
                    status,
                    role,
                    school,
                    grade,
                    ovz,
                    False,
                    attended,
                    result,
                    starts,
                    starts,
                )
            )
            if n < sizes.feedback_per_event and past and uid not in rated:
                rated.add(uid)
                fid += 1
                feedback.append((fid, eid, uid, role, school, rng.randint(1, 5), starts))
    outbox = []
    oid = 0
    for eid in range(1, min(sizes.announced_events, sizes.events) + 1):
        for uid in range(1, sizes.announcements_per_event + 1):
            oid += 1
            status = "sent" if uid % 10 else "undeliverable"
            outbox.append((oid, f"announce:{eid}:{uid}", uid, 10_000_000 + uid, "announcement", eid, "{}", 5, status,
                           1, START, START))  # fmt: skip
    return [
        Table("municipalities", ["id", "region", "name", "timezone"], munis),
        Table("schools", ["id", "municipality_id", "name"], schools),
        Table("organisations", ["id", "municipality_id", "name", "type"], orgs),
        Table("pupil_counts", ["id", "school_id", "grade", "school_year", "pupils"], counts),
        Table("users", ["id", "telegram_id", "language", "consent_at", "is_active", "created_at"], users),
        Table("learners", ["id", "user_id", "school_id", "grade", "is_self", "ovz", "created_at"], learners),
        Table(
            "events",
            [
                "id",
                "kind",
                "title",
                "description",
                "starts_at",
                "level",
                "grade_min",
                "grade_max",
                "for_students",
                "for_parents",
                "for_teachers",
                "municipality_id",
                "ovz_suitable",
                "status",
                "created_at",
                "version",
                "organisation_id",
            ],
            events,
        ),
        Table(
            "rsvps",
            [
                "id",
                "event_id",
                "user_id",
                "learner_id",
                "status",
                "respondent_role",
                "school_id",
                "grade",
                "ovz",
                "walk_in",
                "attended",
                "result",
                "created_at",
                "updated_at",
            ],
            rsvps,
        ),
        Table(
            "feedback",
            ["id", "event_id", "user_id", "respondent_role", "school_id", "rating", "created_at"],
            feedback,
        ),
        Table(
            "outbox",
            [
                "id",
                "key",
                "user_id",
                "chat_id",
                "kind",
                "event_id",
                "payload",
                "priority",
                "status",
                "attempts",
                "not_before",
                "created_at",
            ],
            outbox,
        ),
    ]


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it on SQLite: UTC timestamps as text, booleans as 0/1."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def load_sqlite(url: str, tables: Sequence[Table]) -> None:
    path = make_url(url).database
    assert path
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        for table in tables:
            marks = ", ".join("?" for _ in table.columns)
            conn.executemany(
                f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})",
                ([_sqlite_value(v) for v in row] for row in table.rows),
            )
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


async def load_postgresql(url: str, tables: Sequence[Table]) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        user=u.username, password=u.password, host=u.host, port=u.port or 5432, database=u.database
    )
    try:
        for table in tables:
            await conn.copy_records_to_table(table.name, records=table.rows, columns=table.columns)
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
            )
        # What autovacuum does to a live database: statistics, and the visibility map that index-only
        # scans need (a freshly COPYed table has none, and the planner falls back to sequential scans).
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
