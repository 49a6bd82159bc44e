"""All repositories of one unit of work, on one session."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.cases import CaseRepository
from storage.surveys import SurveyRepository
from storage.users import TelegramUserRepository
from storage.visits import VisitRepository


class Repositories:
    """Repositories add and flush; only the use case commits, once, before talking to Telegram."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.surveys = SurveyRepository(session)
        self.cases = CaseRepository(session)
        self.users = TelegramUserRepository(session)
        self.visits = VisitRepository(session)

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()
