"""Statements built once per dialect. INSERT ... ON CONFLICT is spelled alike by SQLite and
PostgreSQL, but SQLAlchemy keeps it in each dialect's own `insert`: this is the one place
that picks it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def dialect_of(bound: AsyncSession | Session | Connection) -> str:
    if isinstance(bound, Connection):
        return bound.dialect.name
    return bound.get_bind().dialect.name


def prepared(
    build: Callable[[Callable[[Any], Any]], Any],
) -> Callable[[AsyncSession | Session | Connection], Any]:
    """A statement built once per dialect (`build` gets that dialect's insert) and reused:
    the press runs the same few statements every time, and building one costs more CPU
    than sending it."""
    built: dict[str, Any] = {}

    def statement(bound: AsyncSession | Session | Connection) -> Any:
        name = dialect_of(bound)
        if name not in built:
            built[name] = build(insert_of(name))
        return built[name]

    return statement


def insert_of(dialect: str) -> Callable[[Any], Any]:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
