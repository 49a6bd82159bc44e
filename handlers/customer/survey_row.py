"""The survey row a button press decides on: the customer's own, kept from this process's
last commit when it can be (storage.survey_rows.SurveyRows), read again when that row proves
out of date."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from storage.batch import StaleRow
from storage.survey_rows import SurveyRow
from storage.uow import UnitOfWork
from survey.calls import PHONE
from survey.dialogue import DialogueError, NotYourSurvey

_T = TypeVar("_T")


async def own_survey(
    db: UnitOfWork, survey_id: int, user_id: int, *, read: bool = False
) -> SurveyRow:
    """The customer's survey, or a phone survey the operator is walking with them: the
    row a button press needs (one query, no mapped objects; none when this process kept
    the row it committed last, storage.survey_rows.SurveyRows). `read`: from the database."""
    survey = await db.surveys.pressed(survey_id, read=read)
    if survey is not None and survey.seen is not None and not _owns(survey, user_id):
        survey = await db.surveys.pressed(survey_id, read=True)  # as the database has it
    if survey is None or not _owns(survey, user_id):
        raise NotYourSurvey
    return survey


def _owns(survey: SurveyRow, user_id: int) -> bool:
    return (survey.operator_id if survey.channel == PHONE else survey.owner_id) == user_id


async def afresh(db: UnitOfWork, decide: Callable[[bool], Awaitable[_T]]) -> _T:
    """`decide(False)` may go by the row this process kept (SurveyRows): when that row
    proves out of date (StaleRow, before anything was written or sent to Telegram),
    `decide(True)` on the row read from the database."""
    try:
        return await decide(False)
    except StaleRow:
        await db.rollback()
        return await decide(True)


@contextmanager
def as_read(survey: SurveyRow) -> Iterator[None]:
    """A refusal (stale step, closed survey...) decided on a kept row is decided again on
    the row read (StaleRow), never told to the customer."""
    try:
        yield
    except DialogueError:
        if survey.seen is not None:
            raise StaleRow(survey.id) from None
        raise
