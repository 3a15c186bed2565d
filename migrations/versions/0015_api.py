"""The record-system API (docs/product.md 5.11): its clients, their used assertions and the
audit trail of their calls; the usage log names a client that read a person's data.

- api_client, api_assertion, api_call: new tables.
- usage_log_entry: `actor_api_client_id`, and the action record_system_read. The action is
  a VARCHAR with a named CHECK (`str_enum`), so the CHECK is replaced; on SQLite that
  rebuilds the table (batch mode, one rebuild for both changes), after which the usage log's
  append-only triggers are created again.

Revision ID: 0015_api
Revises: 0014_ackdate
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_api"
down_revision = "0014_ackdate"
branch_labels = None
depends_on = None

USAGE_ACTIONS = (
    "logged_in",
    "consent_given",
    "acting_started",
    "staff_viewed_person",
    "staff_viewed_thread",
    "staff_viewed_appointments",
    "message_sent",
    "thread_read",
    "appointment_cancelled",
    "fullmakt_given",
    "fullmakt_ended",
    "settings_changed",
    "notice_sent",
    "register_searched",
    "fullmakt_registered",
    "fullmakt_approved",
    "fullmakt_rejected",
    "fullmakt_changed",
)
NEW_USAGE_ACTIONS = ("record_system_read",)
CHECK = "ck_usage_log_entry_usage_action"


def _one_of(values: tuple[str, ...]) -> str:
    return f"action IN ({', '.join(repr(v) for v in values)})"


def _append_only_again() -> None:
    """The rebuilt SQLite table has lost its triggers: the log stays append-only."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER usage_log_entry_no_{action.lower()} BEFORE {action} "
            "ON usage_log_entry BEGIN "
            "SELECT RAISE(ABORT, 'usage_log_entry is append-only'); END"
        )


def upgrade():
    op.create_table(
        "api_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("provider_name", sa.String(length=100), nullable=True),
        sa.Column("jwks", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"],
            ["staff_account.id"],
            name=op.f("fk_api_client_created_by_staff_id_staff_account"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_api_client_municipality_id_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_staff_id"],
            ["staff_account.id"],
            name=op.f("fk_api_client_revoked_by_staff_id_staff_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_client_client_id")),
    )
    op.create_index(
        op.f("ix_api_client_municipality_id"), "api_client", ["municipality_id"], unique=False
    )
    op.create_table(
        "api_assertion",
        sa.Column("api_client_id", sa.Integer(), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_client.id"],
            name=op.f("fk_api_assertion_api_client_id_api_client"),
        ),
        sa.PrimaryKeyConstraint("api_client_id", "jti", name=op.f("pk_api_assertion")),
    )
    op.create_index(
        op.f("ix_api_assertion_expires_at"), "api_assertion", ["expires_at"], unique=False
    )
    op.create_table(
        "api_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_client_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_client.id"],
            name=op.f("fk_api_call_api_client_id_api_client"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_call")),
    )
    op.create_index("ix_api_call_client_at", "api_call", ["api_client_id", "at", "id"])
    with op.batch_alter_table("usage_log_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_api_client_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_usage_log_entry_actor_api_client_id_api_client"),
            "api_client",
            ["actor_api_client_id"],
            ["id"],
        )
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), _one_of(USAGE_ACTIONS + NEW_USAGE_ACTIONS))
    _append_only_again()


def downgrade():
    # Fails while rows use the new value: the usage log cannot be changed (append-only).
    with op.batch_alter_table("usage_log_entry", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), _one_of(USAGE_ACTIONS))
        batch_op.drop_constraint(
            batch_op.f("fk_usage_log_entry_actor_api_client_id_api_client"), type_="foreignkey"
        )
        batch_op.drop_column("actor_api_client_id")
    _append_only_again()
    op.drop_index("ix_api_call_client_at", table_name="api_call")
    op.drop_table("api_call")
    op.drop_index(op.f("ix_api_assertion_expires_at"), table_name="api_assertion")
    op.drop_table("api_assertion")
    op.drop_index(op.f("ix_api_client_municipality_id"), table_name="api_client")
    op.drop_table("api_client")
