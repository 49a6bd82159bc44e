"""surveys know whether they have a case: a press looks the case up only then

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch "move and copy" of surveys would cascade-delete answers.
    op.add_column(
        "surveys", sa.Column("has_case", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute("UPDATE surveys SET has_case = TRUE WHERE id IN (SELECT survey_id FROM cases)")


def downgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.drop_column("has_case")
