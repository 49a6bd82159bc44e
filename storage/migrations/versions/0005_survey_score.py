"""survey score kept on completion

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
    # Completed surveys from before: their score from their answers.
    op.execute(
        "UPDATE surveys SET score = (SELECT AVG(answers.score) FROM answers"
        " WHERE answers.survey_id = surveys.id) WHERE status = 'completed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("score")
