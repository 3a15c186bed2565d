"""Log-in sessions remember the provider's issuer, session id and subject (OIDC log-out).

Revision ID: 0002_oidc
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_oidc"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_issuer", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("oidc_sid", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("oidc_sub", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "ix_login_session_oidc_sid", ["oidc_issuer", "oidc_sid"], unique=False
        )
        batch_op.create_index(
            "ix_login_session_oidc_sub", ["oidc_issuer", "oidc_sub"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_index("ix_login_session_oidc_sub")
        batch_op.drop_index("ix_login_session_oidc_sid")
        batch_op.drop_column("oidc_sub")
        batch_op.drop_column("oidc_sid")
        batch_op.drop_column("oidc_issuer")
