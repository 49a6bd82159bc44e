"""index surveys by chat: typed text finds the survey on screen in its chat

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_surveys_chat_id"), "surveys", ["chat_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_surveys_chat_id"), table_name="surveys")
