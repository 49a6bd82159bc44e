"""The case's state machine (survey/cases.py), on plain values: no database, no Telegram."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from survey import cases
from survey.cases import CaseStatus
from survey.policy import CasePolicy
from survey.working_hours import WorkingHours

ZONE = ZoneInfo("Europe/Moscow")
POLICY = CasePolicy(
    hours=WorkingHours.parse("09:00-20:00", ZONE),
    take_sla=timedelta(hours=2),
    resolve_sla=timedelta(hours=48),
)
# Tuesday 20 October 2026, 12:00 in Moscow: inside working hours.
NOON = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)


def test_a_new_case_is_open_and_due_within_the_take_sla_of_working_time() -> None:
    case = cases.opened(NOON, POLICY)
    assert case.status is CaseStatus.OPEN
    assert case.take_due_at == NOON + timedelta(hours=2)
    late = datetime(2026, 10, 20, 16, 30, tzinfo=UTC)  # 19:30 local: half an hour left today
    assert cases.opened(late, POLICY).take_due_at == datetime(2026, 10, 21, 7, 30, tzinfo=UTC)


def test_take_then_a_second_take_is_refused_with_who_has_it() -> None:
    taken = cases.take(cases.opened(NOON, POLICY), 2, "Анна", NOON, POLICY)
    assert (taken.status, taken.assignee_id, taken.taken_at) == (CaseStatus.TAKEN, 2, NOON)
    assert taken.resolve_due_at == NOON + timedelta(hours=48)
    with pytest.raises(cases.TakenByYou):
        cases.take(taken, 2, "Анна", NOON, POLICY)
    with pytest.raises(cases.TakenByOther) as refused:
        cases.take(taken, 3, "Борис", NOON, POLICY)
    assert (refused.value.who, refused.value.at) == ("Анна", NOON)


def test_resolve_needs_a_known_cause_and_counts_an_untaken_case_as_taken() -> None:
    case = cases.opened(NOON, POLICY)
    with pytest.raises(cases.NotAllowed):
        cases.resolve(case, 3, "Борис", "aliens", "note", NOON)
    done = cases.resolve(case, 3, "Борис", "parts", "Заменили датчик", NOON)
    assert done.status is CaseStatus.RESOLVED
    assert (done.assignee_id, done.cause, done.resolution_note) == (3, "parts", "Заменили датчик")
    with pytest.raises(cases.AlreadyClosed):
        cases.resolve(done, 3, "Борис", "parts", "again", NOON)
    with pytest.raises(cases.AlreadyClosed):
        cases.take(done, 2, "Анна", NOON, POLICY)


def test_reopen_clears_the_owner_and_restarts_the_take_sla() -> None:
    done = cases.resolve(
        cases.take(cases.opened(NOON, POLICY), 2, "Анна", NOON, POLICY),
        2,
        "Анна",
        "other",
        "x",
        NOON,
    )
    later = NOON + timedelta(hours=1)
    again = cases.reopen(done, later, POLICY)
    assert again.status is CaseStatus.OPEN
    assert (again.assignee_id, again.taken_at, again.resolved_at) == (None, None, None)
    assert again.take_due_at == later + timedelta(hours=2)
    with pytest.raises(cases.AlreadyOpen):
        cases.reopen(again, later, POLICY)


def test_the_customer_answers_once_and_not_fixed_reopens() -> None:
    done = cases.resolve(cases.opened(NOON, POLICY), 2, "Анна", "workshop", "x", NOON)
    fixed = cases.customer_says_fixed(done, True, NOON, POLICY)
    assert (fixed.status, fixed.customer_confirmed) == (CaseStatus.RESOLVED, True)
    with pytest.raises(cases.AlreadyAnswered):
        cases.customer_says_fixed(fixed, False, NOON, POLICY)
    not_fixed = cases.customer_says_fixed(done, False, NOON, POLICY)
    # Back with the manager who closed it, who has the resolve SLA again.
    assert (not_fixed.status, not_fixed.customer_confirmed) == (CaseStatus.TAKEN, False)
    assert (not_fixed.assignee_id, not_fixed.resolved_at) == (2, None)
    assert not_fixed.resolve_due_at == POLICY.hours.add(NOON, POLICY.resolve_sla)


def test_call_windows_are_days_in_the_dealership_calendar() -> None:
    case, today = cases.opened(NOON, POLICY), date(2026, 10, 20)
    assert cases.choose_call_window(case, "today", today).call_window_date == today
    assert cases.choose_call_window(case, "morning", today).call_window_date == date(2026, 10, 21)
    assert cases.choose_call_window(case, "any", today).call_window_date is None
    with pytest.raises(cases.NotAllowed):
        cases.choose_call_window(case, "midnight", today)
