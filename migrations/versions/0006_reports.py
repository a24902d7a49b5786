"""reports: a covering index for participation aggregates by the pupil's school

Revision ID: 0006
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["school_id", "event_id", "status", "attended", "learner_id", "grade", "ovz", "result"]


def upgrade() -> None:
    with op.batch_alter_table("rsvps", schema=None) as batch_op:
        batch_op.create_index("ix_rsvps_report", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rsvps", schema=None) as batch_op:
        batch_op.drop_index("ix_rsvps_report")
