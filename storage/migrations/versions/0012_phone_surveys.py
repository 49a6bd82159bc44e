"""phone surveys by the call centre: each survey's channel, operator, call attempts and
next call; the report index covers the channel

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORT = [
    "visit_date",
    "advisor",
    "status",
    "score",
    "completion_seconds",
    "invited_at",
    "started_at",
    "answered_count",
    "problem_count",
    "friendliness",
    "responsiveness",
    "answer_codes",
]


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch copy of surveys would cascade-delete answers.
    op.add_column(
        "surveys",
        sa.Column("channel", sa.String(8), server_default="telegram", nullable=False),
    )
    op.add_column("surveys", sa.Column("operator_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "surveys",
        sa.Column("call_attempts", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.add_column("surveys", sa.Column("next_call_at", sa.DateTime(timezone=True)))
    op.add_column("surveys", sa.Column("call_outcome", sa.String(10), nullable=True))
    op.drop_index("ix_surveys_report", table_name="surveys")
    op.create_index("ix_surveys_report", "surveys", [*REPORT[:3], "channel", *REPORT[3:]])


def downgrade() -> None:
    op.drop_index("ix_surveys_report", table_name="surveys")
    op.create_index("ix_surveys_report", "surveys", REPORT)
    for column in ("call_outcome", "next_call_at", "call_attempts", "operator_id", "channel"):
        op.drop_column("surveys", column)
