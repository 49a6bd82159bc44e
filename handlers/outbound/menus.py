"""The command menus Telegram shows beside the input field, one per audience.

Customers (every private chat) get the customer commands in each language the bot
speaks; each manager and admin gets, in their own private chat, their role's commands in
their language; the managers' group gets the case commands. A change of role (/staff) or
of language (/language) republishes that one person's menu at once.

Cosmetic: a chat Telegram refuses (a person who never opened the bot) costs a warning,
never the start or the command that changed the role.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    BotCommandScopeUnion,
    MenuButtonDefault,
    MenuButtonUnion,
    MenuButtonWebApp,
    WebAppInfo,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from survey.policy import ADMIN, LANGUAGES, MANAGER, OPERATOR

log = logging.getLogger(__name__)

CUSTOMER = ("start", "language", "cancel", "stop", "mydata", "forget", "help")
MANAGER_COMMANDS = (
    "start",
    "cases",
    "my",
    "case",
    "board",
    "stats",
    "export",
    "segments",
    "calllist",
    "language",
    "cancel",
    "help",
)
ADMIN_COMMANDS = (*MANAGER_COMMANDS[:-3], "broadcast", "staff", *MANAGER_COMMANDS[-3:])
OPERATOR_COMMANDS = ("start", "calllist", "phone", "language", "cancel", "help")
GROUP = ("cases", "my", "case", "stats")
BY_ROLE = {MANAGER: MANAGER_COMMANDS, ADMIN: ADMIN_COMMANDS, OPERATOR: OPERATOR_COMMANDS}


def _descriptions(staff: bool) -> dict[str, str]:
    return {
        "start": _("Start or continue the survey") if not staff else _("Your menu and work"),
        "language": _("Choose the language"),
        "cancel": _("Pause the survey") if not staff else _("Cancel what you are doing"),
        "stop": _("Receive no more surveys"),
        "mydata": _("What we store about you"),
        "forget": _("Erase your personal data"),
        "help": _("What this bot does"),
        "cases": _("Open cases"),
        "my": _("Cases you have taken"),
        "case": _("One case by its number: /case 12"),
        "board": _("The cases board and figures on one screen"),
        "stats": _("Statistics and charts: /stats 30d"),
        "export": _("The answers as an Excel file"),
        "segments": _("Loyalty segments"),
        "calllist": _("Customers to phone"),
        "phone": _("A phone survey by work order: /phone ZN-1"),
        "broadcast": _("Invite or remind customers"),
        "staff": _("Who is staff"),
    }


def commands(names: Sequence[str], *, staff: bool = False) -> list[BotCommand]:
    """The menu for these commands in the current language."""
    described = _descriptions(staff)
    return [BotCommand(command=name, description=described[name]) for name in names]


# One call: the menu (None deletes it), the scope, the language (None: any).
Call = tuple[list[BotCommand] | None, BotCommandScopeUnion, str | None]


async def _set(bot: Bot, what: str, *calls: Call) -> None:
    try:
        for menu, scope, language in calls:
            if menu is None:
                await bot.delete_my_commands(scope=scope, language_code=language)
            else:
                await bot.set_my_commands(menu, scope=scope, language_code=language)
    except (TelegramAPIError, TelegramNetworkError) as error:
        log.warning("the command menu for %s was not set: %s", what, error)


async def publish_for(
    bot: Bot,
    i18n: I18n,
    user_id: int,
    role: str | None,
    language: str | None,
    board_url: str | None = None,
) -> None:
    """One person's menu after a change of role or language; no role: the customers' menu.
    Managers and admins also get the menu button that opens the cases board."""
    scope = BotCommandScopeChat(chat_id=user_id)
    if role is None:
        await _set(bot, f"chat {user_id}", (None, scope, None))
        await _button(bot, user_id, MenuButtonDefault())
        return
    with i18n.context(), i18n.use_locale(language or i18n.default_locale):
        menu = commands(BY_ROLE[role], staff=True)
        button: MenuButtonUnion = MenuButtonDefault()
        if board_url is not None and role in (MANAGER, ADMIN):
            button = MenuButtonWebApp(text=_("Cases"), web_app=WebAppInfo(url=board_url))
    await _set(bot, f"chat {user_id}", (menu, scope, None))
    await _button(bot, user_id, button)


async def _button(bot: Bot, user_id: int, button: MenuButtonUnion) -> None:
    try:
        await bot.set_chat_menu_button(chat_id=user_id, menu_button=button)
    except (TelegramAPIError, TelegramNetworkError) as error:
        log.warning("the menu button for chat %s was not set: %s", user_id, error)


async def publish_all(
    bot: Bot,
    i18n: I18n,
    staff: Iterable[tuple[int, str, str | None]],
    group_id: int | None,
    board_url: str | None = None,
) -> None:
    """Every menu, at start: customers per language, the group, then each staff member."""
    calls: list[Call] = []
    with i18n.context():
        for language in LANGUAGES:
            with i18n.use_locale(language):
                calls.append((commands(CUSTOMER), BotCommandScopeAllPrivateChats(), language))
        with i18n.use_locale(i18n.default_locale):
            calls.append((commands(CUSTOMER), BotCommandScopeAllPrivateChats(), None))
    # Nothing in other groups (older versions set the customers' menu for every chat).
    for default_language in (*LANGUAGES, None):
        calls.append((None, BotCommandScopeDefault(), default_language))
    await _set(bot, "customers", *calls)
    if group_id is not None:
        with i18n.context(), i18n.use_locale(i18n.default_locale):
            menu = commands(GROUP, staff=True)
        await _set(bot, "the managers' group", (menu, BotCommandScopeChat(chat_id=group_id), None))
    for user_id, role, chosen in staff:
        await publish_for(bot, i18n, user_id, role, chosen, board_url)
