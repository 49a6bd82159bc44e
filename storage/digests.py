"""Weeks whose report to management is queued: the claim that makes it once per week."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import prepared
from storage.models import DigestWeek

_claim = prepared(lambda insert: insert(DigestWeek.__table__).on_conflict_do_nothing())


class DigestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, week: str, now: datetime) -> bool:
        """True for the one caller that records this week first (the insert that conflicts
        is the check, so two instances at the same second cannot both win)."""
        result = await self._session.execute(
            _claim(self._session), {"week": week, "claimed_at": now}
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
