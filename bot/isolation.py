"""One update at a time per chat, without keeping a lock for every chat ever seen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


@dataclass
class _ChatLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates holding or waiting for the lock


class ChatIsolation(BaseEventIsolation):
    """aiogram's SimpleEventIsolation keeps one lock per chat for good (aiogram itself
    notes that unused locks are never cleaned): memory that grows with every customer who
    ever answered. This one drops a chat's lock when the last update holding or waiting
    for it is done.
    """

    def __init__(self) -> None:
        self._chats: dict[StorageKey, _ChatLock] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        chat = self._chats.setdefault(key, _ChatLock())
        chat.users += 1
        try:
            async with chat.lock:
                yield
        finally:
            chat.users -= 1
            # close() at shutdown may have emptied the table under an update in flight.
            if chat.users == 0 and self._chats.get(key) is chat:
                del self._chats[key]

    @property
    def chats_locked(self) -> int:
        return len(self._chats)

    async def close(self) -> None:
        self._chats.clear()
