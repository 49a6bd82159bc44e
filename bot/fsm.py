"""aiogram FSM storage in our own database: the embedded default must survive restarts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FsmRecord


class SQLAlchemyStorage(BaseStorage):
    """Each call is its own short transaction, so it never holds a lock across a handler."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._sessions = session_factory
        self._keys = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._sessions.begin() as session:
            record = await self._record(session, key)
            if record is None:
                if value is not None:
                    session.add(FsmRecord(key=self._keys.build(key), state=value, data={}))
                return
            record.state = value
            await self._drop_if_empty(session, record)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._sessions() as session:
            record = await self._record(session, key)
            return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self._sessions.begin() as session:
            record = await self._record(session, key)
            if record is None:
                if data:
                    session.add(FsmRecord(key=self._keys.build(key), state=None, data=dict(data)))
                return
            record.data = dict(data)
            await self._drop_if_empty(session, record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._sessions() as session:
            record = await self._record(session, key)
            return dict(record.data) if record else {}

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""

    async def _record(self, session: AsyncSession, key: StorageKey) -> FsmRecord | None:
        return await session.scalar(
            select(FsmRecord).where(FsmRecord.key == self._keys.build(key))
        )

    async def _drop_if_empty(self, session: AsyncSession, record: FsmRecord) -> None:
        if record.state is None and not record.data:
            await session.delete(record)
