"""answers of a survey in one column, for reports

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CODES = "CASE value WHEN 'yes' THEN 'y' WHEN 'no' THEN 'n' WHEN 'unsure' THEN 'u' ELSE value END"


def upgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "answer_codes", sa.String(length=12), nullable=False, server_default="------------"
            )
        )
    # Existing answers, one character each ("-" where a question has no answer).
    pieces = " || ".join(
        f"COALESCE((SELECT {_CODES} FROM answers"
        f" WHERE answers.survey_id = surveys.id AND answers.question = {n}), '-')"
        for n in range(1, 13)
    )
    op.execute(f"UPDATE surveys SET answer_codes = {pieces}")


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("answer_codes")
