"""The survey row a button press decides on: its read, its UPDATE (checked against what
this process committed, when the row was kept), and the rows kept (SurveyRows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from operator import attrgetter, itemgetter
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, Update, and_, bindparam, exists, select, update

from storage.models import Customer, Survey, Visit
from survey.calls import PHONE
from survey.dialogue import SurveyStatus

OPEN_STATUSES = (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS)
_OPEN = frozenset(status.value for status in OPEN_STATUSES)
_SURVEYS = cast(Table, Survey.__table__)
PRESS_COLUMNS = (
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


def _save_run(prefix: str, changed: tuple[str, ...]) -> Update:
    """The survey row's UPDATE of the `changed` columns (prefixed bind names: for
    PostgreSQL's merged commit, storage.batch)."""
    return (
        update(_SURVEYS)
        .where(_SURVEYS.c.id == bindparam(prefix + "survey_id"))
        .values({name: bindparam(prefix + name, type_=_SURVEYS.c[name].type) for name in changed})
    )


# What a press reads of the survey's visit and customer (for the owner check and screens).
JOINED: dict[str, Any] = {
    "owner_id": Customer.telegram_user_id,
    "customer_name": Customer.name,
    "customer_phone": Customer.phone,
    "order_no": Visit.order_no,
    "visit_date": Visit.visit_date,
    "car": Visit.car,
}
# The survey's own columns a press reads besides those it writes.
READ_ONLY_COLUMNS = ("invited_at", "channel", "operator_id", "has_case")
# A press's read: the columns it writes back, whose survey it is and what its screens show.
PRESSED = (
    select(
        _SURVEYS.c.id,
        *(_SURVEYS.c[name] for name in PRESS_COLUMNS),
        *(_SURVEYS.c[name] for name in READ_ONLY_COLUMNS),
        *(column.label(name) for name, column in JOINED.items()),
    )
    .join(Visit, Visit.id == _SURVEYS.c.visit_id)
    .join(Customer, Customer.id == Visit.customer_id)
    .where(_SURVEYS.c.id == bindparam("survey_id"))
)
# Compared with what this process last committed (SurveyRows) by the UPDATE of a press
# that did not read the row. Not has_case: a case opened in the same transaction sets it
# before that UPDATE runs (and `mapped` reads it; a case is opened only with an answer,
# which changes the columns compared).
SEEN_COLUMNS = (*PRESS_COLUMNS, *READ_ONLY_COLUMNS[:-1])


def _save_run_if_seen(prefix: str, changed: tuple[str, ...]) -> Update:
    """`_save_run` that changes the row only while it, its visit and its customer are as
    `seen_*` says (IS NOT DISTINCT FROM: NULL equals NULL)."""
    columns = _SURVEYS.c

    def same(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        return column.is_not_distinct_from(bindparam(prefix + "seen_" + name, type_=column.type))

    visit_and_customer = (
        exists()
        .where(Visit.id == columns.visit_id, Customer.id == Visit.customer_id)
        .where(*(same(column, name) for name, column in JOINED.items()))
    )
    return _save_run(prefix, changed).where(
        and_(*(same(columns[name], name) for name in SEEN_COLUMNS)), visit_and_customer
    )


@cache
def saving(changed: tuple[str, ...], checked: bool) -> tuple[Update, Callable[[str], Update]]:
    """The survey row's UPDATE of the columns a move changed, and the builder of its
    renamed form (storage.batch, `merged`), built once per set of columns (a few: an
    answer, the first, the last...). Only what changed is set: SQLite rewrites the
    entries of every index on a column in SET, changed or not (the report's covering
    index, status, chat, completion: an UPDATE and COMMIT of all seventeen columns cost
    72 µs against 33 µs for the five an answer changes, a `/tmp` script). `checked`:
    `_save_run_if_seen`, its renamed form returning the survey's id for PostgreSQL's
    merged commit, which claims the update's id with it, so a row no longer as seen
    fails the whole statement (storage.updates, `claim_with`)."""
    if checked:

        def renamed(prefix: str) -> Update:
            return _save_run_if_seen(prefix, changed).returning(_SURVEYS.c.id)

        return _save_run_if_seen("", changed), renamed

    def plain(prefix: str) -> Update:
        return _save_run(prefix, changed)

    return _save_run("", changed), plain


@dataclass(slots=True)
class SurveyRow:
    """A survey as a button press takes it (`SurveyRepository.pressed`): kept from this
    process's last commit of it (SurveyRows), else one Core query of its row, its
    customer and visit, instead of three mapped objects, whose load cost a press more
    than its writes. Written back like a mapped Survey (`save_run`, `set_live_message`);
    `mapped` gives the Survey when a case must be opened or updated.
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
    # them, which its UPDATE checks are still the database's (`save_run`).
    seen: tuple[Any, ...] | None = None


# SurveyRow's fields that hold the row (all but `seen`), in order.
ROW_FIELDS = tuple(name for name in SurveyRow.__slots__ if name != "seen")
# A row's values in that order, and what its checked UPDATE compares, at C speed.
_ROW_VALUES = attrgetter(*ROW_FIELDS)
_CHECKED = tuple(name for name in (*SEEN_COLUMNS, *JOINED))
_CHECKED_KEYS = tuple("seen_" + name for name in _CHECKED)
_CHECKED_VALUES = itemgetter(*(ROW_FIELDS.index(name) for name in _CHECKED))


def seen_parameters(seen: tuple[Any, ...]) -> dict[str, Any]:
    """The `seen_*` parameters of the checked UPDATE (`saving`) for a kept row's values."""
    return dict(zip(_CHECKED_KEYS, _CHECKED_VALUES(seen), strict=True))


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
        self._rows[row.id] = _ROW_VALUES(row)
        if len(self._rows) > self._limit:
            del self._rows[next(iter(self._rows))]

    def forget(self, survey_id: int) -> None:
        self._rows.pop(survey_id, None)
