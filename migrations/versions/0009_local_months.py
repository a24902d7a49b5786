"""reports: months by the municipality's calendar, as the periods are (they were UTC months)

An event at 00:00–03:00 Moscow time on the 1st belonged to the previous month in «By month» while the
period's bounds put it in this one. The summaries keep a pupil's month in the municipality's zone
(`month`) and in the default zone (`default_month`, for the view of all municipalities). Existing atoms
get their old month as `default_month`, so the refresh takes them out of exactly the counters they are in,
and every pupil with atoms is marked stale: the first overview after the upgrade recounts them.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_pupil_atoms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("default_month", sa.String(length=7), server_default="", nullable=False)
        )
    op.execute("UPDATE report_pupil_atoms SET default_month = month")
    op.execute(
        "INSERT INTO report_stale_pupils (learner_id) SELECT DISTINCT learner_id FROM report_pupil_atoms "
        "WHERE learner_id NOT IN (SELECT learner_id FROM report_stale_pupils)"
    )


def downgrade() -> None:
    # Back to one month per atom: the pupils' distinct counts are recounted from scratch on the next read.
    op.execute("DELETE FROM report_pupil_counts")
    op.execute("DELETE FROM report_pupil_atoms")
    op.execute(
        "INSERT INTO report_stale_pupils (learner_id) SELECT DISTINCT learner_id FROM rsvps "
        "WHERE learner_id IS NOT NULL AND learner_id NOT IN (SELECT learner_id FROM report_stale_pupils)"
    )
    with op.batch_alter_table("report_pupil_atoms", schema=None) as batch_op:
        batch_op.drop_column("default_month")
