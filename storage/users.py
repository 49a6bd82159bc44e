"""People who write to the bot: language choice and opt-out."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, Customer, Delivery, Survey, TelegramUser, Visit


class Languages:
    """Each person's chosen language, kept in memory for a minute: a press needs no query
    for it. A choice made in this process applies at once; one made by another instance
    (several behind a balancer) within a minute."""

    def __init__(self, ttl: float = 60.0, size: int = 50_000) -> None:
        self._ttl = ttl
        self._size = size
        self._known: dict[int, tuple[float, str | None]] = {}

    def get(self, user_id: int) -> tuple[bool, str | None]:
        entry = self._known.get(user_id)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, user_id: int, language: str | None) -> None:
        if len(self._known) >= self._size:
            self._known.clear()  # rare: a fresh start costs one query per person
        self._known[user_id] = (time.monotonic() + self._ttl, language)

    def drop(self, user_id: int) -> None:
        self._known.pop(user_id, None)


class TelegramUserRepository:
    def __init__(self, session: AsyncSession, languages: Languages | None = None) -> None:
        self._session = session
        self._languages = languages or Languages(ttl=0)

    async def language(self, user_id: int) -> str | None:
        """The language this person chose with /language, if any."""
        known, language = self._languages.get(user_id)
        if not known:
            language = await self._session.scalar(
                select(TelegramUser.language).where(TelegramUser.id == user_id)
            )
            self._languages.put(user_id, language)
        return language

    async def get(self, user_id: int) -> TelegramUser | None:
        return await self._session.get(TelegramUser, user_id)

    async def get_or_create(self, user_id: int, now: datetime) -> TelegramUser:
        user = await self.get(user_id)
        if user is None:
            user = TelegramUser(id=user_id, created_at=now)
            self._session.add(user)
        return user

    async def set_language(self, user_id: int, language: str, now: datetime) -> None:
        user = await self.get_or_create(user_id, now)
        user.language = language
        self._languages.drop(user_id)

    async def set_opted_out(self, user_id: int, opted_out: bool, now: datetime) -> None:
        user = await self.get_or_create(user_id, now)
        user.opted_out_at = now if opted_out else None

    @staticmethod
    def link_customer(customer: Customer, user_id: int, now: datetime) -> None:
        if customer.telegram_user_id != user_id:
            customer.telegram_user_id = user_id
            customer.updated_at = now

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
            update(Case)
            .where(Case.customer_user_id == telegram_user_id)
            .values(customer_user_id=None, customer_label=None, message=None, media=None)
        )
        await self._session.execute(
            update(Survey).where(Survey.id.in_(survey_ids)).values(comment_media=None)
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
