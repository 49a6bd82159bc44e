"""Remembering handled update ids, so a re-delivered update is applied once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


class UpdateLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, bot_id: int, update_id: int) -> bool:
        return await self._session.get(ProcessedUpdate, (bot_id, update_id)) is not None

    def mark(self, bot_id: int, update_id: int, now: datetime) -> None:
        """Added to the update's own transaction: committed with what the handler wrote."""
        self._session.add(ProcessedUpdate(bot_id=bot_id, update_id=update_id, processed_at=now))

    async def prune(self, before: datetime) -> int:
        result = await self._session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
