"""Opening or updating the case of a survey the moment an answer shows a problem."""

from __future__ import annotations

from datetime import datetime

from bot.settings import Settings
from handlers.filters import alert_chats
from storage.cases import CaseStatus, DeliveryStatus
from storage.models import Case, Delivery, Survey
from storage.uow import Repositories
from survey.dialogue import SurveyRun
from survey.escalation import Problem, severity_of


def _snapshot(problems: list[Problem]) -> list[dict[str, object]]:
    return [
        {"question": p.question, "value": p.value, "severity": p.severity.value} for p in problems
    ]


async def escalate(
    db: Repositories,
    survey: Survey,
    run: SurveyRun,
    settings: Settings,
    now: datetime,
    *,
    details_changed: bool = False,
) -> Case | None:
    """Open the survey's case on its first problem; later changes update the same case.

    Runs inside the answer's transaction, so the case and its pending alerts are saved
    together with the answer, before anything is sent.
    """
    problems = settings.rules.problems(run.answers, run.wants_contact)
    case = await db.cases.for_survey(survey.id)
    if case is None:
        if not problems:
            return None
        case = Case(
            survey=survey,
            severity=severity_of(problems).value,
            status=CaseStatus.OPEN,
            problems=_snapshot(problems),
            version=1,
            created_at=now,
            updated_at=now,
            take_due_at=settings.hours.add(now, settings.case_take_sla),
        )
        db.cases.add(case)
        db.cases.record(case, "created", now, text=_summary(problems))
        for chat_id in await alert_chats(settings, db):
            db.cases.add_delivery(
                Delivery(
                    case=case,
                    kind="alert",
                    chat_id=chat_id,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        return case

    snapshot = _snapshot(problems)
    if snapshot != case.problems or details_changed:
        if snapshot != case.problems:
            db.cases.record(case, "updated", now, text=_summary(problems))
        case.problems = snapshot
        if problems:
            case.severity = severity_of(problems).value
        await db.cases.touch(case, now)
    return case


def _summary(problems: list[Problem]) -> str:
    return ", ".join(
        f"Q{p.question}={p.value}" if p.question is not None else "contact" for p in problems
    )
