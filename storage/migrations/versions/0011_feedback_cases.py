"""feedback at any time: a case may come from a customer's message instead of a survey;
a survey's comment may carry photos and voice messages

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The keys' type, as every table has it: BIGINT, INTEGER on SQLite.
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # SQLite rebuilds the table (batch mode); storage.migrate runs it with foreign keys
    # off, so dropping the old table does not delete the cases' events and deliveries.
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("survey_id", existing_type=KEY, nullable=True)
        batch.add_column(sa.Column("kind", sa.String(10), server_default="survey", nullable=False))
        batch.add_column(sa.Column("topic", sa.String(10), nullable=True))
        batch.add_column(sa.Column("visit_id", KEY, nullable=True))
        batch.add_column(sa.Column("customer_user_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("customer_label", sa.String(200), nullable=True))
        batch.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch.add_column(sa.Column("media", sa.JSON(), nullable=True))
        batch.create_foreign_key(op.f("fk_cases_visit_id_visits"), "visits", ["visit_id"], ["id"])
        batch.create_index(op.f("ix_cases_customer_user_id"), ["customer_user_id"])
    op.add_column("surveys", sa.Column("comment_media", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("surveys", "comment_media")
    op.execute("DELETE FROM cases WHERE survey_id IS NULL")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index(op.f("ix_cases_customer_user_id"))
        batch.drop_constraint(op.f("fk_cases_visit_id_visits"), type_="foreignkey")
        for column in (
            "media",
            "message",
            "customer_label",
            "customer_user_id",
            "visit_id",
            "topic",
            "kind",
        ):
            batch.drop_column(column)
        batch.alter_column("survey_id", existing_type=KEY, nullable=False)
