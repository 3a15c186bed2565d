"""Input hardening: submission keys belong to their author.

- message.submission_key: unique per author (resident side and staff side), not globally,
  so another person's key neither finds nor blocks a message;
- cancellation.submission_key: unique per person who made the cancellation;
- visit_registration: keyed by (staff_id, idempotency_key) instead of the key alone.

The downgrade restores the global keys; it fails if two authors have used the same key
since, which only the upgrade allowed.

Revision ID: 0004_input
Revises: 0001
Create Date: 2026-12-01
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_input"
down_revision = "0001"
branch_labels = None
depends_on = None


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
