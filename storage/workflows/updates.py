"""Housekeeping of the handled update ids."""

from __future__ import annotations

from datetime import datetime

from storage.uow import UnitOfWork


async def prune(db: UnitOfWork, older_than: datetime) -> int:
    """Forget handled update ids older than this; returns how many."""
    removed = await db.updates.prune(older_than)
    await db.commit()
    return removed
