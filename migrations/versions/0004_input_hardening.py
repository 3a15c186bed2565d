"""Input hardening: submission keys belong to their author; names and subjects lose bidi controls.

- message.submission_key: unique per author (resident side and staff side), not globally,
  so another person's key neither finds nor blocks a message;
- cancellation.submission_key: unique per person who made the cancellation;
- visit_registration: keyed by (staff_id, idempotency_key) instead of the key alone;
- the bidirectional override and isolate characters (U+202A-202E, U+2066-2069) are removed
  from names, thread subjects and pass-on recipients already stored (new ones never get
  them: see app/text.py).

The downgrade restores the global keys; it fails if two authors have used the same key
since, which only the upgrade allowed.

Revision ID: 0004_input
Revises: 0003_fullmakt
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_input"
down_revision = "0003_fullmakt"
branch_labels = None
depends_on = None

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
NAME_COLUMNS = (
    ("person", "given_name"),
    ("person", "family_name"),
    ("staff_account", "full_name"),
    ("thread", "subject"),
    ("thread_event", "pass_on_recipient"),
)


def upgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_message_submission_key"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_message_author_person_id_submission_key"),
            ["author_person_id", "submission_key"],
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_message_author_staff_id_submission_key"),
            ["author_staff_id", "submission_key"],
        )
    with op.batch_alter_table("cancellation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_cancellation_submission_key"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_cancellation_made_by_person_id_submission_key"),
            ["made_by_person_id", "submission_key"],
        )
    with op.batch_alter_table("visit_registration", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("pk_visit_registration"), type_="primary")
        batch_op.create_primary_key(
            batch_op.f("pk_visit_registration"), ["staff_id", "idempotency_key"]
        )

    connection = op.get_bind()
    for table, column in NAME_COLUMNS:
        for char in BIDI_CONTROLS:
            connection.execute(
                sa.text(
                    f"UPDATE {table} SET {column} = REPLACE({column}, :char, '') "  # noqa: S608
                    f"WHERE {column} LIKE :pattern"
                ),
                {"char": char, "pattern": f"%{char}%"},
            )


def downgrade():
    with op.batch_alter_table("visit_registration", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("pk_visit_registration"), type_="primary")
        batch_op.create_primary_key(batch_op.f("pk_visit_registration"), ["idempotency_key"])
    with op.batch_alter_table("cancellation", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_cancellation_made_by_person_id_submission_key"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_cancellation_submission_key"), ["submission_key"]
        )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_message_author_staff_id_submission_key"), type_="unique"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_message_author_person_id_submission_key"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_message_submission_key"), ["submission_key"]
        )
