"""Report facts kept on the survey row, kept current by ORM events (registered when
storage.models is imported, which imports this module last)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper

from storage.models import Survey, Visit
from survey.questionnaire import advisor_ratings, answer_counts, decode_answers, encode_answers


def answer_facts(
    answer_codes: str | None, completed_at: datetime | None, invited_at: datetime | None
) -> dict[str, Any]:
    """The report facts that follow from a survey's answers and timestamps."""
    answers = decode_answers(answer_codes or encode_answers({}))
    answered, problems = answer_counts(answers)
    friendliness, responsiveness = advisor_ratings(answers)
    seconds = None
    if completed_at is not None and invited_at is not None:
        seconds = (completed_at - invited_at).total_seconds()
    return {
        "answered_count": answered,
        "problem_count": problems,
        "friendliness": friendliness,
        "responsiveness": responsiveness,
        "completion_seconds": seconds,
    }


@event.listens_for(Survey, "before_insert")
@event.listens_for(Survey, "before_update")
def _survey_facts(_mapper: Mapper[Survey], _connection: Connection, survey: Survey) -> None:
    """Every ORM write of a survey (the press writes its row with one Core UPDATE and the
    same `answer_facts`, see storage.surveys)."""
    if "visit" in survey.__dict__:  # loaded or just set: the visit's date and advisor
        survey.visit_date = survey.visit.visit_date
        survey.advisor = survey.visit.advisor
    for name, value in answer_facts(
        survey.answer_codes, survey.completed_at, survey.invited_at
    ).items():
        setattr(survey, name, value)


@event.listens_for(Visit, "after_update")
def _visit_facts(_mapper: Mapper[Visit], connection: Connection, visit: Visit) -> None:
    """A re-imported visit with another date or advisor: its survey's copies follow."""
    changed = inspect(visit).attrs
    if changed.visit_date.history.has_changes() or changed.advisor.history.has_changes():
        connection.execute(
            update(Survey)
            .where(Survey.visit_id == visit.id)
            .values(visit_date=visit.visit_date, advisor=visit.advisor)
        )
