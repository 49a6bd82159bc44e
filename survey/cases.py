"""The escalation case's life, as a pure state machine.

A case opens on a survey's first problem answer (or a request to be called). Staff take
it, resolve it with a cause and a note, and may reopen it; the customer is then asked
once whether the problem is solved, and "no" reopens it. `CaseState` holds the fields
that these moves change; storage copies it from and back to the case's row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from survey.escalation import Problem
from survey.policy import CasePolicy


class CaseStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    RESOLVED = "resolved"


ACTIVE = (CaseStatus.OPEN, CaseStatus.TAKEN)
# Why a case happened, chosen by the manager who closes it.
CAUSES = ("advisor", "workshop", "parts", "billing", "waiting", "other")
# When a customer who asked to be called would like the call.
CALL_WINDOWS = ("today", "morning", "evening", "any")
NOTE_MAX_CHARS = 2000


class CaseRefused(Exception):
    """A move the case's state does not allow; the handler turns it into a short reply."""


class NoSuchCase(CaseRefused):
    pass


class AlreadyClosed(CaseRefused):
    pass


class AlreadyOpen(CaseRefused):
    pass


class AlreadyAnswered(CaseRefused):
    pass


class NotAllowed(CaseRefused):
    """A value no button offers (a forged cause or call window)."""


class TakenByOther(CaseRefused):
    # Not a frozen dataclass: Python sets __traceback__ on an exception as it passes
    # through a context manager (a unit of work), which a frozen one refuses.
    __match_args__ = ("who", "at")

    def __init__(self, who: str | None, at: datetime | None) -> None:
        super().__init__(who, at)
        self.who = who
        self.at = at


class TakenByYou(CaseRefused):
    pass


@dataclass(frozen=True, slots=True)
class CaseState:
    status: CaseStatus
    assignee_id: int | None = None
    assignee_name: str | None = None
    taken_at: datetime | None = None
    resolved_at: datetime | None = None
    cause: str | None = None
    resolution_note: str | None = None
    customer_confirmed: bool | None = None
    take_due_at: datetime | None = None
    take_reminded_at: datetime | None = None
    resolve_due_at: datetime | None = None
    resolve_reminded_at: datetime | None = None
    call_window: str | None = None
    call_window_date: date | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE


def opened(now: datetime, policy: CasePolicy) -> CaseState:
    return CaseState(status=CaseStatus.OPEN, take_due_at=policy.hours.add(now, policy.take_sla))


def take(
    case: CaseState, actor_id: int, actor_name: str, now: datetime, policy: CasePolicy
) -> CaseState:
    if case.status is CaseStatus.RESOLVED:
        raise AlreadyClosed
    if case.status is CaseStatus.TAKEN:
        if case.assignee_id == actor_id:
            raise TakenByYou
        raise TakenByOther(case.assignee_name, case.taken_at)
    return replace(
        case,
        status=CaseStatus.TAKEN,
        assignee_id=actor_id,
        assignee_name=actor_name,
        taken_at=now,
        resolve_due_at=now + policy.resolve_sla,
    )


def check_cause(case: CaseState, cause: str) -> None:
    """Closing starts with the cause; the note follows in the next message."""
    if case.status is CaseStatus.RESOLVED:
        raise AlreadyClosed
    if cause not in CAUSES:
        raise NotAllowed


def resolve(
    case: CaseState, actor_id: int, actor_name: str, cause: str, note: str, now: datetime
) -> CaseState:
    """Closed by whoever writes the note; an untaken case counts as taken by them."""
    check_cause(case, cause)
    if case.assignee_id is None:
        case = replace(case, assignee_id=actor_id, assignee_name=actor_name, taken_at=now)
    return replace(
        case,
        status=CaseStatus.RESOLVED,
        resolved_at=now,
        cause=cause,
        resolution_note=note,
        customer_confirmed=None,
    )


def reopen(case: CaseState, now: datetime, policy: CasePolicy) -> CaseState:
    if case.status is not CaseStatus.RESOLVED:
        raise AlreadyOpen
    return replace(
        case,
        status=CaseStatus.OPEN,
        assignee_id=None,
        assignee_name=None,
        taken_at=None,
        resolved_at=None,
        customer_confirmed=None,
        take_due_at=policy.hours.add(now, policy.take_sla),
        take_reminded_at=None,
        resolve_due_at=None,
        resolve_reminded_at=None,
    )


def customer_says_fixed(
    case: CaseState, fixed: bool, now: datetime, policy: CasePolicy
) -> CaseState:
    """The customer's one answer to "is the problem solved?". "No" reopens the case with
    the manager who closed it (they know it best; it shows in their /my) and gives them
    the resolve SLA again; when it was never anyone's, it waits to be taken."""
    if case.status is not CaseStatus.RESOLVED or case.customer_confirmed is not None:
        raise AlreadyAnswered
    if fixed:
        return replace(case, customer_confirmed=True)
    if case.assignee_id is None:
        return replace(reopen(case, now, policy), customer_confirmed=False)
    return replace(
        case,
        status=CaseStatus.TAKEN,
        resolved_at=None,
        customer_confirmed=False,
        resolve_due_at=policy.hours.add(now, policy.resolve_sla),
        resolve_reminded_at=None,
    )


def choose_call_window(case: CaseState, window: str, today: date) -> CaseState:
    """`today` is the dealership's local date; morning and evening mean tomorrow's."""
    if window not in CALL_WINDOWS:
        raise NotAllowed
    day = {"today": today, "any": None}.get(window, today + timedelta(days=1))
    return replace(case, call_window=window, call_window_date=day)


def snapshot(problems: list[Problem]) -> list[dict[str, object]]:
    """The problems as stored on the case (JSON), compared to see whether they changed."""
    return [
        {"question": p.question, "value": p.value, "severity": p.severity.value} for p in problems
    ]


def summary(problems: list[Problem]) -> str:
    return ", ".join(
        f"Q{p.question}={p.value}" if p.question is not None else "contact" for p in problems
    )
