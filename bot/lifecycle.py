"""What the bot tells Telegram about itself when it starts."""

from __future__ import annotations

import asyncio
import gc
import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User

from bot.commands import CommandError
from bot.services import Services
from bot.settings import Settings
from handlers import types_on_demand
from handlers.outbound.menus import publish_all
from storage.workflows.staff import everyone

log = logging.getLogger(__name__)
# New objects (allocations less deallocations) before the collector's youngest pass.
YOUNG_OBJECTS = 10_000


def settle_memory() -> None:
    """Once everything is built: move the objects that live as long as the program (aiogram's
    types, routers, the ORM's mappers) out of the garbage collector's way. The collector
    then never walks them again, and its pauses, which land on whoever is being served,
    get short: bench.dialogue's p99 with 200 customers at a human pace went from 160-1080
    ms to 90-140 ms on SQLite.

    Then the collector looks at the young objects after 10,000 new ones instead of 700:
    an update's objects are short-lived and freed by reference counting long before, so
    it walks what an update left behind about 15 times less often (at most about 10,000
    objects of cyclic garbage wait for it, a few MB). In bench.dialogue the collector's
    share of a survey press fell from about 0.24 ms to 0.03 ms (`gc.callbacks`, measured
    on the flood of 100 customers).

    aiogram's types are built on first use (handlers.types_on_demand); the ones every
    update needs are built here first, so they are frozen too."""
    types_on_demand.build_common()
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, older, oldest)


async def set_commands(bot: Bot, services: Services) -> None:
    """Every command menu (handlers/outbound/menus.py); a refusal is a warning."""
    async with services.database.unit() as db:
        staff = await everyone(db, services.policies.staffing)
    policies = services.policies
    await publish_all(
        bot, services.i18n, staff, policies.staffing.managers_chat_id, policies.dealer.board_url
    )


async def telegram_accepts(bot: Bot, settings: Settings) -> User:
    """getMe before anything else. A token Telegram refuses stops the start with one line;
    an unreachable Bot API is retried with backoff for TELEGRAM_STARTUP_WAIT (a service
    started before the network), then stops it with one line naming TELEGRAM_API_URL."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + settings.telegram_startup_wait.total_seconds()
    delay = 1.0
    while True:
        try:
            return await bot.get_me()
        except (TelegramUnauthorizedError, TelegramNotFound) as error:
            raise CommandError(
                "Telegram does not accept this BOT_TOKEN (it was revoked, or belongs to "
                "another Bot API server); get the current one from @BotFather"
            ) from error
        except (TelegramNetworkError, TelegramServerError) as error:
            if loop.time() + delay > give_up:
                raise CommandError(
                    f"cannot reach the Bot API at TELEGRAM_API_URL={settings.telegram_api_url} "
                    f"({type(error).__name__}); check the network or the URL"
                ) from error
            log.warning("Telegram is not reachable yet (%s); again in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
