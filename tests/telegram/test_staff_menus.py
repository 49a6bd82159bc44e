"""Command menus per audience and language, and staff greeted as staff: read back from the
fake Bot API the way Telegram resolves a chat's menu (chat, then all private chats, then
the default; each with the app's language first)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.lifecycle import set_commands
from handlers.outbound.menus import ADMIN_COMMANDS, CUSTOMER, GROUP, MANAGER_COMMANDS
from tests.conftest import CUSTOMER_ID, App

GROUP_ID = -100_700
ADMIN, MANAGER, NEWCOMER = 1, 2, 5


@pytest.fixture
async def desk(app: App) -> AsyncIterator[App]:
    app.telegram.add_group(GROUP_ID, title="Клиентская служба")
    staffed = app.restarted(managers_chat_id=GROUP_ID)
    yield staffed
    await staffed.bot.session.close()


def descriptions(app: App, chat_id: int, language: str | None) -> dict[str, str]:
    """The menu's descriptions as the last setMyCommands for that chat's scope sent them."""
    for call in reversed(app.telegram.calls_of("setMyCommands")):
        scope = call.params.get("scope") or {}
        if scope.get("chat_id") == chat_id and call.params.get("language_code") == language:
            return {c["command"]: c["description"] for c in call.params["commands"]}
    return {}


async def test_each_audience_gets_its_menu_in_its_language(desk: App) -> None:
    telegram = desk.telegram
    await desk.customer().send("/language")  # the manager has chosen English before
    manager = desk.member(MANAGER, "Анна")
    await manager.send("/language")
    await manager.click("English")
    telegram.menus.clear()

    await set_commands(desk.bot, desk.services)

    # Customers, in a Russian and an English app alike.
    assert telegram.menu_for(CUSTOMER_ID, "ru") == list(CUSTOMER)
    assert telegram.menu_for(CUSTOMER_ID, "en") == list(CUSTOMER)
    assert telegram.menu_for(CUSTOMER_ID, None) == list(CUSTOMER)
    ru = [c for c in telegram.calls_of("setMyCommands") if c.params.get("language_code") == "ru"]
    assert {c["description"] for c in ru[0].params["commands"]} >= {
        "Начать или продолжить опрос",
        "Что мы о вас храним",
        "Стереть ваши данные",
    }
    # Staff: their role's commands in their private chat, in the language they chose.
    assert telegram.menu_for(ADMIN, "ru") == list(ADMIN_COMMANDS)
    assert telegram.menu_for(MANAGER, "ru") == list(MANAGER_COMMANDS)
    assert "broadcast" not in MANAGER_COMMANDS
    assert "staff" in ADMIN_COMMANDS
    assert descriptions(desk, MANAGER, None)["cases"] == "Open cases"
    assert descriptions(desk, ADMIN, None)["cases"] == "Открытые кейсы"
    # The managers' group: the case commands; other groups nothing.
    assert telegram.menu_for(GROUP_ID, "ru", private=False) == list(GROUP)
    assert telegram.menu_for(-42, "ru", private=False) == []


async def test_the_menu_follows_staff_changes(desk: App) -> None:
    telegram = desk.telegram
    newcomer = desk.member(NEWCOMER, "Ольга")
    await newcomer.send("/start")  # a customer so far: the customers' greeting
    assert "поделитесь номером" in newcomer.messages()[-1]["text"].lower()
    await set_commands(desk.bot, desk.services)
    assert telegram.menu_for(NEWCOMER, "ru") == list(CUSTOMER)

    admin = desk.member(ADMIN, "Мария")
    await admin.send(f"/staff add manager {NEWCOMER}")
    assert admin.messages()[-1]["text"] == "Ольга теперь менеджер клиентской службы."
    assert telegram.menu_for(NEWCOMER, "ru") == list(MANAGER_COMMANDS)

    await newcomer.send("/start")
    greeting = newcomer.messages()[-1]["text"]
    assert greeting.startswith("Здравствуйте, Ольга! Вы — менеджер клиентской службы")
    assert "Открытых кейсов: 0, из них ваших: 0." in greeting
    assert "/cases" in greeting
    assert "/broadcast" not in greeting
    assert "reply_markup" not in newcomer.messages()[-1]  # no "share your phone" keyboard

    await admin.send(f"/staff add admin {NEWCOMER}")
    assert telegram.menu_for(NEWCOMER, "ru") == list(ADMIN_COMMANDS)
    await admin.send("/staff")
    listing = admin.messages()[-1]["text"]
    assert "Мария · руководитель клиентской службы · задан в настройках" in listing
    assert "Ольга · руководитель клиентской службы · добавлен в боте" in listing
    assert str(NEWCOMER) not in listing  # names, not ids
    await admin.click("Убрать: Ольга")
    assert telegram.menu_for(NEWCOMER, "ru") == list(CUSTOMER)
