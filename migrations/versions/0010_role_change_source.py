"""audience: how each role change came about (role_changes.source)

Grants from the ADMIN_IDS setting have no actor, and neither has a change whose actor later used /forget:
`source` tells them apart (admin_ids, invitation, self, moved, revoked).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("role_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("role_changes", schema=None) as batch_op:
        batch_op.drop_column("source")
