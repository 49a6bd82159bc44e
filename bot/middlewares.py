"""Middlewares that hand each update its database unit of work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update

from handlers.telegram import OWN_RATE_LIMITS, never_left
from storage.database import MAX_CONCURRENT_UPDATES
from storage.uow import Database, UnitOfWork
from storage.updates import UpdateSeenBefore
from survey.clock import Clock

log = logging.getLogger(__name__)


class UnitOfWorkMiddleware(BaseMiddleware):
    """One unit of work per update (`db` for the handlers); its use case commits, anything
    uncommitted rolls back.

    At most MAX_CONCURRENT_UPDATES updates hold a session at once (see storage.database):
    the rest wait their turn instead of starving the pool.
    """

    def __init__(self, database: Database, max_concurrent: int = MAX_CONCURRENT_UPDATES) -> None:
        self._database = database
        self._slots = asyncio.Semaphore(max_concurrent)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self._slots, self._database.unit() as db:
            data["db"] = db
            return await handler(event, data)


class OnceOnlyMiddleware(BaseMiddleware):
    """Skip an update whose id was handled before (Telegram re-delivers a webhook it
    thinks failed, and a killed poller gets its last batch again): an answer, a case
    action or an import is applied once.

    The guarantee is the id's insert in the use case's own transaction
    (UnitOfWork.commit): a re-delivered update's commit conflicts, writes nothing and
    ends here. Before the handler, ids above the newest one recorded when this process
    first saw its bot are new unless this process handled them (kept in memory), so a
    press costs no lookup; only ids at or below it (a re-delivery after a restart) are
    looked up first, so their handlers do not run at all.
    """

    RECENT = 10_000

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._floor: dict[int, int] = {}
        self._recent: dict[int, dict[int, None]] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        db: UnitOfWork = data["db"]
        bot_id: int = data["bot"].id
        update_id = event.update_id
        recent = self._recent.setdefault(bot_id, {})
        if update_id in recent or not await self._may_be_new(db, bot_id, update_id):
            log.info("update %s was delivered again; skipped", update_id)
            return UNHANDLED
        db.record_update_on_commit(bot_id, update_id, self._clock())
        try:
            result = await handler(event, data)
            await db.end_update()
        except UpdateSeenBefore:
            log.info("update %s was delivered again; skipped", update_id)
            return UNHANDLED
        recent[update_id] = None
        if len(recent) > self.RECENT:
            del recent[next(iter(recent))]
        return result

    async def _may_be_new(self, db: UnitOfWork, bot_id: int, update_id: int) -> bool:
        floor = self._floor.get(bot_id)
        if floor is None:
            floor = self._floor[bot_id] = await db.updates.newest(bot_id) or 0
        if update_id > floor:
            return True
        if not await db.updates.seen(bot_id, update_id):
            return True
        # Recorded: a re-delivery, unless the ids started again far below (the commit
        # then forgets the old sequence); from here the new ones count as new.
        if await db.updates.ids_restarted(bot_id, update_id):
            self._floor[bot_id] = update_id - 1
            return True
        return False


class RetryRequestMiddleware(BaseRequestMiddleware):
    """Every Bot API call, in one place: timeouts, network errors and 5xx are retried a
    few times with backoff; a 429 is waited out (`retry_after`, up to MAX_RETRY_AFTER)
    and retried. Bounded, so a handler never hangs for long. The outbound workers keep
    429s for themselves (`handlers.telegram.own_rate_limits`): they reschedule the
    message durably and pause everyone. A request that timed out may have reached
    Telegram; retrying risks a rare repeat, which beats a lost alert or reply.
    """

    MAX_RETRY_AFTER = 30.0

    def __init__(self, attempts: int = 3, first_delay: float = 0.5) -> None:
        self._attempts = attempts
        self._first_delay = first_delay

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self._attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                too_long = error.retry_after > self.MAX_RETRY_AFTER
                if OWN_RATE_LIMITS.get() or too_long or attempt == self._attempts:
                    raise
                log.warning(
                    "%s: Telegram asks to wait %s s (429); retry %s",
                    type(method).__name__,
                    error.retry_after,
                    attempt,
                )
                await asyncio.sleep(error.retry_after)
            except (TelegramNetworkError, TelegramServerError) as error:
                ambiguous = isinstance(error, TelegramNetworkError) and not never_left(error)
                if attempt == self._attempts or (ambiguous and OWN_RATE_LIMITS.get()):
                    raise
                delay = self._first_delay * 2 ** (attempt - 1)
                log.warning(
                    "%s failed (%s); retry %s in %.1f s",
                    type(method).__name__,
                    type(error).__name__,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


class KeepResponseTypesMiddleware(BaseRequestMiddleware):
    """aiogram reads every reply through `Response[<the method's result type>]`, and
    pydantic 2.13 (the version installed) caches such parametrised models only weakly:
    after a garbage collection the next call rebuilds the model's schema, about 10 ms of
    CPU each time, a large share of a survey answer's cost in the profile. A strong
    reference per type keeps them.
    """

    def __init__(self) -> None:
        self._kept: dict[Any, type[Response[Any]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._kept:
            self._kept[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)
