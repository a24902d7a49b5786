"""privacy: a forgotten user's pupils stay as anonymous learners (learners.user_id nullable)

/forget used to cut answers off their pupil (rsvps.learner_id = NULL), so participations, unique pupils,
coverage and ОВЗ counts of past reports dropped. Now the pupil's learner row is kept without its user: a
school, a grade and the ОВЗ mark, nobody's child.

On SQLite the column change recreates `learners` (batch mode). `migrations/env.py` switches foreign keys
off for the migration: `DROP TABLE learners` with them on would set every rsvps.learner_id to NULL.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=BigId, nullable=True)


def downgrade() -> None:
    # Anonymous pupils cannot become anybody's again: their answers lose the pupil, as /forget did before
    # 0008 (the rsvps triggers of 0007 mark those pupils stale, so report summaries follow).
    op.execute(
        "UPDATE rsvps SET learner_id = NULL WHERE learner_id IN (SELECT id FROM learners WHERE user_id IS NULL)"
    )
    op.execute("DELETE FROM learners WHERE user_id IS NULL")
    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=BigId, nullable=False)
