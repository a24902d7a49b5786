"""reports: summaries of answers kept exact by triggers, so the overview reads counters, not every answer

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# What makes a summary stale: any change of an answer (its event's tallies and its pupil's distinct
# counts), a change of an event's status or start (its pupils), a school moving to another municipality or
# a municipality changing its time zone (the school years of their pupils' participations).
RSVP_COLUMNS = "event_id, learner_id, status, attended, result, school_id, grade, ovz"


def _mark_event(row: str) -> str:
    """SQLite: no INSERT OR IGNORE here, the statement that fired the trigger (a cascade) overrides it."""
    return (
        f"INSERT INTO report_stale_events (event_id) SELECT {row}.event_id "
        f"WHERE NOT EXISTS (SELECT 1 FROM report_stale_events WHERE event_id = {row}.event_id);"
    )


def _mark_pupil(row: str) -> str:
    return (
        f"INSERT INTO report_stale_pupils (learner_id) SELECT {row}.learner_id WHERE {row}.learner_id IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM report_stale_pupils WHERE learner_id = {row}.learner_id);"
    )


def _mark_pupils(where: str) -> str:
    return (
        "INSERT INTO report_stale_pupils (learner_id) SELECT DISTINCT learner_id FROM rsvps "
        f"WHERE {where} AND learner_id IS NOT NULL "
        "AND learner_id NOT IN (SELECT learner_id FROM report_stale_pupils);"
    )


SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER report_rsvp_insert AFTER INSERT ON rsvps BEGIN
        {_mark_event("NEW")} {_mark_pupil("NEW")}
    END""",
    f"""CREATE TRIGGER report_rsvp_update AFTER UPDATE OF {RSVP_COLUMNS} ON rsvps BEGIN
        {_mark_event("OLD")} {_mark_event("NEW")} {_mark_pupil("OLD")} {_mark_pupil("NEW")}
    END""",
    f"""CREATE TRIGGER report_rsvp_delete AFTER DELETE ON rsvps BEGIN
        {_mark_event("OLD")} {_mark_pupil("OLD")}
    END""",
    f"""CREATE TRIGGER report_event_update AFTER UPDATE OF status, starts_at ON events
    WHEN OLD.status IS NOT NEW.status OR OLD.starts_at IS NOT NEW.starts_at BEGIN
        {_mark_pupils("event_id = NEW.id")}
    END""",
    f"""CREATE TRIGGER report_school_update AFTER UPDATE OF municipality_id ON schools
    WHEN OLD.municipality_id IS NOT NEW.municipality_id BEGIN
        {_mark_pupils("school_id = NEW.id")}
    END""",
    f"""CREATE TRIGGER report_municipality_update AFTER UPDATE OF timezone ON municipalities
    WHEN OLD.timezone IS NOT NEW.timezone BEGIN
        {_mark_pupils("school_id IN (SELECT id FROM schools WHERE municipality_id = NEW.id)")}
    END""",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS report_rsvp_insert",
    "DROP TRIGGER IF EXISTS report_rsvp_update",
    "DROP TRIGGER IF EXISTS report_rsvp_delete",
    "DROP TRIGGER IF EXISTS report_event_update",
    "DROP TRIGGER IF EXISTS report_school_update",
    "DROP TRIGGER IF EXISTS report_municipality_update",
]

# PostgreSQL: statement-level triggers with transition tables, so a bulk statement (COPY, a /forget, an
# event's cancellation) marks its rows in one INSERT … SELECT rather than one call per row.
PG_FUNCTIONS = [
    """CREATE FUNCTION report_mark_rsvps_new() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO report_stale_events (event_id) SELECT DISTINCT event_id FROM new_rows
            ON CONFLICT DO NOTHING;
        INSERT INTO report_stale_pupils (learner_id)
            SELECT DISTINCT learner_id FROM new_rows WHERE learner_id IS NOT NULL ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION report_mark_rsvps_old() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO report_stale_events (event_id) SELECT DISTINCT event_id FROM old_rows
            ON CONFLICT DO NOTHING;
        INSERT INTO report_stale_pupils (learner_id)
            SELECT DISTINCT learner_id FROM old_rows WHERE learner_id IS NOT NULL ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION report_mark_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO report_stale_pupils (learner_id)
            SELECT DISTINCT r.learner_id FROM rsvps r
            JOIN new_rows n ON n.id = r.event_id JOIN old_rows o ON o.id = n.id
            WHERE r.learner_id IS NOT NULL
              AND (o.status IS DISTINCT FROM n.status OR o.starts_at IS DISTINCT FROM n.starts_at)
            ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION report_mark_schools() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO report_stale_pupils (learner_id)
            SELECT DISTINCT r.learner_id FROM rsvps r
            JOIN new_rows n ON n.id = r.school_id JOIN old_rows o ON o.id = n.id
            WHERE r.learner_id IS NOT NULL AND o.municipality_id IS DISTINCT FROM n.municipality_id
            ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION report_mark_municipalities() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO report_stale_pupils (learner_id)
            SELECT DISTINCT r.learner_id FROM rsvps r
            JOIN schools s ON s.id = r.school_id
            JOIN new_rows n ON n.id = s.municipality_id JOIN old_rows o ON o.id = n.id
            WHERE r.learner_id IS NOT NULL AND o.timezone IS DISTINCT FROM n.timezone
            ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
]
PG_TRIGGERS = [
    """CREATE TRIGGER report_rsvp_insert AFTER INSERT ON rsvps REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_rsvps_new()""",
    """CREATE TRIGGER report_rsvp_update_new AFTER UPDATE ON rsvps REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_rsvps_new()""",
    """CREATE TRIGGER report_rsvp_update_old AFTER UPDATE ON rsvps REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_rsvps_old()""",
    """CREATE TRIGGER report_rsvp_delete AFTER DELETE ON rsvps REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_rsvps_old()""",
    """CREATE TRIGGER report_event_update AFTER UPDATE ON events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_events()""",
    """CREATE TRIGGER report_school_update AFTER UPDATE ON schools
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_schools()""",
    """CREATE TRIGGER report_municipality_update AFTER UPDATE ON municipalities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_municipalities()""",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS report_rsvp_insert ON rsvps",
    "DROP TRIGGER IF EXISTS report_rsvp_update_new ON rsvps",
    "DROP TRIGGER IF EXISTS report_rsvp_update_old ON rsvps",
    "DROP TRIGGER IF EXISTS report_rsvp_delete ON rsvps",
    "DROP TRIGGER IF EXISTS report_event_update ON events",
    "DROP TRIGGER IF EXISTS report_school_update ON schools",
    "DROP TRIGGER IF EXISTS report_municipality_update ON municipalities",
    "DROP FUNCTION IF EXISTS report_mark_rsvps_new()",
    "DROP FUNCTION IF EXISTS report_mark_rsvps_old()",
    "DROP FUNCTION IF EXISTS report_mark_events()",
    "DROP FUNCTION IF EXISTS report_mark_schools()",
    "DROP FUNCTION IF EXISTS report_mark_municipalities()",
]


def upgrade() -> None:
    op.create_table(
        "report_stale_events",
        sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_report_stale_events")),
    )
    op.create_table(
        "report_stale_pupils",
        sa.Column("learner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("learner_id", name=op.f("pk_report_stale_pupils")),
    )
    op.create_table(
        "report_event_tallies",
        sa.Column("event_id", BigId, autoincrement=False, nullable=False),
        sa.Column("school_id", sa.BigInteger(), autoincrement=False, nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "going",
                "maybe",
                "waitlisted",
                "attended",
                "no_shows",
                "participations",
                "winners",
                "prize_winners",
                "adults",
            )
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_report_event_tallies_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "school_id", name=op.f("pk_report_event_tallies")),
    )
    op.create_index("ix_report_event_tallies_school", "report_event_tallies", ["school_id", "event_id"])
    op.create_table(
        "report_pupil_atoms",
        sa.Column("id", BigId, nullable=False),
        sa.Column("learner_id", sa.BigInteger(), nullable=False),
        sa.Column("municipality_id", sa.BigInteger(), nullable=False),
        sa.Column("school_id", sa.BigInteger(), nullable=False),
        sa.Column("grade", sa.SmallInteger(), nullable=True),
        sa.Column("ovz", sa.Boolean(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("school_year", sa.SmallInteger(), nullable=False),
        sa.Column("default_school_year", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_pupil_atoms")),
    )
    op.create_index(op.f("ix_report_pupil_atoms_learner_id"), "report_pupil_atoms", ["learner_id"])
    op.create_table(
        "report_pupil_counts",
        sa.Column("unit", sa.String(length=24), nullable=False),
        sa.Column("school_year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("learners", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit", "school_year", "measure", name=op.f("pk_report_pupil_counts")),
    )
    op.create_index(op.f("ix_rsvps_learner_id"), "rsvps", ["learner_id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in (PG_FUNCTIONS + PG_TRIGGERS) if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    # Everything already answered is stale: the first overview after the upgrade counts it.
    op.execute("INSERT INTO report_stale_events (event_id) SELECT DISTINCT event_id FROM rsvps")
    op.execute(
        "INSERT INTO report_stale_pupils (learner_id) "
        "SELECT DISTINCT learner_id FROM rsvps WHERE learner_id IS NOT NULL"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in PG_DROP if postgresql else SQLITE_DROP:
        op.execute(statement)
    op.drop_index(op.f("ix_rsvps_learner_id"), table_name="rsvps")
    op.drop_table("report_pupil_counts")
    op.drop_index(op.f("ix_report_pupil_atoms_learner_id"), table_name="report_pupil_atoms")
    op.drop_table("report_pupil_atoms")
    op.drop_index("ix_report_event_tallies_school", table_name="report_event_tallies")
    op.drop_table("report_event_tallies")
    op.drop_table("report_stale_pupils")
    op.drop_table("report_stale_events")
