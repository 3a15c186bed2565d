"""Fullmakt approval: an assigned fullmakt takes effect when a second person approves it.

- fullmakt: `assessment` (who assessed that the grantor lacks consent competence, and on
  what basis), `approved_at` and `approved_by_staff_id`. Every fullmakt already in the
  database was in force, so each becomes approved when it was created; an ordinary one is
  always approved (CHECK), and nobody approves what they registered themselves (CHECK).
- staff_account: `person_id`, the staff member's own entry in the register.
- usage_log_entry.action: register_searched, fullmakt_registered, fullmakt_approved,
  fullmakt_rejected, fullmakt_changed. notice.event: new_fullmakt. Both are VARCHAR with a
  named CHECK (`str_enum`), so the CHECK is replaced; on SQLite that rebuilds the table
  (batch mode), after which the usage log's append-only triggers are created again.

On SQLite the rebuilt tables are referenced by others (fullmakt_area_link, the outbox's dev
sink); migrations/env.py runs SQLite migrations with foreign keys off and checks them at the
end, as Alembic's batch mode needs.

Revision ID: 0003_fullmakt
Revises: 0002_oidc
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003_fullmakt"
down_revision = "0002_oidc"
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
)
NEW_USAGE_ACTIONS = (
    "register_searched",
    "fullmakt_registered",
    "fullmakt_approved",
    "fullmakt_rejected",
    "fullmakt_changed",
)
NOTICE_EVENTS = ("new_message", "visit_completed")
NEW_NOTICE_EVENTS = ("new_fullmakt",)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    with op.batch_alter_table("staff_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "person_id",
                sa.Integer(),
                sa.ForeignKey("person.id", name=op.f("fk_staff_account_person_id_person")),
                nullable=True,
            )
        )
        batch_op.create_index(batch_op.f("ix_staff_account_person_id"), ["person_id"], unique=False)

    with op.batch_alter_table("fullmakt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "approved_by_staff_id",
                sa.Integer(),
                sa.ForeignKey(
                    "staff_account.id",
                    name=op.f("fk_fullmakt_approved_by_staff_id_staff_account"),
                ),
                nullable=True,
            )
        )
    # They were in force: each took effect when it was created.
    op.execute("UPDATE fullmakt SET approved_at = created_at WHERE approved_at IS NULL")
    with op.batch_alter_table("fullmakt", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_fullmakt_ordinary_approved"), "kind = 'assigned' OR approved_at IS NOT NULL"
        )
        batch_op.create_check_constraint(
            op.f("ck_fullmakt_second_person_approves"),
            "approved_by_staff_id IS NULL OR registered_by_staff_id IS NULL"
            " OR approved_by_staff_id <> registered_by_staff_id",
        )

    _replace_check(
        "usage_log_entry",
        "ck_usage_log_entry_usage_action",
        "action",
        USAGE_ACTIONS + NEW_USAGE_ACTIONS,
    )
    _replace_check("notice", "ck_notice_notice_event", "event", NOTICE_EVENTS + NEW_NOTICE_EVENTS)


def downgrade():
    # Fails while rows use the new values: the usage log cannot be changed (append-only).
    _replace_check("notice", "ck_notice_notice_event", "event", NOTICE_EVENTS)
    _replace_check("usage_log_entry", "ck_usage_log_entry_usage_action", "action", USAGE_ACTIONS)
    with op.batch_alter_table("fullmakt", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_fullmakt_second_person_approves"), type_="check")
        batch_op.drop_constraint(op.f("ck_fullmakt_ordinary_approved"), type_="check")
        batch_op.drop_constraint(
            op.f("fk_fullmakt_approved_by_staff_id_staff_account"), type_="foreignkey"
        )
        batch_op.drop_column("approved_by_staff_id")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("assessment")
    with op.batch_alter_table("staff_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_account_person_id"))
        batch_op.drop_constraint(op.f("fk_staff_account_person_id_person"), type_="foreignkey")
        batch_op.drop_column("person_id")


def _replace_check(table: str, name: str, column: str, values: tuple[str, ...]) -> None:
    """A `str_enum` column's CHECK with other values (SQLite: the table is rebuilt)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(name), type_="check")
        batch_op.create_check_constraint(op.f(name), _one_of(column, values))
    if sqlite and table == "usage_log_entry":
        # The rebuilt table has lost its triggers: the log stays append-only.
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER usage_log_entry_no_{action.lower()} BEFORE {action} "
                "ON usage_log_entry BEGIN "
                "SELECT RAISE(ABORT, 'usage_log_entry is append-only'); END"
            )
