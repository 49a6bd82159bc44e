"""`run`, `migrate` and `try`."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from aiogram import Bot
from aiogram.utils.i18n import gettext as _

from bot.commands import NO_TOKEN, CommandError, open_database
from bot.lifecycle import telegram_accepts
from bot.settings import Settings

log = logging.getLogger(__name__)


async def migrate(settings: Settings, args: argparse.Namespace) -> int:
    engine = await open_database(settings)
    await engine.dispose()
    print(_("The database is up to date."))
    return 0


@contextmanager
def one_bot_per_file(settings: Settings) -> Iterator[None]:
    """One `run` per SQLite file (two would both poll Telegram and both send): the second
    says so and stops. A server database takes any number (webhook behind a balancer,
    --jobs-only), coordinated in the database itself."""
    from storage.database import sqlite_file

    database = sqlite_file(settings.database_url)
    if database is None or not database.parent.is_dir():
        yield  # a missing folder is reported by open_database, in one line
        return
    lock_path = database.with_name(database.name + ".lock")
    with lock_path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            raise CommandError(
                f"another followup-bot run (pid {holder}) is already using {database.name}; "
                "one bot per SQLite file (PostgreSQL for several)"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        raise CommandError(NO_TOKEN)
    from aiogram.utils.token import TokenValidationError

    from bot.dispatcher import create_bot

    try:
        bot = create_bot(settings, settings.bot_token.get_secret_value())
    except TokenValidationError as error:
        raise CommandError("BOT_TOKEN does not look like a token from @BotFather") from error
    try:
        # Telegram first: a wrong token or no network is said before anything is written.
        await telegram_accepts(bot, settings)
        with one_bot_per_file(settings):
            return await _serve(settings, args, bot)
    finally:
        await bot.session.close()


async def _serve(settings: Settings, args: argparse.Namespace, bot: Bot) -> int:
    from bot.dispatcher import create_dispatcher
    from bot.lifecycle import set_commands, settle_memory
    from bot.scheduler import Chores
    from bot.services import Services
    from storage.database import create_session_factory

    engine = await open_database(settings)
    services = Services.build(settings, create_session_factory(engine))
    dispatcher = create_dispatcher(services)
    scheduler = Chores(services, bot)
    settle_memory()
    stop_sending = asyncio.Event()
    sending = asyncio.create_task(services.sender.run_until_stopped(bot, stop_sending))
    webhook = args.webhook or settings.webhook_url is not None
    try:
        if webhook and (settings.webhook_url is None or settings.webhook_secret is None):
            raise CommandError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
        scheduler.start()
        if args.jobs_only:
            await until_stopped()
        else:
            await set_commands(bot, services)  # or a warning
            if webhook:  # its start line names its address
                from bot.webhook import serve

                await serve(settings, bot, dispatcher, engine, services)
            else:
                api = None
                if settings.api_listen is not None:  # aiohttp's server only when asked for
                    from bot.webhook import start_web

                    api = await start_web(settings, services, bot)
                me = await bot.me()
                web_side = "visits API and case board" if settings.api_token else "case board"
                log.info(
                    "Follow-up started: polling as @%s (bot id %s)%s",
                    me.username,
                    me.id,
                    f"; {web_side} on {settings.api_listen}" if api else "",
                )
                try:
                    await dispatcher.start_polling(bot, handle_signals=True)
                finally:
                    if api is not None:
                        await api.cleanup()
    finally:
        await scheduler.stop()  # the jobs in flight finish first
        stop_sending.set()
        await sending  # the batch in flight finishes and is recorded
        await dispatcher.storage.close()  # the Redis connection, when REDIS_URL is set
        await bot.session.close()
        await engine.dispose()
    return 0


async def until_stopped() -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def try_survey(settings: Settings, args: argparse.Namespace) -> int:
    from bot.playground.play import play

    return await play(settings, database_url=args.database_url, language=args.language)
