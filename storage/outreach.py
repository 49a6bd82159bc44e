"""Invitations, reminders and broadcasts: the rows the sender works from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Broadcast,
    BroadcastRecipient,
    Customer,
    Send,
    Survey,
    Visit,
)
from survey.dialogue import SurveyStatus
from survey.outreach import SendStatus

OPEN = (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS)


class OutreachRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- sends ------------------------------------------------------------------------------

    def add_first_send(self, survey: Survey, kind: str, due: datetime, now: datetime) -> None:
        """The first send of a survey created in this same transaction: none can exist yet,
        so no look-up and no savepoint (a visit import adds thousands)."""
        self._session.add(
            Send(
                survey_id=survey.id,
                kind=kind,
                status=SendStatus.PENDING,
                attempts=0,
                next_attempt_at=due,
                created_at=now,
            )
        )

    async def schedule(
        self,
        survey: Survey,
        kind: str,
        due: datetime,
        now: datetime,
        broadcast_id: int | None = None,
    ) -> tuple[Send, bool]:
        """The survey's send of this kind, created if missing; True when created now."""
        existing = await self._session.scalar(
            select(Send).where(Send.survey_id == survey.id, Send.kind == kind)
        )
        if existing is not None:
            return existing, False
        send = Send(
            survey_id=survey.id,
            kind=kind,
            broadcast_id=broadcast_id,
            status=SendStatus.PENDING,
            attempts=0,
            next_attempt_at=due,
            created_at=now,
        )
        try:
            # A savepoint: another worker inserting the same (survey, kind) only loses this row.
            async with self._session.begin_nested():
                self._session.add(send)
        except IntegrityError:
            raced = await self._session.scalar(
                select(Send).where(Send.survey_id == survey.id, Send.kind == kind)
            )
            assert raced is not None
            return raced, False
        return send, True

    async def due_ids(self, now: datetime, limit: int) -> Sequence[int]:
        query = (
            select(Send.id)
            .where(
                Send.status == SendStatus.PENDING,
                Send.next_attempt_at <= now,
                or_(Send.claimed_until.is_(None), Send.claimed_until < now),
            )
            .order_by(Send.next_attempt_at, Send.id)
            .limit(limit)
        )
        return (await self._session.scalars(query)).all()

    async def stranded(self, now: datetime) -> Sequence[Send]:
        """Sends left `sending` past their lease: their worker died mid-send."""
        return (
            await self._session.scalars(
                select(Send).where(Send.status == SendStatus.SENDING, Send.claimed_until < now)
            )
        ).all()

    async def claim(self, send_id: int, now: datetime, lease: timedelta) -> bool:
        """Take a due send; False if another worker holds it or it is no longer pending."""
        result = await self._session.execute(
            update(Send)
            .where(
                Send.id == send_id,
                Send.status == SendStatus.PENDING,
                or_(Send.claimed_until.is_(None), Send.claimed_until < now),
            )
            .values(claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def get(self, send_id: int) -> Send | None:
        return await self._session.get(Send, send_id)

    async def recently_surveyed(self, customer_id: int, survey_id: int, since: datetime) -> bool:
        """Another survey of this customer was sent or answered since `since` (cooldown)."""
        found = await self._session.scalar(
            select(func.count())
            .select_from(Survey)
            .join(Survey.visit)
            .where(
                Visit.customer_id == customer_id,
                Survey.id != survey_id,
                or_(Survey.invited_at >= since, Survey.completed_at >= since),
            )
        )
        return bool(found)

    async def surveys_to_expire(self, now: datetime) -> Sequence[Survey]:
        return (
            await self._session.scalars(
                select(Survey).where(Survey.status.in_(OPEN), Survey.expires_at <= now)
            )
        ).all()

    # --- audiences and broadcasts ----------------------------------------------------------------

    async def never_invited(self, first: date, last: date) -> Sequence[Survey]:
        return (
            await self._session.scalars(
                select(Survey)
                .join(Survey.visit)
                .where(
                    Visit.visit_date.between(first, last),
                    Survey.status == SurveyStatus.INVITED,
                    Survey.invited_at.is_(None),
                )
                .order_by(Visit.visit_date, Survey.id)
            )
        ).all()

    async def invited_not_completed(self, now: datetime) -> Sequence[Survey]:
        return (
            await self._session.scalars(
                select(Survey)
                .where(
                    Survey.status.in_(OPEN),
                    Survey.invited_at.is_not(None),
                    or_(Survey.expires_at.is_(None), Survey.expires_at > now),
                )
                .order_by(Survey.id)
            )
        ).all()

    async def by_order(self, order_no: str) -> Survey | None:
        return await self._session.scalar(
            select(Survey).join(Survey.visit).where(Visit.order_no == order_no)
        )

    async def send_of(self, survey_id: int, kind: str) -> Send | None:
        return await self._session.scalar(
            select(Send).where(Send.survey_id == survey_id, Send.kind == kind)
        )

    def add_broadcast(self, broadcast: Broadcast) -> None:
        self._session.add(broadcast)

    def add_recipient(self, broadcast_id: int, send_id: int) -> None:
        self._session.add(BroadcastRecipient(broadcast_id=broadcast_id, send_id=send_id))

    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None:
        return await self._session.get(Broadcast, broadcast_id)

    async def running_broadcasts(self) -> Sequence[Broadcast]:
        return (
            await self._session.scalars(select(Broadcast).where(Broadcast.status == "running"))
        ).all()

    async def broadcast_counts(self, broadcast_id: int) -> dict[str, int]:
        rows = await self._session.execute(
            select(Send.status, func.count())
            .join(BroadcastRecipient, BroadcastRecipient.send_id == Send.id)
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
            .group_by(Send.status)
        )
        return {status: count for status, count in rows.all()}

    async def claimed_elsewhere(self, broadcast_id: int, now: datetime) -> int:
        """The broadcast's sends another worker has leased and not yet marked `sending` (a
        running bot's sender between its claim and its turn to send)."""
        held: int | None = await self._session.scalar(
            select(func.count())
            .select_from(Send)
            .join(BroadcastRecipient, BroadcastRecipient.send_id == Send.id)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                Send.status == SendStatus.PENDING,
                Send.claimed_until > now,
            )
        )
        return held or 0

    async def cancel_pending(self, broadcast_id: int) -> None:
        """Stop a broadcast: its own sends not yet out are cancelled; what went out stays."""
        await self._session.execute(
            update(Send)
            .where(Send.broadcast_id == broadcast_id, Send.status == SendStatus.PENDING)
            .values(status=SendStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )

    # --- the call list ---------------------------------------------------------------------------

    async def call_list(
        self, now: datetime | None = None, max_attempts: int = 3, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Customers the bot cannot reach: the call centre phones them instead, until the
        survey is done, they refuse, or `max_attempts` calls went unanswered; one called
        back later is listed again from its next call time (`now`)."""
        due = or_(Survey.next_call_at.is_(None), Survey.next_call_at <= now) if now else true()
        unreachable = (
            select(Survey, Send.status, Send.error)
            .join(Survey.visit)
            .join(Visit.customer)
            .outerjoin(Send, and_(Send.survey_id == Survey.id, Send.kind == "invitation"))
            .where(
                Customer.erased_at.is_(None),
                Customer.phone.is_not(None),
                Survey.status.notin_((SurveyStatus.COMPLETED, SurveyStatus.DECLINED)),
                Survey.call_attempts < max_attempts,
                due,
                or_(
                    Send.status == SendStatus.BLOCKED,
                    Send.status == SendStatus.UNCERTAIN,
                    and_(Send.status == SendStatus.SKIPPED, Send.error == "no_telegram"),
                    Survey.status == SurveyStatus.EXPIRED,
                ),
            )
            .order_by(Visit.visit_date, Survey.id)
            .limit(limit)
        )
        rows = []
        for survey, status, error in (await self._session.execute(unreachable)).all():
            if survey.status == SurveyStatus.EXPIRED:
                reason = "expired"
            elif status == SendStatus.BLOCKED:
                reason = "blocked"
            elif status == SendStatus.UNCERTAIN:
                reason = "uncertain"
            else:
                reason = error or "no_telegram"
            visit = survey.visit
            rows.append(
                {
                    "name": visit.customer.name,
                    "phone": visit.customer.phone or "",
                    "car": visit.car,
                    "order_no": visit.order_no,
                    "visit_date": visit.visit_date,
                    "reason": reason,
                    "survey_id": survey.id,
                    "attempts": survey.call_attempts,
                }
            )
        return rows
