"""aiogram FSM storage in our own database: the embedded default must survive restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FsmRecord


class SQLAlchemyStorage(BaseStorage):
    """Dialogue states (a manager's case note, an admin's broadcast setup) in the database,
    with a copy in memory that every read is served from: aiogram reads the state of every
    update, and a customer's press must not pay a query for a dialogue they never have.

    The copy is loaded once (the table holds only dialogues in progress) and written
    through, each write its own short transaction. It assumes one bot process on the
    database: SQLite allows only that, and several processes on PostgreSQL keep their
    dialogues in Redis (REDIS_URL).
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._sessions = session_factory
        self._keys = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self._copy: dict[str, tuple[str | None, dict[str, Any]]] | None = None
        self._loading = asyncio.Lock()

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        _, data = (await self._records()).get(self._keys.build(key), (None, {}))
        await self._write(key, value, data)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._records()).get(self._keys.build(key), (None, {}))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        state, _ = (await self._records()).get(self._keys.build(key), (None, {}))
        await self._write(key, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._records()).get(self._keys.build(key), (None, {}))[1])

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""

    async def _records(self) -> dict[str, tuple[str | None, dict[str, Any]]]:
        if self._copy is None:
            async with self._loading:
                if self._copy is None:
                    async with self._sessions() as session:
                        rows = (await session.scalars(select(FsmRecord))).all()
                    self._copy = {row.key: (row.state, dict(row.data or {})) for row in rows}
        return self._copy

    async def _write(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        name = self._keys.build(key)
        async with self._sessions.begin() as session:
            record = await session.get(FsmRecord, name)
            if state is None and not data:
                if record is not None:
                    await session.delete(record)
            elif record is None:
                session.add(FsmRecord(key=name, state=state, data=data))
            else:
                record.state, record.data = state, data
        copy = await self._records()
        if state is None and not data:
            copy.pop(name, None)
        else:
            copy[name] = (state, data)
