"""What the bot tells Telegram about itself when it starts."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import SUPPORTED


def customer_commands() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Start or continue the survey")),
        BotCommand(command="language", description=_("Choose the language")),
        BotCommand(command="stop", description=_("Receive no more surveys")),
        BotCommand(command="help", description=_("What this bot does")),
    ]


async def set_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in each language; Telegram shows the one matching the app."""
    with i18n.context():
        for locale in SUPPORTED:
            with i18n.use_locale(locale):
                await bot.set_my_commands(customer_commands(), language_code=locale)
        with i18n.use_locale(i18n.default_locale):
            await bot.set_my_commands(customer_commands())
