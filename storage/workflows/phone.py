"""Phone surveys: an operator's call and its outcome, each committed before the screen it
leads to is shown."""

from __future__ import annotations

from datetime import datetime

from storage.models import Survey
from storage.uow import UnitOfWork
from storage.workflows.answers import save_move
from survey.calls import ANSWERED, PHONE, REFUSED, after_call
from survey.dialogue import SurveyStatus
from survey.policy import Policies


class NotCallable(Exception):
    """Nothing to call about: no such survey, or it is completed or refused."""


async def callable_survey(db: UnitOfWork, survey_id: int) -> Survey:
    survey = await db.surveys.get(survey_id)
    if survey is None or survey.status in (SurveyStatus.COMPLETED, SurveyStatus.DECLINED):
        raise NotCallable
    return survey


async def record_call(
    db: UnitOfWork,
    survey: Survey,
    outcome: str,
    operator_id: int,
    now: datetime,
    policies: Policies,
) -> bool:
    """The call counted and its outcome kept, in one commit; when the customer answered,
    the survey is started as the operator's to walk with them (True)."""
    result = after_call(outcome, survey.call_attempts, now, policies.calls)
    survey.call_attempts = result.attempts
    survey.next_call_at = result.next_call_at
    survey.call_outcome = outcome
    survey.updated_at = now
    if survey.invited_at is None:
        survey.invited_at = now  # a phone call is this survey's invitation
    if outcome == REFUSED:
        survey.status = SurveyStatus.DECLINED
        survey.declined_at = now
    if outcome == ANSWERED:
        if survey.status == SurveyStatus.EXPIRED:
            survey.status = SurveyStatus.INVITED  # closed unanswered in Telegram: phone reopens it
            survey.expired_at = None
        survey.channel = PHONE
        survey.operator_id = operator_id
        run = db.surveys.run_of(survey)
        run.start()
        await save_move(db, survey, run, policies, now, may_escalate=False)  # commits
        return True
    await db.commit()
    return False
