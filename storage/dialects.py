"""The one place that picks a dialect's INSERT ... ON CONFLICT: SQLite and PostgreSQL spell
it alike, but SQLAlchemy keeps it in each dialect's own `insert`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def upsert(session: AsyncSession, table: Any) -> Any:
    """An INSERT for `table` (a model or a Table) that accepts `on_conflict_do_*`."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
