"""Administration: the audit trail of administrative changes (Endringslogg).

- admin_change: one row per changed value (who, what, before, after, when), append-only
  (triggers refuse UPDATE and DELETE, as for usage_log_entry).

Revision ID: 0010_admin
Revises: 0009_passkeys
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_admin"
down_revision = "0009_passkeys"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "admin_change",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("actor_staff_id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("object_name", sa.String(length=120), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("before", sa.String(length=500), nullable=True),
        sa.Column("after", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_staff_id"],
            ["staff_account.id"],
            name=op.f("fk_admin_change_actor_staff_id_staff_account"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_admin_change_municipality_id_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_admin_change_service_id_service")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_admin_change_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_change")),
    )
    with op.batch_alter_table("admin_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_admin_change_municipality_at", ["municipality_id", "at", "id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION admin_change_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'admin_change is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER admin_change_no_change BEFORE UPDATE OR DELETE "
            "ON admin_change FOR EACH ROW EXECUTE FUNCTION admin_change_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER admin_change_no_{action.lower()} BEFORE {action} "
                "ON admin_change BEGIN "
                "SELECT RAISE(ABORT, 'admin_change is append-only'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS admin_change_no_change ON admin_change")
        op.execute("DROP FUNCTION IF EXISTS admin_change_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS admin_change_no_update")
        op.execute("DROP TRIGGER IF EXISTS admin_change_no_delete")
    with op.batch_alter_table("admin_change", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_change_municipality_at")
    op.drop_table("admin_change")
