"""Visits the record system can follow: each appointment's version and when it last
changed, and the record system's own identifiers of visits.

- appointment: `version` (1 for every visit there is), `updated_at` (its last change as far
  as the row tells: cancelled, completed or created), indexed for the API's `_lastUpdated`
  searches (not led by the unit, which SQLite would then take for Oversikt's ranges), and
  `published_by_api_client_id` (the client that sent it). On SQLite making `updated_at`
  NOT NULL rebuilds the table (batch mode).
- appointment_identifier: new.

Revision ID: 0016_versions
Revises: 0015_api
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_versions"
down_revision = "0015_api"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "appointment", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("appointment", sa.Column("updated_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE appointment SET updated_at = COALESCE(cancelled_at, completed_at, created_at)"
    )
    with op.batch_alter_table("appointment") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.add_column(sa.Column("published_by_api_client_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_appointment_published_by_api_client_id_api_client"),
            "api_client",
            ["published_by_api_client_id"],
            ["id"],
        )
    op.create_index("ix_appointment_updated", "appointment", ["updated_at", "id"])
    # The rebuild above changed the order SQLite weighs equal indexes in: Oversikt's count of
    # the visits each cancellation covered in a unit went to the unit's completed-visit
    # index (all its visits, per cancellation). Led by the cancellation and naming the unit,
    # this index matches both terms and wins on its merits.
    _cancellation_index(["cancellation_id", "unit_id"])
    op.create_table(
        "appointment_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_appointment_identifier_appointment_id_appointment"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_appointment_identifier_municipality_id_municipality"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_identifier")),
        sa.UniqueConstraint(
            "appointment_id", name=op.f("uq_appointment_identifier_appointment_id")
        ),
        sa.UniqueConstraint(
            "municipality_id",
            "system",
            "value",
            name=op.f("uq_appointment_identifier_municipality_id_system_value"),
        ),
    )


def _cancellation_index(columns: list[str]) -> None:
    op.drop_index("ix_appointment_cancellation", table_name="appointment")
    op.create_index(
        "ix_appointment_cancellation",
        "appointment",
        columns,
        sqlite_where=sa.text("cancellation_id IS NOT NULL"),
        postgresql_where=sa.text("cancellation_id IS NOT NULL"),
    )


def downgrade():
    _cancellation_index(["cancellation_id"])
    op.drop_table("appointment_identifier")
    op.drop_index("ix_appointment_updated", table_name="appointment")
    with op.batch_alter_table("appointment") as batch:
        batch.drop_constraint(
            batch.f("fk_appointment_published_by_api_client_id_api_client"), type_="foreignkey"
        )
        batch.drop_column("published_by_api_client_id")
        batch.drop_column("updated_at")
        batch.drop_column("version")
