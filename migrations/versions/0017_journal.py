"""Messages the record system journals: by which API client, under which reference.

Revision ID: 0017_journal
Revises: 0016_versions
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_journal"
down_revision = "0016_versions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("journaled_by_api_client_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("journal_reference", sa.String(length=200), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_message_journaled_by_api_client_id_api_client"),
            "api_client",
            ["journaled_by_api_client_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("message") as batch:
        batch.drop_constraint(
            batch.f("fk_message_journaled_by_api_client_id_api_client"), type_="foreignkey"
        )
        batch.drop_column("journal_reference")
        batch.drop_column("journaled_by_api_client_id")
