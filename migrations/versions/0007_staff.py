"""The staff side's rough edges: a registered visit can be undone for a while, and the
reason for a visit cancelled by the service can be shown to the resident.

- appointment.undo_until: until when the employee who registered a visit may undo it
  (its completed-visit notice is due only then); empty once the window has passed or the
  visit is undone;
- appointment.cancel_reason_shared: the service chose to show the resident why it
  cancelled (off for every visit cancelled before: reasons can hold internal notes).

Both are added columns, so SQLite keeps the table as it is (no rebuild).

Revision ID: 0007_staff
Revises: 0005_throttle
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_staff"
down_revision = "0005_throttle"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undo_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "cancel_reason_shared", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason_shared")
        batch_op.drop_column("undo_until")
