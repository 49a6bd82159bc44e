"""Surveys and their answers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import upsert
from storage.models import Answer, Customer, Survey, Visit
from survey.dialogue import SurveyRun, SurveyStatus
from survey.metrics import survey_score
from survey.questionnaire import decode_answers, encode_answers, question

OPEN_STATUSES = (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS)


def new_token() -> str:
    """32 characters of A-Za-z0-9_-: fits a /start payload and cannot be guessed."""
    return secrets.token_urlsafe(24)


class SurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, survey_id: int) -> Survey | None:
        return await self._session.get(Survey, survey_id)

    async def by_token(self, token: str) -> Survey | None:
        return await self._session.scalar(select(Survey).where(Survey.token == token))

    async def on_screen(self, chat_id: int) -> Survey | None:
        """The survey in progress whose question is live in this chat (the latest shown)."""
        return await self._session.scalar(
            select(Survey)
            .where(
                Survey.chat_id == chat_id,
                Survey.status == SurveyStatus.IN_PROGRESS,
                Survey.live_message_id.is_not(None),
            )
            .order_by(Survey.live_message_id.desc())
            .limit(1)
        )

    async def pending_for_user(self, telegram_user_id: int) -> Sequence[Survey]:
        """Surveys this person may still answer, the most recent visit first."""
        return (
            await self._session.scalars(
                select(Survey)
                .join(Survey.visit)
                .join(Visit.customer)
                .where(
                    Customer.telegram_user_id == telegram_user_id,
                    Survey.status.in_(OPEN_STATUSES),
                )
                .order_by(Visit.visit_date.desc(), Survey.id.desc())
            )
        ).all()

    async def of_customer(self, customer_id: int) -> Sequence[Survey]:
        return (
            await self._session.scalars(
                select(Survey)
                .join(Survey.visit)
                .where(Visit.customer_id == customer_id)
                .order_by(Visit.visit_date.desc())
            )
        ).all()

    async def without_completed_answer(self) -> Sequence[Survey]:
        return (
            await self._session.scalars(
                select(Survey)
                .join(Survey.visit)
                .where(Survey.status.in_((*OPEN_STATUSES, SurveyStatus.DECLINED)))
                .order_by(Visit.visit_date, Visit.order_no)
            )
        ).all()

    @staticmethod
    def run_of(survey: Survey) -> SurveyRun:
        return SurveyRun(
            id=survey.id,
            status=SurveyStatus(survey.status),
            step=survey.step,
            answers=decode_answers(survey.answer_codes),
            comment=survey.comment,
            wants_contact=survey.wants_contact,
            live_message_id=survey.live_message_id,
        )

    async def save_run(self, survey: Survey, run: SurveyRun, now: datetime) -> None:
        """Write what the dialogue changed (the survey row, and each changed answer with one
        upsert into the audit trail); the caller commits."""
        status = SurveyStatus(run.status)
        if status != survey.status:
            survey.status = status
            if status is SurveyStatus.IN_PROGRESS and survey.started_at is None:
                survey.started_at = now
            elif status is SurveyStatus.COMPLETED:
                survey.completed_at = now
                survey.score = survey_score(run.answers)
            elif status is SurveyStatus.DECLINED:
                survey.declined_at = now
        survey.step = run.step
        survey.answer_codes = encode_answers(run.answers)
        survey.comment = run.comment
        survey.wants_contact = run.wants_contact
        survey.updated_at = now
        rows = []
        for number in sorted(run.changed_answers):
            value = run.answers[number]
            q = question(number)
            rows.append(
                {
                    "survey_id": survey.id,
                    "question": number,
                    "value": value,
                    "score": q.score(value),
                    "is_problem": q.is_problem(value),
                    "answered_at": now,
                }
            )
        run.changed_answers.clear()
        if rows:
            await self._session.flush()  # the survey row first: one UPDATE, then the answers
            insert = upsert(self._session, Answer).values(rows)
            await self._session.execute(
                insert.on_conflict_do_update(
                    index_elements=[Answer.survey_id, Answer.question],
                    set_={
                        "value": insert.excluded.value,
                        "score": insert.excluded.score,
                        "is_problem": insert.excluded.is_problem,
                        "answered_at": insert.excluded.answered_at,
                    },
                )
            )

    @staticmethod
    def set_live_message(survey: Survey, chat_id: int, message_id: int | None) -> None:
        survey.chat_id = chat_id
        survey.live_message_id = message_id

    @staticmethod
    def mark_invited(survey: Survey, now: datetime) -> None:
        if survey.invited_at is None:
            survey.invited_at = now
