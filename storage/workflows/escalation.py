"""Opening or updating the case of a survey the moment an answer shows a problem."""

from __future__ import annotations

from datetime import datetime

from storage.cases import apply_state
from storage.models import Case, Survey
from storage.survey_rows import SurveyRow
from storage.uow import UnitOfWork
from storage.workflows.staff import alert_chats
from survey import cases
from survey.dialogue import SurveyRun
from survey.escalation import severity_of
from survey.policy import Policies


async def escalate(
    db: UnitOfWork,
    survey: Survey | SurveyRow,
    run: SurveyRun,
    policies: Policies,
    now: datetime,
    *,
    details_changed: bool = False,
) -> Case | None:
    """Open the survey's case on its first problem; later changes update the same case.
    Runs inside the answer's transaction, so the case and its pending alerts are saved
    together with the answer, before anything is sent.
    """
    problems = policies.cases.rules.problems(run.answers, run.wants_contact)
    if not survey.has_case and not problems:
        return None  # most presses: no case, no query
    row = survey if isinstance(survey, SurveyRow) else None
    if row is not None:
        survey = await db.surveys.mapped(row)
    case = await db.cases.for_survey(survey.id) if survey.has_case else None
    if case is None:
        if not problems:
            return None
        survey.has_case = True
        if row is not None:
            row.has_case = True  # as the press's row is kept after the commit
        case = Case(
            survey=survey,
            severity=severity_of(problems).value,
            problems=cases.snapshot(problems),
            version=1,
            created_at=now,
            updated_at=now,
        )
        apply_state(case, cases.opened(now, policies.cases))
        db.cases.add(case)
        db.cases.record(case, "created", now, text=cases.summary(problems))
        for chat_id in await alert_chats(db, policies.staffing):
            db.cases.queue(case, chat_id, now, kind="alert")
        await db.cases.refresh_lists(now)  # the open lists show the new case
        return case
    snapshot = cases.snapshot(problems)
    if snapshot != case.problems or details_changed:
        if snapshot != case.problems:
            db.cases.record(case, "updated", now, text=cases.summary(problems))
        case.problems = snapshot
        if problems:
            case.severity = severity_of(problems).value
        await db.cases.touch(case, now)
    return case
