"""People who write to the bot: language choice and opt-out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, TelegramUser


class TelegramUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

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

    async def set_opted_out(self, user_id: int, opted_out: bool, now: datetime) -> None:
        user = await self.get_or_create(user_id, now)
        user.opted_out_at = now if opted_out else None

    @staticmethod
    def link_customer(customer: Customer, user_id: int, now: datetime) -> None:
        if customer.telegram_user_id != user_id:
            customer.telegram_user_id = user_id
            customer.updated_at = now
