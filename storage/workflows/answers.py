"""The survey's use cases: a move (an answer, back, a comment, the contact choice) saved
with the case it opens or updates, and the message that now carries the live buttons."""

from __future__ import annotations

from datetime import datetime

from storage.models import Case, Survey
from storage.survey_rows import SurveyRow
from storage.uow import UnitOfWork
from storage.workflows.escalation import escalate
from survey.dialogue import SurveyRun
from survey.policy import Policies


async def save_move(
    db: UnitOfWork,
    survey: Survey | SurveyRow,
    run: SurveyRun,
    policies: Policies,
    now: datetime,
    *,
    details_changed: bool = False,
    live: tuple[int, int | None] | None = None,
    may_escalate: bool = True,
) -> Case | None:
    """One transaction: the survey's new state, its answer, its case and pending alerts,
    and (`live`: chat, message) the message whose buttons are live."""
    db.surveys.save_run(survey, run, now, live)
    case = (
        await escalate(db, survey, run, policies, now, details_changed=details_changed)
        if may_escalate
        else None
    )
    await db.commit()
    return case


async def remember_live(
    db: UnitOfWork, survey: Survey | SurveyRow, chat_id: int, message_id: int
) -> None:
    """A screen was sent as a new message: its id, which Telegram chose, is now the live one."""
    db.surveys.set_live_message(survey, chat_id, message_id)
    await db.commit()
