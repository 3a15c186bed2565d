"""Oversikt at scale: each cancellation's acknowledgement row carries when the cancellation
was made, indexed with its unit, so a unit's cancellations in a period are one index range
(before, every municipality's cancellations in the period were read to find the unit's).

Revision ID: 0014_ackdate
Revises: 0013_relay
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_ackdate"
down_revision = "0013_relay"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "cancellation_acknowledgement",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "UPDATE cancellation_acknowledgement SET created_at = (SELECT cancellation.created_at "
        "FROM cancellation WHERE cancellation.id = cancellation_acknowledgement.cancellation_id)"
    )
    with op.batch_alter_table("cancellation_acknowledgement") as batch:
        batch.alter_column("created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index(
        "ix_cancellation_ack_unit_created",
        "cancellation_acknowledgement",
        ["unit_id", "created_at"],
    )


def downgrade():
    op.drop_index("ix_cancellation_ack_unit_created", table_name="cancellation_acknowledgement")
    with op.batch_alter_table("cancellation_acknowledgement") as batch:
        batch.drop_column("created_at")
