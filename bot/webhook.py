"""Webhook mode: updates arrive over HTTPS (behind nginx or a balancer) instead of polling."""

from __future__ import annotations

import asyncio
import logging
import signal
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
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


class WebhookHandler(SimpleRequestHandler):
    """Handles the update while Telegram's request waits, for up to `reply_within`
    seconds, so that a method the handler returns (the answer to a pressed button) rides
    in the HTTP reply instead of a request of its own. An update that takes longer goes
    on in the background: Telegram gets an empty reply and aiogram sends the method when
    it is ready. On shutdown the updates in flight finish before the bot's session
    closes."""

    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str, reply_within: float
    ) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)
        self._reply_within = reply_within

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        update = await request.json(loads=bot.session.json_loads)
        handling = asyncio.ensure_future(self._handled(bot, update))
        self._background_feed_update_tasks.add(handling)
        handling.add_done_callback(self._background_feed_update_tasks.discard)
        done, _ = await asyncio.wait((handling,), timeout=self._reply_within)
        if handling not in done:
            handling.add_done_callback(partial(self._answer_later, bot))
            return web.json_response({})
        return web.Response(body=self._build_response_writer(bot=bot, result=handling.result()))

    async def _handled(self, bot: Bot, update: dict[str, Any]) -> TelegramMethod[Any] | None:
        try:
            result = await self.dispatcher.feed_raw_update(bot, update, **self.data)
        except Exception:  # the errors router handles ours; this is a bug, not the user's
            log.exception("update %s failed", update.get("update_id"))
            return None
        return result if isinstance(result, TelegramMethod) else None

    def _answer_later(
        self, bot: Bot, handling: asyncio.Future[TelegramMethod[Any] | None]
    ) -> None:
        if handling.cancelled():  # stopped at exit, past the drain
            return
        method = handling.result()
        if method is not None:
            task = asyncio.ensure_future(self.dispatcher.silent_call_request(bot, method))
            self._background_feed_update_tasks.add(task)
            task.add_done_callback(self._background_feed_update_tasks.discard)

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
    WebhookHandler(
        dispatcher=dispatcher,
        bot=bot,
        secret_token=settings.webhook_secret.get_secret_value(),
        reply_within=settings.webhook_reply_within,
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
