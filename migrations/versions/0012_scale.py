"""Indexes for the leader's Oversikt at scale: completed visits per unit and day, and the
visits each cancellation covered.

Revision ID: 0012_scale
Revises: 0011_staffadmin
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_scale"
down_revision = "0011_staffadmin"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_appointment_unit_completed", "appointment", ["unit_id", "completed_at"])
    # Partial: most visits are never cancelled, and the planner should not count them.
    op.create_index(
        "ix_appointment_cancellation",
        "appointment",
        ["cancellation_id"],
        sqlite_where=sa.text("cancellation_id IS NOT NULL"),
        postgresql_where=sa.text("cancellation_id IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_appointment_cancellation", table_name="appointment")
    op.drop_index("ix_appointment_unit_completed", table_name="appointment")
