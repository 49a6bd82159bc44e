"""All repositories of one unit of work, on one session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.cases import CaseRepository
from storage.models import Case, CaseEvent, Customer, Delivery, Survey, TelegramUser, Visit
from storage.outreach import OutreachRepository
from storage.staff import StaffRepository
from storage.surveys import SurveyRepository
from storage.updates import UpdateLog
from storage.users import TelegramUserRepository
from storage.visits import VisitRepository


class Repositories:
    """Repositories add and flush; only the use case commits, once, before talking to Telegram."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._update_to_record: tuple[int, int, datetime] | None = None
        self.surveys = SurveyRepository(session)
        self.cases = CaseRepository(session)
        self.staff = StaffRepository(session)
        self.outreach = OutreachRepository(session)
        self.updates = UpdateLog(session)
        self.users = TelegramUserRepository(session)
        self.visits = VisitRepository(session)

    async def forget(self, telegram_user_id: int, now: datetime) -> None:
        """Erase a person's personal data; anonymous answers stay for the statistics."""
        customer_ids = select(Customer.id).where(Customer.telegram_user_id == telegram_user_id)
        survey_ids = (
            select(Survey.id).join(Survey.visit).where(Visit.customer_id.in_(customer_ids))
        )
        case_ids = select(Case.id).where(Case.survey_id.in_(survey_ids))
        await self._session.execute(
            update(Survey)
            .where(Survey.id.in_(survey_ids))
            .values(comment=None, chat_id=None, live_message_id=None)
        )
        await self._session.execute(
            update(CaseEvent)
            .where(CaseEvent.case_id.in_(case_ids), CaseEvent.kind.in_(("relay_in", "relay_out")))
            .values(text=None)
        )
        await self._session.execute(
            update(CaseEvent)
            .where(CaseEvent.actor_id == telegram_user_id)
            .values(actor_id=None, actor_name=None)
        )
        await self._session.execute(
            update(Delivery)
            .where(Delivery.chat_id == telegram_user_id, Delivery.status == "pending")
            .values(status="failed", last_error="erased", text=None)
        )
        await self._session.execute(
            update(Customer)
            .where(Customer.telegram_user_id == telegram_user_id)
            .values(
                name="",
                phone=None,
                telegram_user_id=None,
                unreachable_reason=None,
                erased_at=now,
                updated_at=now,
            )
        )
        await self._session.execute(
            delete(TelegramUser).where(TelegramUser.id == telegram_user_id)
        )

    def record_update_on_commit(self, bot_id: int, update_id: int, now: datetime) -> None:
        """The update's id goes into the same transaction as the first thing it changes, so
        a re-delivered update finds either nothing applied or the id already there."""
        self._update_to_record = (bot_id, update_id, now)

    async def commit(self) -> None:
        if self._update_to_record is not None:
            self.updates.mark(*self._update_to_record)
            self._update_to_record = None
        await self._session.commit()

    @property
    def session(self) -> AsyncSession:
        """For read-only reports that run their own aggregate queries on this session."""
        return self._session

    async def flush(self) -> None:
        await self._session.flush()

    async def rollback(self) -> None:
        await self._session.rollback()
