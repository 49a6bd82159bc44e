"""Webhook mode: updates arrive over HTTPS (behind nginx or a balancer) instead of polling."""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.api import MAX_BODY, add_api
from bot.board import add_board
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)

# How long shutdown waits for updates already being handled.
DRAIN_SECONDS = 25


class DrainingRequestHandler(SimpleRequestHandler):
    """Answers Telegram at once and handles the update in the background; on shutdown it
    lets the updates in flight finish before the bot's session closes."""

    async def close(self) -> None:
        pending = set(self._background_feed_update_tasks)
        if pending:
            log.info("waiting for %s update(s) in flight", len(pending))
            await asyncio.wait(pending, timeout=DRAIN_SECONDS)
        await super().close()


def listen_address(settings: Settings) -> tuple[str, int]:
    host, _, port = settings.webhook_listen.rpartition(":")
    return host or "0.0.0.0", int(port)


def create_app(
    settings: Settings,
    bot: Bot,
    dispatcher: Dispatcher,
    engine: AsyncEngine,
    services: Services | None = None,
) -> web.Application:
    assert settings.webhook_url is not None
    assert settings.webhook_secret is not None
    app = web.Application(client_max_size=MAX_BODY)
    DrainingRequestHandler(
        dispatcher=dispatcher, bot=bot, secret_token=settings.webhook_secret.get_secret_value()
    ).register(app, path=urlsplit(settings.webhook_url).path or "/")

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (DBAPIError, OSError):
            return web.json_response(
                {"status": "unhealthy", "database": "unreachable"}, status=503
            )
        return web.json_response({"status": "ok", "database": "ok"})

    app.router.add_get("/healthz", healthz)
    if services is not None:
        add_web(app, services, bot)  # the visits API and the case board on the same server
    setup_application(app, dispatcher, bot=bot)
    return app


async def serve(
    settings: Settings,
    bot: Bot,
    dispatcher: Dispatcher,
    engine: AsyncEngine,
    services: Services | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully."""
    assert settings.webhook_url is not None
    assert settings.webhook_secret is not None
    app = create_app(settings, bot, dispatcher, engine, services)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    host, port = listen_address(settings)
    await web.TCPSite(runner, host, port).start()
    await bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=dispatcher.resolve_used_update_types(),
    )
    log.info(
        "Follow-up started: webhook at %s, listening on %s:%s",
        settings.webhook_url,
        host,
        port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()  # stops accepting, drains updates in flight, closes the bot


def add_web(app: web.Application, services: Services, bot: Bot) -> None:
    """The visits API (when API_TOKEN is set) and the case board (/app/)."""
    if services.settings.api_token is not None:
        add_api(app, services)
    add_board(app, services, bot)


def create_web_app(services: Services, bot: Bot) -> web.Application:
    """The bot's web side on a server of its own (polling mode's API_LISTEN, the tests)."""
    app = web.Application(client_max_size=MAX_BODY)
    add_web(app, services, bot)
    return app


async def start_web(settings: Settings, services: Services, bot: Bot) -> web.AppRunner | None:
    """In polling mode, the visits API and the case board on API_LISTEN (host:port)."""
    if settings.api_listen is None:
        return None
    runner = web.AppRunner(create_web_app(services, bot), handle_signals=False)
    await runner.setup()
    host, _, port = settings.api_listen.rpartition(":")
    await web.TCPSite(runner, host or "0.0.0.0", int(port)).start()
    return runner
