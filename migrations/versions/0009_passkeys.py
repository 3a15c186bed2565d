"""Passkeys for staff: challenges kept server-side, and a WebAuthn user handle per account.

- passkey_challenge: each challenge issued (its digest), used once, until it expires;
- staff_account.passkey_user_handle: random bytes given with the first passkey, which a
  discoverable credential returns on log-in.

Revision ID: 0009_passkeys
Revises: 0008_threads
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_passkeys"
down_revision = "0008_threads"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "passkey_challenge",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("challenge_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_account.id"],
            name=op.f("fk_passkey_challenge_staff_id_staff_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey_challenge")),
        sa.UniqueConstraint("challenge_hash", name=op.f("uq_passkey_challenge_challenge_hash")),
    )
    with op.batch_alter_table("passkey_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_passkey_challenge_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_passkey_challenge_staff_id"), ["staff_id"], unique=False
        )
    with op.batch_alter_table("staff_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passkey_user_handle", sa.LargeBinary(length=64)))
        batch_op.create_index(
            batch_op.f("ix_staff_account_passkey_user_handle"),
            ["passkey_user_handle"],
            unique=True,
        )


def downgrade():
    with op.batch_alter_table("staff_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_account_passkey_user_handle"))
        batch_op.drop_column("passkey_user_handle")
    with op.batch_alter_table("passkey_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passkey_challenge_staff_id"))
        batch_op.drop_index(batch_op.f("ix_passkey_challenge_expires_at"))
    op.drop_table("passkey_challenge")
