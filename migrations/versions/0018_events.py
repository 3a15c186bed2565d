"""Events for record systems (docs/api.md, Events): their FHIR Subscriptions, and the event
outbox the notice worker delivers.

- api_subscription, api_event: new tables.

Revision ID: 0018_events
Revises: 0017_journal
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_events"
down_revision = "0017_journal"
branch_labels = None
depends_on = None

KINDS = (
    "Appointment?status=cancelled",
    "Appointment?status=fulfilled",
    "Communication?category=from-resident",
)


def _kind() -> sa.Enum:
    return sa.Enum(*KINDS, name="api_event_kind", native_enum=False, create_constraint=True)


def upgrade():
    op.create_table(
        "api_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_client_id", sa.Integer(), nullable=False),
        sa.Column("criteria", _kind(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "off",
                name="api_subscription_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("header", sa.String(length=1000), nullable=True),
        sa.Column("with_resource", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_client.id"],
            name=op.f("fk_api_subscription_api_client_id_api_client"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_subscription")),
    )
    op.create_index("ix_api_subscription_client", "api_subscription", ["api_client_id", "id"])
    op.create_index("ix_api_subscription_criteria", "api_subscription", ["criteria", "status"])
    op.create_table(
        "api_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "delivered",
                "failed",
                "dropped",
                name="api_event_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["api_subscription.id"],
            name=op.f("fk_api_event_subscription_id_api_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_api_event_event_id")),
    )
    op.create_index("ix_api_event_due", "api_event", ["status", "next_attempt_at"])
    op.create_index("ix_api_event_resource", "api_event", ["resource_id", "kind"])
    op.create_index("ix_api_event_subscription", "api_event", ["subscription_id", "status", "id"])


def downgrade():
    op.drop_table("api_event")
    op.drop_table("api_subscription")
