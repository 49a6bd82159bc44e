"""The cases board in a real browser: Debian's chromium driven by Playwright for Python,
against the bot (real Dispatcher, fake Bot API) and its web server on 127.0.0.1.

A manager opens the board with the initData Telegram would hand it, sees the case a
customer's answer raised (with its countdown running), filters, opens it, takes it (the
group's alert then names the taker) and closes it; the figures tab draws the report.
Forged, expired and non-staff initData get 401 and the page shows nothing of the cases.

BOARD_SCREENSHOTS=docs saves the README's screenshots there.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.playground.web_app import forged, init_data
from bot.webhook import create_web_app
from tests.conftest import CUSTOMER_ID, App
from tests.telegram.test_board import answer_as
from tests.telegram.test_escalation import ANNA, GROUP, alerts, answer, finish

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "4242:TEST-token"
# A phone's screen; generous ceilings: the machine is often busy.
PHONE = {"width": 400, "height": 860}
CEILING_MS = 120_000
HOSTILE = '<img src=x onerror="document.title=1">Мойку & <b>не</b> сделали'
THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#3390ec",
    "button_color": "#3390ec",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f4f4f5",
}
expect.set_options(timeout=CEILING_MS)


@pytest.fixture
async def served(app: App) -> AsyncIterator[tuple[App, str]]:
    app.telegram.add_group(GROUP)
    desk = app.restarted(
        managers_chat_id=GROUP, manager_ids=[ANNA], board_url="https://board.example.ru/app/"
    )
    server = TestServer(create_web_app(desk.services, desk.bot), host="127.0.0.1")
    await server.start_server()
    try:
        yield desk, str(server.make_url("/app/"))
    finally:
        await server.close()
        await desk.bot.session.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert os.access(CHROMIUM, os.X_OK), "Debian's chromium: apt-get install chromium"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()  # the browser's processes end with it


def opened_from_telegram(url: str, data: str) -> str:
    """The address a Telegram app opens: launch parameters in the fragment."""
    fragment = (
        f"tgWebAppData={quote(data, safe='')}&tgWebAppVersion=8.0&tgWebAppPlatform=android"
        f"&tgWebAppThemeParams={quote(json.dumps(THEME), safe='')}"
    )
    return f"{url}#{fragment}"


async def new_page(browser: Browser) -> tuple[Page, list[str]]:
    page = await browser.new_page(viewport=PHONE, locale="ru-RU")
    page.set_default_timeout(CEILING_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    return page, problems


async def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    await page.screenshot(path=tmp_path / name, full_page=True)
    target = os.environ.get("BOARD_SCREENSHOTS")
    if target:
        os.makedirs(target, exist_ok=True)
        shutil.copy(tmp_path / name, os.path.join(target, name))


async def test_a_manager_works_a_case_on_the_board(
    served: tuple[App, str], browser: Browser, tmp_path: Path
) -> None:
    desk, url = served
    await desk.member(ANNA, "Анна").send("/start")  # Telegram names her chat once she wrote
    await finish(await answer(desk, {8: "Нет, с опозданием"}))  # case 1, at 12:00 in Moscow
    desk.clock.advance(hours=2, minutes=30)
    customer = await answer_as(desk, 43, "ZN-0002", {8: "Нет, с опозданием", 10: "Да, превысила"})
    await finish(customer, comment=HOSTILE)  # case 2, high severity, at 14:30
    assert "Взять в работу" in str(alerts(desk, GROUP)[-1]["reply_markup"])

    page, problems = await new_page(browser)
    data = init_data(TOKEN, ANNA, "Анна", desk.clock())
    await page.goto(opened_from_telegram(url, data))
    row, late = page.locator('[data-case="2"]'), page.locator('[data-case="1"]')
    await expect(page.locator("#list button")).to_have_count(2)
    assert await page.locator("#list button").first.get_attribute("data-case") == "2"
    await expect(row).to_contain_text("Мария Козлова")
    await expect(row).to_contain_text("Kia Rio, А123ВС77 · ZN-0002 · Сергей Смирнов")
    await expect(row).to_contain_text("Счёт выше согласованного: Да, превысила")
    await expect(page.locator("#who")).to_have_text("Анна")
    # The countdowns run on the bot's clock: two hours to take case 2; case 1's are over.
    due = row.locator(".due")
    await expect(due).to_contain_text("взять за 1:59:")
    first = await due.text_content()
    await expect(due).not_to_have_text(first or "", timeout=CEILING_MS)
    await expect(late.locator(".due")).to_contain_text("просрочен на 0:30:")
    await expect(late.locator(".due")).to_have_class("due late")

    # Filters: nothing is Anna's yet; only case 1 is overdue; both are Smirnov's.
    await page.get_by_role("button", name="Мои", exact=True).click()
    await expect(page.locator("#empty")).to_have_text("Под фильтр не подходит ни один кейс.")
    await page.get_by_role("button", name="Просроченные").click()
    await expect(page.locator("#list button")).to_have_count(1)
    await expect(late).to_be_visible()
    await page.get_by_role("button", name="Не взятые").click()
    await page.locator("#advisor").select_option("Сергей Смирнов")
    await expect(page.locator("#list button")).to_have_count(2)
    await page.locator("#advisor").select_option("")
    await page.get_by_role("button", name="Все", exact=True).click()
    await screenshot(page, "board-cases.png", tmp_path)

    await row.click()
    card = page.locator("#card")
    await expect(card).to_contain_text("Кейс №2, высокая важность")
    await expect(card.locator("tr.problem")).to_have_count(2)
    await expect(card.locator(".comment")).to_have_text(HOSTILE)  # as typed, not as markup
    assert await card.locator("img").count() == 0
    await expect(card).to_contain_text("кейс открыт")
    await expect(card).to_contain_text("оповещение отправлено: Анна")
    await screenshot(page, "board-case.png", tmp_path)

    await page.get_by_role("button", name="Взять в работу").click()
    await expect(card).to_contain_text("в работе: Анна")
    await expect(page.get_by_role("button", name="Взять в работу")).to_have_count(0)
    group_alert = alerts(desk, GROUP)[-1]
    assert "Кейс №2" in group_alert["text"]
    assert "В работе с 20.10 14:30: Анна" in group_alert["text"]
    assert "Взять в работу" not in str(group_alert["reply_markup"])

    await page.locator("#cause").select_option("billing")
    await page.locator("#note").fill("Вернули разницу, извинились")
    await page.locator("#close").click()
    await expect(card).to_contain_text("Закрыт 20.10 14:30, Анна · Счёт и оплата")
    await expect(page.locator("#close")).to_have_count(0)
    assert "Закрыт 20.10 14:30, Анна" in alerts(desk, GROUP)[-1]["text"]
    assert "Проблема решена?" in customer.last["text"]

    await page.locator("#back").click()
    await expect(page.locator("#list button")).to_have_count(1)
    await expect(late).to_be_visible()
    await page.get_by_role("tab", name="Цифры").click()
    report = page.locator("#report")
    await expect(report).to_contain_text("Статистика за 21.09–20.10.2026")
    await expect(report.locator(".tile").nth(4)).to_have_text("2Кейсов открыто")
    await expect(page.locator("#charts img")).not_to_have_count(0)
    await screenshot(page, "board-figures.png", tmp_path)
    assert not problems, problems  # no script error, nothing the page's CSP refused
    await page.close()


@pytest.mark.parametrize("who", ["forged", "expired", "a customer", "nothing"])
async def test_nobody_else_sees_anything(
    served: tuple[App, str], browser: Browser, who: str
) -> None:
    desk, url = served
    customer = await answer(desk, {10: "Да, превысила"})
    await finish(customer)
    now = desk.clock()
    data = {
        "forged": forged(init_data(TOKEN, ANNA, "Анна", now)),
        "expired": init_data(TOKEN, ANNA, "Анна", now.replace(day=now.day - 2)),
        "a customer": init_data(TOKEN, CUSTOMER_ID, "Иван", now),
        "nothing": "",
    }[who]
    page, _problems = await new_page(browser)
    statuses: list[int] = []
    page.on(
        "response",
        lambda response: statuses.append(response.status) if "/api/" in response.url else None,
    )
    await page.goto(opened_from_telegram(url, data) if data else url)
    await expect(page.locator("#refused")).to_be_visible()
    await expect(page.locator("#board")).to_be_hidden()
    text = await page.locator("body").inner_text()
    for secret in ("Иван Петров", "Kia Rio", "ZN-0001", "Смирнов"):
        assert secret not in text
    assert statuses == [401]
    await page.close()
