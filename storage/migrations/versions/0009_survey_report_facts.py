"""report facts on the survey row (visit date, advisor, completion seconds) under one
covering index: a period's figures without a join

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
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
)
# The codes that are problem answers, per question, as the questionnaire had them when
# this revision was written (a migration must not change with later code).
PROBLEM_CODES = {
    1: "y",
    2: "n",
    3: "n",
    4: "n",
    5: "n",
    6: "n",
    7: "y",
    8: "n",
    9: "n",
    10: "y",
    11: "12",
    12: "12",
}


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch "move and copy" of surveys would cascade-delete answers.
    op.add_column("surveys", sa.Column("visit_date", sa.Date(), nullable=True))
    op.add_column("surveys", sa.Column("advisor", sa.String(length=200), nullable=True))
    op.add_column("surveys", sa.Column("completion_seconds", sa.Float(), nullable=True))
    op.execute(
        "UPDATE surveys SET "
        "visit_date = (SELECT visit_date FROM visits WHERE visits.id = surveys.visit_id), "
        "advisor = (SELECT advisor FROM visits WHERE visits.id = surveys.visit_id)"
    )
    if op.get_bind().dialect.name == "sqlite":
        seconds = "(julianday(completed_at) - julianday(invited_at)) * 86400.0"
    else:
        seconds = "extract(epoch from completed_at - invited_at)"
    op.execute(
        f"UPDATE surveys SET completion_seconds = {seconds} "
        "WHERE completed_at IS NOT NULL AND invited_at IS NOT NULL"
    )
    op.add_column(
        "surveys",
        sa.Column("answered_count", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "surveys",
        sa.Column("problem_count", sa.SmallInteger(), server_default="0", nullable=False),
    )
    answered = " + ".join(
        f"(CASE WHEN substr(answer_codes, {n}, 1) IN ('-', 'u') THEN 0 ELSE 1 END)"
        for n in range(1, 13)
    )
    problems = " + ".join(
        "(CASE WHEN substr(answer_codes, {n}, 1) IN ({codes}) THEN 1 ELSE 0 END)".format(
            n=n, codes=", ".join(f"'{c}'" for c in codes)
        )
        for n, codes in PROBLEM_CODES.items()
    )
    for name in ("friendliness", "responsiveness"):
        op.add_column("surveys", sa.Column(name, sa.SmallInteger(), nullable=True))
    rating = (
        "CASE WHEN substr(answer_codes, {n}, 1) IN ('1', '2', '3', '4', '5')"
        " THEN CAST(substr(answer_codes, {n}, 1) AS INTEGER) END"
    )
    op.execute(
        f"UPDATE surveys SET answered_count = {answered}, problem_count = {problems}, "
        f"friendliness = {rating.format(n=11)}, responsiveness = {rating.format(n=12)}"
    )
    op.create_index("ix_surveys_report", "surveys", list(COLUMNS), unique=False)
    op.create_index(
        "ix_surveys_completion", "surveys", ["status", "completion_seconds", "visit_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_surveys_completion", table_name="surveys")
    op.drop_index("ix_surveys_report", table_name="surveys")
    with op.batch_alter_table("surveys") as batch:
        batch.drop_column("responsiveness")
        batch.drop_column("friendliness")
        batch.drop_column("problem_count")
        batch.drop_column("answered_count")
        batch.drop_column("completion_seconds")
        batch.drop_column("advisor")
        batch.drop_column("visit_date")
