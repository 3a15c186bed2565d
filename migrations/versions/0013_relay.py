"""A partial index for the threads waiting to be relayed (Alle tråder, Oversikt): the
pass-ons with a promise to relay the answer, without reading every thread event.

Revision ID: 0013_relay
Revises: 0012_scale
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_relay"
down_revision = "0012_scale"
branch_labels = None
depends_on = None

PROMISED = "kind = 'passed_on' AND answer_relayed IS TRUE"


def upgrade():
    op.create_index(
        "ix_thread_event_relay",
        "thread_event",
        ["thread_id", "at", "id"],
        sqlite_where=sa.text(PROMISED),
        postgresql_where=sa.text(PROMISED),
    )


def downgrade():
    op.drop_index("ix_thread_event_relay", table_name="thread_event")
