"""Case use cases: each loads the case, asks the domain (survey.cases) for the move,
writes the row, its history and the messages it owes, and commits once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from storage.cases import apply_state, state_of
from storage.models import Case
from storage.uow import UnitOfWork
from storage.workflows.staff import admin_chats, alert_chats
from survey import cases
from survey.calls import PHONE
from survey.policy import Policies, Staffing

# A rendered message: its text and its keyboard as Telegram JSON.
Notice = tuple[str, dict[str, Any] | None]


async def load(db: UnitOfWork, case_id: int) -> Case:
    """The case with its survey, visit, customer and answers; NoSuchCase if there is none."""
    case = await db.cases.get(case_id)
    if case is None:
        raise cases.NoSuchCase
    if case.survey_id is not None:
        await db.surveys.get(case.survey_id)
    return case


async def load_for_customer(db: UnitOfWork, case_id: int, user_id: int) -> Case:
    """The customer's case; or, for a phone survey, the operator who walks it with them."""
    case = await load(db, case_id)
    survey = case.survey
    by_phone = survey is not None and survey.channel == PHONE and survey.operator_id == user_id
    if case.customer_chat_id != user_id and not by_phone:
        raise cases.NoSuchCase
    return case


async def show_card(
    db: UnitOfWork, case_id: int, chat_id: int, now: datetime, thread_id: int | None = None
) -> Case:
    """A copy of the case's card (with its history) for this chat, kept true from now on."""
    case = await load(db, case_id)
    db.cases.queue(case, chat_id, now, kind="card", thread_id=thread_id)
    await db.commit()
    return case


async def show_list(db: UnitOfWork, chat_id: int, scope: str, now: datetime) -> None:
    """A list of open cases for this chat, kept true from now on."""
    db.cases.queue_list(chat_id, scope, now)
    await db.commit()


async def take(
    db: UnitOfWork, case_id: int, actor_id: int, actor: str, now: datetime, policies: Policies
) -> Case:
    case = await load(db, case_id)
    apply_state(case, cases.take(state_of(case), actor_id, actor, now, policies.cases))
    db.cases.record(case, "taken", now, actor_id=actor_id, actor_name=actor)
    await _changed(db, case, now)
    return case


async def resolve(
    db: UnitOfWork,
    case_id: int,
    actor_id: int,
    actor: str,
    cause: str,
    note: str,
    now: datetime,
    ask_customer: Callable[[Case, str | None], Notice],
) -> Case:
    """Close the case; the customer is asked once (a queued notice) whether it is solved."""
    case = await load(db, case_id)
    apply_state(case, cases.resolve(state_of(case), actor_id, actor, cause, note, now))
    db.cases.record(case, "note", now, actor_id=actor_id, actor_name=actor, text=note)
    db.cases.record(case, "resolved", now, actor_id=actor_id, actor_name=actor, text=cause)
    customer_chat = case.customer_chat_id
    if customer_chat is not None:
        user = await db.users.get(customer_chat)
        text, markup = ask_customer(case, user.language if user else None)
        db.cases.queue(case, customer_chat, now, text=text, markup=markup)
    await _changed(db, case, now)
    return case


async def reopen(
    db: UnitOfWork, case_id: int, actor_id: int, actor: str, now: datetime, policies: Policies
) -> Case:
    case = await load(db, case_id)
    apply_state(case, cases.reopen(state_of(case), now, policies.cases))
    db.cases.record(case, "reopened", now, actor_id=actor_id, actor_name=actor)
    await _changed(db, case, now)
    return case


async def customer_says_fixed(
    db: UnitOfWork,
    case_id: int,
    user_id: int,
    fixed: bool,
    now: datetime,
    policies: Policies,
    reopened_notice: Callable[[Case], str],
) -> Case:
    """The customer's answer; "not fixed" reopens the case and tells the managers."""
    case = await load_for_customer(db, case_id, user_id)
    apply_state(case, cases.customer_says_fixed(state_of(case), fixed, now, policies.cases))
    if fixed:
        db.cases.record(case, "customer_fixed", now)
    else:
        db.cases.record(case, "customer_not_fixed", now)
        db.cases.record(case, "reopened", now, text="customer")
        group = policies.staffing.managers_chat_id
        text = reopened_notice(case)
        for chat_id in await alert_chats(db, policies.staffing):
            thread = case.topic_id if chat_id == group else None
            db.cases.queue(case, chat_id, now, text=text, thread_id=thread)
    await _changed(db, case, now)
    return case


async def choose_call_window(
    db: UnitOfWork, case_id: int, user_id: int, window: str, now: datetime, policies: Policies
) -> Case:
    case = await load_for_customer(db, case_id, user_id)
    today = now.astimezone(policies.dealer.zone).date()
    apply_state(case, cases.choose_call_window(state_of(case), window, today))
    db.cases.record(case, "call_window", now, text=case.call_window)
    await _changed(db, case, now)
    return case


async def record_relay(
    db: UnitOfWork,
    case: Case,
    kind: str,
    now: datetime,
    *,
    actor_id: int | None,
    actor: str | None = None,
    text: str,
) -> None:
    """A message relayed between the customer and the client service, kept in the history."""
    db.cases.record(case, kind, now, actor_id=actor_id, actor_name=actor, text=text)
    await db.commit()


async def remind_overdue(
    db: UnitOfWork,
    staffing: Staffing,
    now: datetime,
    notice: Callable[[Case, bool], Notice],
) -> int:
    """Queue the take and resolve SLA reminders that are due; returns how many cases."""
    reminded = 0
    for case in await db.cases.cases_past_take_sla(now):
        if not await db.cases.claim_reminder(case.id, "take_reminded_at", now):
            continue
        # Re-announced to the managers, and escalated to the head of client service.
        text, markup = notice(case, True)
        chats = [*await alert_chats(db, staffing), *await admin_chats(db, staffing)]
        for chat_id in dict.fromkeys(chats):
            db.cases.queue(case, chat_id, now, text=text, markup=markup)
        db.cases.record(case, "reminder_sent", now, text="take SLA")
        reminded += 1
    for case in await db.cases.cases_past_resolve_sla(now):
        if case.assignee_id is None:
            continue
        if not await db.cases.claim_reminder(case.id, "resolve_reminded_at", now):
            continue
        text, markup = notice(case, False)
        db.cases.queue(case, case.assignee_id, now, text=text, markup=markup)
        db.cases.record(case, "reminder_sent", now, text="resolve SLA")
        reminded += 1
    await db.commit()
    return reminded


async def _changed(db: UnitOfWork, case: Case, now: datetime) -> None:
    await db.cases.touch(case, now)
    await db.commit()
