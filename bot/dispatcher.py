"""Building the Bot and the Dispatcher: production, `try` and the tests all call these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.fsm import SQLAlchemyStorage
from bot.i18n import LocaleMiddleware, create_i18n
from bot.isolation import ChatIsolation
from bot.middlewares import (
    DbSessionMiddleware,
    KeepResponseTypesMiddleware,
    OnceOnlyMiddleware,
    RetryRequestMiddleware,
)
from bot.settings import Settings
from handlers import get_routers
from handlers.outbound.outbox import Outbox
from handlers.outbound.progress import ProgressReporter
from handlers.outbound.sender import Sender


def create_bot(settings: Settings, token: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(KeepResponseTypesMiddleware())
    session.middleware(RetryRequestMiddleware())
    return Bot(
        token=token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    storage: BaseStorage | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Dispatcher:
    i18n = create_i18n(settings.default_language)
    isolation: BaseEventIsolation = ChatIsolation()
    if storage is None and settings.redis_url:
        redis = RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        )
        # Locks in Redis too, so two processes never handle one chat's updates at once.
        storage, isolation = redis, redis.create_isolation()
    dispatcher = Dispatcher(
        storage=storage or SQLAlchemyStorage(session_factory),
        # A quick double tap must not answer the same question twice in parallel.
        events_isolation=isolation,
        settings=settings,
        clock=clock,
        outbox=Outbox(session_factory, settings, clock, i18n),
        sender=Sender(session_factory, settings, clock, i18n),
        progress=ProgressReporter(session_factory, settings, clock, i18n),
    )
    dispatcher.update.outer_middleware(DbSessionMiddleware(session_factory))
    dispatcher.update.outer_middleware(OnceOnlyMiddleware(clock))
    # An error handler runs after the update's session has closed; it gets its own.
    dispatcher.errors.outer_middleware(DbSessionMiddleware(session_factory))
    LocaleMiddleware(i18n).setup(dispatcher)
    dispatcher.include_routers(*get_routers())
    return dispatcher
