"""Surveys and their answers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, Update, and_, bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.batch import StaleRow, after_commit, defer, fetch, run_sync
from storage.dialects import insert_of, prepared
from storage.models import Answer, Customer, Survey, Visit, answer_facts
from survey.calls import PHONE
from survey.dialogue import SurveyRun, SurveyStatus
from survey.metrics import survey_score
from survey.questionnaire import decode_answers, encode_answers, question

OPEN_STATUSES = (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS)
_OPEN = frozenset(status.value for status in OPEN_STATUSES)
# The press's Core statements, built once.
_SURVEYS = cast(Table, Survey.__table__)
_ANSWERS = cast(Table, Answer.__table__)
_PRESS_COLUMNS = (
    "status",
    "step",
    "answer_codes",
    "comment",
    "wants_contact",
    "updated_at",
    "started_at",
    "completed_at",
    "declined_at",
    "score",
    "chat_id",
    "live_message_id",
    "answered_count",
    "problem_count",
    "friendliness",
    "responsiveness",
    "completion_seconds",
)


def _save_run(prefix: str) -> Update:
    """The survey row's UPDATE (prefixed bind names: for PostgreSQL's merged commit,
    storage.batch)."""
    return (
        update(_SURVEYS)
        .where(_SURVEYS.c.id == bindparam(prefix + "survey_id"))
        .values(
            {
                name: bindparam(prefix + name, type_=_SURVEYS.c[name].type)
                for name in _PRESS_COLUMNS
            }
        )
    )


_SAVE_RUN = _save_run("")
# What a press reads of the survey's visit and customer (for the owner check and screens).
_JOINED: dict[str, Any] = {
    "owner_id": Customer.telegram_user_id,
    "customer_name": Customer.name,
    "customer_phone": Customer.phone,
    "order_no": Visit.order_no,
    "visit_date": Visit.visit_date,
    "car": Visit.car,
}
# The survey's own columns a press reads besides those it writes.
_READ_ONLY_COLUMNS = ("invited_at", "channel", "operator_id", "has_case")
# A press's read: the columns it writes back, whose survey it is and what its screens show.
_PRESSED = (
    select(
        _SURVEYS.c.id,
        *(_SURVEYS.c[name] for name in _PRESS_COLUMNS),
        *(_SURVEYS.c[name] for name in _READ_ONLY_COLUMNS),
        *(column.label(name) for name, column in _JOINED.items()),
    )
    .join(Visit, Visit.id == _SURVEYS.c.visit_id)
    .join(Customer, Customer.id == Visit.customer_id)
    .where(_SURVEYS.c.id == bindparam("survey_id"))
)
# Compared with what this process last committed (SurveyRows) by the UPDATE of a press
# that did not read the row. Not has_case: a case opened in the same transaction sets it
# before that UPDATE runs (and `mapped` reads it; a case is opened only with an answer,
# which changes the columns compared).
_SEEN_COLUMNS = (*_PRESS_COLUMNS, *_READ_ONLY_COLUMNS[:-1])


def _save_run_if_seen(prefix: str) -> Update:
    """`_save_run` that changes the row only while it, its visit and its customer are as
    `seen_*` says (IS NOT DISTINCT FROM: NULL equals NULL)."""
    columns = _SURVEYS.c

    def same(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        return column.is_not_distinct_from(bindparam(prefix + "seen_" + name, type_=column.type))

    visit_and_customer = (
        exists()
        .where(Visit.id == columns.visit_id, Customer.id == Visit.customer_id)
        .where(*(same(column, name) for name, column in _JOINED.items()))
    )
    return _save_run(prefix).where(
        and_(*(same(columns[name], name) for name in _SEEN_COLUMNS)), visit_and_customer
    )


def _save_run_if_seen_returning(prefix: str) -> Update:
    """`_save_run_if_seen` returning the survey's id: PostgreSQL's merged commit claims the
    update's id with it, so a row no longer as seen fails the whole statement
    (storage.updates, `claim_with`)."""
    return _save_run_if_seen(prefix).returning(_SURVEYS.c.id)


_SAVE_RUN_IF_SEEN = _save_run_if_seen("")


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


@dataclass(slots=True)
class SurveyRow:
    """A survey as a button press reads it (`SurveyRepository.pressed`): one Core query
    of its row, its customer and visit, instead of three mapped objects, whose load cost
    a press more than its writes. Written back like a mapped Survey (`save_run`,
    `set_live_message`); `mapped` gives the Survey when a case must be opened or updated.
    """

    id: int
    status: str
    step: int
    answer_codes: str
    comment: str | None
    wants_contact: bool | None
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    declined_at: datetime | None
    score: float | None
    chat_id: int | None
    live_message_id: int | None
    answered_count: int
    problem_count: int
    friendliness: int | None
    responsiveness: int | None
    completion_seconds: float | None
    invited_at: datetime | None
    channel: str
    operator_id: int | None
    has_case: bool
    owner_id: int | None  # the customer's Telegram user
    customer_name: str
    customer_phone: str | None
    order_no: str
    visit_date: date
    car: str
    # Taken from SurveyRows instead of read: the values as this process last committed
    # them, which its writes check are still the database's (`save_run`, `mapped`).
    seen: tuple[Any, ...] | None = None


# SurveyRow's fields that hold the row (all but `seen`), in order.
_ROW_FIELDS = tuple(name for name in SurveyRow.__slots__ if name != "seen")


class SurveyRows:
    """The survey rows this process committed last, by survey id, so that a customer's
    next press need not read its row (about a tenth of a press's CPU, and on PostgreSQL
    a round trip). A row is taken out when a press uses it and put back only once that
    press has committed, so a failed press leaves nothing behind; the press's UPDATE
    changes the row only while the database still has what was taken
    (`_save_run_if_seen`), so an out-of-date row costs a read, never a wrong write.
    Only surveys a customer is answering (not phone surveys, not finished ones), the
    most recent `limit` of them."""

    def __init__(self, limit: int = 2_000) -> None:
        self._limit = limit
        self._rows: dict[int, tuple[Any, ...]] = {}

    def take(self, survey_id: int) -> SurveyRow | None:
        values = self._rows.pop(survey_id, None)
        if values is None:
            return None
        row = SurveyRow(*values)
        row.seen = values
        return row

    def keep(self, row: SurveyRow) -> None:
        """After the commit that wrote `row`: as it now is in the database."""
        self._rows.pop(row.id, None)
        if row.channel == PHONE or row.status not in _OPEN:
            return
        self._rows[row.id] = tuple(getattr(row, name) for name in _ROW_FIELDS)
        if len(self._rows) > self._limit:
            del self._rows[next(iter(self._rows))]

    def forget(self, survey_id: int) -> None:
        self._rows.pop(survey_id, None)


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
        rows = await fetch(self._session, _PRESSED, {"survey_id": survey_id})
        return SurveyRow(**rows[0]) if rows else None

    async def mapped(self, row: SurveyRow) -> Survey:
        """The mapped Survey of a row from `pressed`, showing the row's state (what
        `save_run` has written since is not in the database before the commit); its
        `has_case` as the database has it. StaleRow when the survey is gone."""
        survey = await self.get(row.id)
        if survey is None:
            raise StaleRow(row.id)
        for name in _PRESS_COLUMNS:
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
        row = {name: values.get(name, getattr(survey, name)) for name in _PRESS_COLUMNS}
        key = ("surveys", survey.id)
        if isinstance(survey, SurveyRow) and survey.seen is not None:
            seen = dict(zip(_ROW_FIELDS, survey.seen, strict=True))
            checked = {"seen_" + name: seen[name] for name in (*_SEEN_COLUMNS, *_JOINED)}
            parameters = {"survey_id": survey.id, **row, **checked}
            renamed = _save_run_if_seen_returning
            defer(self._session, _SAVE_RUN_IF_SEEN, parameters, renamed, key, guard=True)
        else:
            defer(self._session, _SAVE_RUN, {"survey_id": survey.id, **row}, _save_run, key)
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
