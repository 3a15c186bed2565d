"""Staff accounts in Administrasjon: a one-time password must be changed at first log-in.

- staff_account.password_must_change: set with a one-time password from the administrator,
  cleared when the staff member chooses their own.

Revision ID: 0011_staffadmin
Revises: 0010_admin
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_staffadmin"
down_revision = "0010_admin"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_account") as batch:
        batch.add_column(
            sa.Column(
                "password_must_change", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade():
    with op.batch_alter_table("staff_account") as batch:
        batch.drop_column("password_must_change")
