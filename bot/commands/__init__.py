"""The bodies of `followup-bot`'s commands (bot/cli.py parses the arguments): each opens
the database, runs its use case from storage/workflows, and prints one line a result."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from survey.clock import utc_now
from survey.periods import Period, PeriodError, parse_period

NO_TOKEN = (
    "BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot) and put "
    "BOT_TOKEN=<the token it gives> into .env, or try the survey offline: followup-bot try"
)


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """The catalogues' texts (gettext) in this language while a command runs."""
    from bot.i18n import create_i18n

    i18n = create_i18n(language)
    with i18n.context(), i18n.use_locale(language):
        yield


class CommandError(Exception):
    """A failure the person at the terminal can act on: printed as one line, exit code 2."""


async def open_database(settings: Settings, *, migrate: bool = True) -> AsyncEngine:
    from storage.database import create_engine
    from storage.migrate import upgrade

    try:
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            folder = Path(url.database).parent
            if not folder.is_dir():
                # Said here: SQLite would only say "unable to open database file".
                raise CommandError(f"cannot open the database: the folder {folder} does not exist")
        # Only the migrations may create the database (an SQLite file on first start).
        migrating = create_engine(settings.database_url)
    except (SQLAlchemyError, ValueError) as error:
        raise CommandError(f"DATABASE_URL is not usable: {error}") from error
    try:
        if migrate:
            await upgrade(migrating)
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(
            f"cannot open the database at DATABASE_URL ({type(error).__name__}: "
            f"{str(error).splitlines()[0]})"
        ) from error
    finally:
        await migrating.dispose()
    return create_engine(settings.database_url, create_missing=False)


def cli_period(settings: Settings, text: str) -> Period:
    from aiogram.utils.i18n import gettext as _

    from handlers.views.dates import period_example

    try:
        return parse_period(text, utc_now().astimezone(settings.zone).date())
    except PeriodError as error:
        raise CommandError(
            _("--period {text!r} is not a period; examples: {example}, all").format(
                text=text, example=period_example()
            )
        ) from error


async def ask_username(settings: Settings) -> str:
    if settings.bot_token is None:
        raise CommandError(
            "set BOT_USERNAME (the bot's @name without @) or BOT_TOKEN to build the links"
        )
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

    from bot.dispatcher import create_bot

    bot = create_bot(settings, settings.bot_token.get_secret_value())
    try:
        me = await bot.get_me()
    except (TelegramAPIError, TelegramNetworkError) as error:
        raise CommandError(
            f"cannot ask Telegram for the bot's username ({error}); set BOT_USERNAME instead"
        ) from error
    finally:
        await bot.session.close()
    if not me.username:
        raise CommandError("the bot has no username; set BOT_USERNAME")
    return me.username
