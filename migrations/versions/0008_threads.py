"""Alle tråder: an index for a unit's threads by newest activity (keyset on activity, id).

Whether a thread waits for an answer from outside is derived from its events; no column.

Revision ID: 0008_threads
Revises: 0007_staff
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008_threads"
down_revision = "0007_staff"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_thread_unit_activity", "thread", ["unit_id", "last_activity_at", "id"], unique=False
    )


def downgrade():
    op.drop_index("ix_thread_unit_activity", table_name="thread")
