"""Surveys and their answers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.batch import StaleRow, after_commit, defer, fetch, run_sync
from storage.dialects import insert_of, prepared
from storage.models import Answer, Customer, Survey, Visit, answer_facts
from storage.survey_rows import (
    OPEN_STATUSES,
    PRESS_COLUMNS,
    PRESSED,
    SurveyRow,
    SurveyRows,
    saving,
    seen_parameters,
)
from survey.dialogue import SurveyRun, SurveyStatus
from survey.metrics import survey_score
from survey.questionnaire import decode_answers, encode_answers, question

# The press's Core statements, built once.
_SURVEYS = cast(Table, Survey.__table__)
_ANSWERS = cast(Table, Answer.__table__)


def _set_live(prefix: str) -> Update:
    return (
        update(_SURVEYS)
        .where(_SURVEYS.c.id == bindparam(prefix + "survey_id"))
        .values(
            chat_id=bindparam(prefix + "chat_id", type_=_SURVEYS.c.chat_id.type),
            live_message_id=bindparam(
                prefix + "live_message_id", type_=_SURVEYS.c.live_message_id.type
            ),
        )
    )


_SET_LIVE = _set_live("")
_ANSWER_COLUMNS = ("survey_id", "question", "value", "score", "is_problem", "answered_at")


def _on_answer_conflict(statement: Any) -> Any:
    """An answer given again replaces the earlier one, its time included."""
    return statement.on_conflict_do_update(
        index_elements=[_ANSWERS.c.survey_id, _ANSWERS.c.question],
        set_={name: statement.excluded[name] for name in _ANSWER_COLUMNS[2:]},
    )


_upsert_answers = prepared(lambda insert: _on_answer_conflict(insert(_ANSWERS)))


def _upsert_answer_renamed(prefix: str) -> Any:
    """One answer's upsert with prefixed bind names (PostgreSQL's merged commit)."""
    columns = _ANSWERS.c
    values = {name: bindparam(prefix + name, type_=columns[name].type) for name in _ANSWER_COLUMNS}
    return _on_answer_conflict(insert_of("postgresql")(_ANSWERS).values(values))


def new_token() -> str:
    """32 characters of A-Za-z0-9_-: fits a /start payload and cannot be guessed."""
    return secrets.token_urlsafe(24)


class SurveyRepository:
    def __init__(self, session: AsyncSession, rows: SurveyRows | None = None) -> None:
        self._session = session
        self._rows = rows if rows is not None else SurveyRows(limit=0)

    async def get(self, survey_id: int) -> Survey | None:
        """The mapped survey with its visit and customer (on SQLite in the event loop's
        thread, storage.batch); a button press reads `pressed` instead."""
        return await run_sync(self._session, Session.get, Survey, survey_id)

    async def pressed(self, survey_id: int, *, read: bool = False) -> SurveyRow | None:
        """The survey as a button press needs it: the row this process committed last
        (SurveyRows: no query, its `seen` set), else one row read (on SQLite in the event
        loop's thread, storage.batch); `read`: always read."""
        if not read:
            kept = self._rows.take(survey_id)
            if kept is not None:
                return kept
        rows = await fetch(self._session, PRESSED, {"survey_id": survey_id})
        return SurveyRow(**rows[0]) if rows else None

    async def mapped(self, row: SurveyRow) -> Survey:
        """The mapped Survey of a row from `pressed`, showing the row's state (what
        `save_run` has written since is not in the database before the commit); its
        `has_case` as the database has it. StaleRow when the survey is gone."""
        survey = await self.get(row.id)
        if survey is None:
            raise StaleRow(row.id)
        for name in PRESS_COLUMNS:
            set_committed_value(survey, name, getattr(row, name))
        return survey

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
    def run_of(survey: Survey | SurveyRow) -> SurveyRun:
        return SurveyRun(
            id=survey.id,
            status=SurveyStatus(survey.status),
            step=survey.step,
            answers=decode_answers(survey.answer_codes),
            comment=survey.comment,
            wants_contact=survey.wants_contact,
            live_message_id=survey.live_message_id,
        )

    def save_run(
        self,
        survey: Survey | SurveyRow,
        run: SurveyRun,
        now: datetime,
        live: tuple[int, int | None] | None = None,
    ) -> None:
        """Write what the dialogue changed, and (`live`: chat, message) the message whose
        buttons are live: one UPDATE of the survey row and one upsert of the changed
        answers into the audit trail, as Core statements (the ORM's flush costs more than
        the rest of the press), sent with the commit (storage.batch.defer). The loaded
        `survey` shows the new state; the caller commits."""
        status = SurveyStatus(run.status)
        values: dict[str, Any] = {
            "step": run.step,
            "answer_codes": encode_answers(run.answers),
            "comment": run.comment,
            "wants_contact": run.wants_contact,
            "updated_at": now,
        }
        if status != survey.status:
            values["status"] = status.value
            if status is SurveyStatus.IN_PROGRESS and survey.started_at is None:
                values["started_at"] = now
            elif status is SurveyStatus.COMPLETED:
                values["completed_at"] = now
                values["score"] = survey_score(run.answers)
            elif status is SurveyStatus.DECLINED:
                values["declined_at"] = now
        if live is not None:
            values["chat_id"], values["live_message_id"] = live
        values |= answer_facts(
            values["answer_codes"],
            values.get("completed_at", survey.completed_at),
            survey.invited_at,
        )
        # What changed, with updated_at always (the statement must set something).
        changed = tuple(
            name
            for name in PRESS_COLUMNS
            if name in values and (name == "updated_at" or values[name] != getattr(survey, name))
        )
        parameters = {"survey_id": survey.id, **{name: values[name] for name in changed}}
        kept = survey.seen if isinstance(survey, SurveyRow) else None
        if kept is not None:  # checked against what this process committed (SurveyRows)
            parameters |= seen_parameters(kept)
        statement, renamed = saving(changed, kept is not None)
        key = ("surveys", survey.id)
        defer(self._session, statement, parameters, renamed, key, guard=kept is not None)
        _show(survey, values)
        self._kept_after_commit(survey)

        upsert = _upsert_answers(self._session)
        for number in sorted(run.changed_answers):
            value = run.answers[number]
            q = question(number)
            answer = {
                "survey_id": survey.id,
                "question": number,
                "value": value,
                "score": q.score(value),
                "is_problem": q.is_problem(value),
                "answered_at": now,
            }
            defer(
                self._session,
                upsert,
                answer,
                _upsert_answer_renamed,
                ("answers", survey.id, number),
            )
        run.changed_answers.clear()

    def set_live_message(
        self, survey: Survey | SurveyRow, chat_id: int, message_id: int | None
    ) -> None:
        if isinstance(survey, SurveyRow):
            values = {"chat_id": chat_id, "live_message_id": message_id}
            key = ("surveys", survey.id)
            defer(self._session, _SET_LIVE, {"survey_id": survey.id, **values}, _set_live, key)
            _show(survey, values)
            self._kept_after_commit(survey)
            return
        survey.chat_id = chat_id
        survey.live_message_id = message_id
        self._kept_after_commit(survey)

    def _kept_after_commit(self, survey: Survey | SurveyRow) -> None:
        """A row's next press need not read it once this unit has committed (SurveyRows):
        kept as it is at the commit (a case opened meanwhile shows in `has_case`). A
        survey written through the ORM (a typed answer) is no longer kept: its next press
        reads it, instead of finding out from its UPDATE."""
        if isinstance(survey, SurveyRow):
            after_commit(self._session, partial(self._rows.keep, survey))
        else:
            self._rows.forget(survey.id)

    @staticmethod
    def mark_invited(survey: Survey, now: datetime) -> None:
        if survey.invited_at is None:
            survey.invited_at = now


def _show(survey: Survey | SurveyRow, values: dict[str, Any]) -> None:
    """Written values, shown by the object the caller holds (a mapped Survey does not
    take them for changes of its own to flush)."""
    for name, value in values.items():
        if isinstance(survey, SurveyRow):
            setattr(survey, name, value)
        else:
            set_committed_value(survey, name, value)
