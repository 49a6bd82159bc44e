"""Building the Bot and the Dispatcher: production, `try` and the tests all call these."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder

from bot.fsm import SQLAlchemyStorage
from bot.i18n import LocaleMiddleware
from bot.isolation import ChatIsolation
from bot.middlewares import (
    KeepResponseTypesMiddleware,
    OnceOnlyMiddleware,
    RetryRequestMiddleware,
    UnitOfWorkMiddleware,
)
from bot.services import Services
from bot.settings import Settings
from handlers.routers import get_routers


class Session(AiohttpSession):
    """aiogram's session, closed without its 250 ms wait for TLS connections to drain
    when the Bot API is plain HTTP (a local Bot API server, the fake one in tests and
    `try`): there is nothing to drain, and the suite closes hundreds of bots."""

    async def close(self) -> None:
        if self.api.base.startswith("http://") and self._session is not None:
            await self._session.close()
            return
        await super().close()


def create_bot(settings: Settings, token: str) -> Bot:
    session = Session(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(KeepResponseTypesMiddleware())
    session.middleware(RetryRequestMiddleware())
    return Bot(
        token=token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_dispatcher(services: Services, *, storage: BaseStorage | None = None) -> Dispatcher:
    """Routing only: middlewares, the routers, and the services handlers may ask for."""
    settings = services.settings
    isolation: BaseEventIsolation = ChatIsolation()
    if storage is None and settings.redis_url:
        # Imported only when used: the Redis client weighs about 6 MB of memory.
        from aiogram.fsm.storage.redis import RedisStorage

        redis = RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        )
        # Locks in Redis too, so two processes never handle one chat's updates at once.
        storage, isolation = redis, redis.create_isolation()
    dispatcher = Dispatcher(
        storage=storage or SQLAlchemyStorage(services.sessions),
        # A quick double tap must not answer the same question twice in parallel.
        events_isolation=isolation,
        policies=services.policies,
        clock=services.clock,
        outbox=services.outbox,
    )
    dispatcher.update.outer_middleware(UnitOfWorkMiddleware(services.database))
    dispatcher.update.outer_middleware(OnceOnlyMiddleware(services.clock))
    # An error handler runs after the update's unit of work has closed; it gets its own.
    dispatcher.errors.outer_middleware(UnitOfWorkMiddleware(services.database))
    LocaleMiddleware(services.i18n).setup(dispatcher)
    dispatcher.include_routers(*get_routers())
    return dispatcher
