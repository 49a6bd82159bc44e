"""Escalation cases, their history, and the deliveries that announce them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, Customer, Delivery, Survey, Visit
from survey.cases import ACTIVE, CaseState, CaseStatus


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # A list message a newer list of the same cases in the same chat took the place of.
    REPLACED = "replaced"


# Copies of a case that are redrawn whenever it changes: alerts and /case cards.
CASE_COPIES = ("alert", "card")


_STATE_FIELDS = tuple(field.name for field in fields(CaseState))


def state_of(case: Case) -> CaseState:
    """The case's lifecycle fields, for the domain's state machine (survey.cases)."""
    values = {name: getattr(case, name) for name in _STATE_FIELDS}
    return CaseState(**{**values, "status": CaseStatus(case.status)})


def apply_state(case: Case, state: CaseState) -> None:
    for name in _STATE_FIELDS:
        setattr(case, name, getattr(state, name))


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, case_id: int) -> Case | None:
        return await self._session.get(Case, case_id)

    async def for_survey(self, survey_id: int) -> Case | None:
        return await self._session.scalar(select(Case).where(Case.survey_id == survey_id))

    async def active(self, assignee_id: int | None = None, limit: int = 30) -> Sequence[Case]:
        """Open and taken cases: most severe first, then newest."""
        query = select(Case).where(Case.status.in_(ACTIVE))
        if assignee_id is not None:
            query = query.where(Case.assignee_id == assignee_id)
        severity_rank = sql_case((Case.severity == "high", 0), else_=1)
        query = query.order_by(severity_rank, Case.created_at.desc(), Case.id.desc())
        return (await self._session.scalars(query.limit(limit))).all()

    async def count_active(self, assignee_id: int | None = None) -> int:
        query = select(func.count()).select_from(Case).where(Case.status.in_(ACTIVE))
        if assignee_id is not None:
            query = query.where(Case.assignee_id == assignee_id)
        return int(await self._session.scalar(query) or 0)

    async def latest_for_customer_chat(self, telegram_user_id: int) -> Case | None:
        """The customer's most recent case (of a survey, or feedback they wrote), for
        relaying what they write to the managers."""
        of_their_surveys = (
            select(Case.id)
            .join(Survey, Survey.id == Case.survey_id)
            .join(Visit, Visit.id == Survey.visit_id)
            .join(Customer, Customer.id == Visit.customer_id)
            .where(Customer.telegram_user_id == telegram_user_id)
        )
        return await self._session.scalar(
            select(Case)
            .where(or_(Case.id.in_(of_their_surveys), Case.customer_user_id == telegram_user_id))
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(1)
        )

    async def by_topic(self, topic_id: int) -> Case | None:
        return await self._session.scalar(select(Case).where(Case.topic_id == topic_id))

    async def by_alert_message(self, chat_id: int, message_id: int) -> Case | None:
        return await self._session.scalar(
            select(Case)
            .join(Delivery, Delivery.case_id == Case.id)
            .where(
                Delivery.kind == "alert",
                Delivery.chat_id == chat_id,
                Delivery.message_id == message_id,
            )
        )

    def add(self, case: Case) -> None:
        self._session.add(case)

    @staticmethod
    def record(
        case: Case,
        kind: str,
        now: datetime,
        *,
        actor_id: int | None = None,
        actor_name: str | None = None,
        text: str | None = None,
    ) -> None:
        case.events.append(
            CaseEvent(
                kind=kind, actor_id=actor_id, actor_name=actor_name, text=text, created_at=now
            )
        )

    @staticmethod
    def changed(case: Case, now: datetime) -> None:
        """Mark the case's alert cards stale, so every copy gets edited to the new state."""
        case.version = (case.version or 1) + 1
        case.updated_at = now

    async def touch(self, case: Case, now: datetime) -> None:
        """After any change: bump the version and queue an edit of every copy of the case
        and of every case list."""
        self.changed(case, now)
        await self.refresh_alerts(case.id, now)
        await self.refresh_lists(now)

    # --- deliveries ------------------------------------------------------------------------

    async def alert_deliveries(self, case_id: int) -> Sequence[Delivery]:
        return (
            await self._session.scalars(
                select(Delivery)
                .where(Delivery.case_id == case_id, Delivery.kind == "alert")
                .order_by(Delivery.id)
            )
        ).all()

    def add_delivery(self, delivery: Delivery) -> None:
        self._session.add(delivery)

    def queue(
        self,
        case: Case,
        chat_id: int,
        now: datetime,
        *,
        kind: str = "notice",
        text: str | None = None,
        markup: dict[str, Any] | None = None,
        thread_id: int | None = None,
    ) -> None:
        """A message owed about the case, saved now and sent by the outbox after commit."""
        self._session.add(
            Delivery(
                case=case,
                kind=kind,
                chat_id=chat_id,
                thread_id=thread_id,
                text=text,
                reply_markup=markup,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def queue_list(self, chat_id: int, scope: str, now: datetime) -> None:
        """A /cases or /my list (`scope` says which), drawn by the outbox and redrawn
        whenever any case changes, until a newer list of the same scope replaces it."""
        self._session.add(
            Delivery(
                kind="list",
                chat_id=chat_id,
                text=scope,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def queue_part(self, chat_id: int, kind: str, text: str, now: datetime) -> None:
        """A message drawn by the outbox when it is sent (a part of the weekly report:
        `text` names the week)."""
        self._session.add(
            Delivery(
                kind=kind,
                chat_id=chat_id,
                text=text,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )

    async def refresh_lists(self, now: datetime) -> None:
        await self._session.execute(
            update(Delivery)
            .where(Delivery.kind == "list", Delivery.status == DeliveryStatus.SENT)
            .values(status=DeliveryStatus.PENDING, next_attempt_at=now)
        )

    async def older_lists(self, delivery: Delivery) -> Sequence[Delivery]:
        """The lists of the same scope sent to the same chat before this one."""
        return (
            await self._session.scalars(
                select(Delivery).where(
                    Delivery.kind == "list",
                    Delivery.chat_id == delivery.chat_id,
                    Delivery.text == delivery.text,
                    Delivery.id < delivery.id,
                    Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENT)),
                )
            )
        ).all()

    async def refresh_alerts(self, case_id: int, now: datetime) -> None:
        """Queue an edit of every sent copy of the case (and keep unsent ones due)."""
        await self._session.execute(
            update(Delivery)
            .where(
                Delivery.case_id == case_id,
                Delivery.kind.in_(CASE_COPIES),
                Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENT)),
            )
            .values(status=DeliveryStatus.PENDING, next_attempt_at=now)
        )

    async def due_delivery_ids(
        self,
        now: datetime,
        case_id: int | None = None,
        limit: int = 100,
        *,
        kind: str | None = None,
    ) -> Sequence[int]:
        """Due deliveries: all, or one case's (and the case lists, which show every case),
        or those of one kind."""
        query = select(Delivery.id).where(
            Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now
        )
        if case_id is not None:
            query = query.where(or_(Delivery.case_id == case_id, Delivery.kind == "list"))
        if kind is not None:
            query = query.where(Delivery.kind == kind)
        return (await self._session.scalars(query.order_by(Delivery.id).limit(limit))).all()

    async def claim_delivery(self, delivery_id: int, now: datetime, lease: timedelta) -> bool:
        """Take a due delivery for sending; False if another worker already has it."""
        result = await self._session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + lease)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        return await self._session.get(Delivery, delivery_id)

    async def cases_past_take_sla(self, now: datetime) -> Sequence[Case]:
        return (
            await self._session.scalars(
                select(Case).where(
                    Case.status == CaseStatus.OPEN,
                    Case.take_due_at <= now,
                    Case.take_reminded_at.is_(None),
                )
            )
        ).all()

    async def cases_past_resolve_sla(self, now: datetime) -> Sequence[Case]:
        return (
            await self._session.scalars(
                select(Case).where(
                    Case.status == CaseStatus.TAKEN,
                    Case.resolve_due_at <= now,
                    Case.resolve_reminded_at.is_(None),
                )
            )
        ).all()

    async def overdue(self, now: datetime, limit: int = 20) -> Sequence[Case]:
        """Active cases past their SLA: open past the take due time, taken past the
        resolve due time; the longest overdue first."""
        late = or_(
            (Case.status == CaseStatus.OPEN) & (Case.take_due_at <= now),
            (Case.status == CaseStatus.TAKEN) & (Case.resolve_due_at <= now),
        )
        query = select(Case).where(late).order_by(Case.created_at, Case.id).limit(limit)
        return (await self._session.scalars(query)).all()

    async def claim_reminder(self, case_id: int, column: str, now: datetime) -> bool:
        """Mark a reminder as sent exactly once, even with two workers racing."""
        attribute = getattr(Case, column)
        result = await self._session.execute(
            update(Case).where(Case.id == case_id, attribute.is_(None)).values({column: now})
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
