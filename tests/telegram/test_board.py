"""The cases board's server side: initData checked (forged, expired, not staff: 401),
cases sorted by severity and SLA, take and close through the chat's use cases (every
alert redrawn), the figures of /stats, the /board command and the staff menu button."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.lifecycle import set_commands
from bot.playground.web_app import forged, init_data
from bot.webhook import create_web_app
from storage.models import Case
from tests.conftest import CUSTOMER_ID, App
from tests.telegram.test_escalation import ANNA, BORIS, GOOD, GROUP, alerts, answer, finish

BOARD_URL = "https://follow-up.example.ru/app/"
OPERATOR = 5
TOKEN = "4242:TEST-token"


@pytest.fixture
async def board(app: App) -> AsyncIterator[tuple[App, TestClient[Any, Any]]]:
    app.telegram.add_group(GROUP)
    desk = app.restarted(
        managers_chat_id=GROUP,
        manager_ids=[ANNA, BORIS],
        operator_ids=[OPERATOR],
        board_url=BOARD_URL,
    )
    client = TestClient(TestServer(create_web_app(desk.services, desk.bot)))
    await client.start_server()
    yield desk, client
    await client.close()
    await desk.bot.session.close()


def auth(app: App, user_id: int = ANNA, name: str = "Анна", **age: float) -> dict[str, str]:
    signed = app.clock() - timedelta(**age) if age else app.clock()
    return {"Authorization": "tma " + init_data(TOKEN, user_id, name, signed)}


async def test_only_staff_with_fresh_signed_init_data_see_the_board(
    board: tuple[App, TestClient[Any, Any]],
) -> None:
    desk, client = board
    customer = await answer(desk, {8: "Нет, с опозданием"})
    await finish(customer)
    fresh = auth(desk)
    refusals = {
        "no header": {},
        "not tma": {"Authorization": "Bearer x"},
        "forged": {"Authorization": forged(fresh["Authorization"])},
        "another bot's": {
            "Authorization": "tma " + init_data("1:other", ANNA, "Анна", desk.clock())
        },
        "a day and a minute old": auth(desk, days=1, minutes=1),
        "a customer": auth(desk, CUSTOMER_ID, "Иван"),
    }
    for why, headers in refusals.items():
        for path in ("/app/api/me", "/app/api/cases", "/app/api/cases/1", "/app/api/figures"):
            reply = await client.get(path, headers=headers)
            assert reply.status == 401, (why, path)
            body = await reply.json()
            assert set(body) == {"error"}, (why, path)  # nothing of the cases
        reply = await client.post("/app/api/cases/1/take", headers=headers)
        assert reply.status == 401, why
    # An operator is staff, but cases are the managers' work.
    reply = await client.get("/app/api/cases", headers=auth(desk, OPERATOR, "Олег"))
    assert reply.status == 403
    async with desk.sessions() as session:
        assert (await session.scalar(select(Case.status))) == "open"  # nobody took it

    # A day old is still fine; the page and its files are public, without any data.
    reply = await client.get("/app/api/me", headers=auth(desk, hours=23))
    me = await reply.json()
    assert (me["name"], me["role"], me["language"]) == ("Анна", "manager", "ru")
    assert me["words"]["take"] == "Взять в работу"
    assert [cause["label"] for cause in me["causes"]][:2] == [
        "Мастер-консультант",
        "Сервисный цех",
    ]
    page = await client.get("/app/")
    assert page.status == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    files = re.findall(r'(?:src|href)="([^"]+)"', await page.text())
    assert files == ["static/icon.svg", "static/board.css", "static/board.js"]  # ours, no CDN
    for name in files:
        served = await client.get("/app/" + name)
        assert served.status == 200
        assert "://" not in (await served.text()).replace("http://www.w3.org/2000/svg", "")


async def test_the_board_lists_takes_and_closes_like_the_chat(
    board: tuple[App, TestClient[Any, Any]],
) -> None:
    desk, client = board
    customer = await answer(desk, {8: "Нет, с опозданием"})
    await finish(customer, comment="Машину отдали на <b>час</b> позже & без мойки")
    desk.clock.advance(minutes=30)
    await finish(await answer_as(desk, 43, "ZN-0002", {8: "Нет, с опозданием"}))
    await finish(await answer_as(desk, 44, "ZN-0003", {10: "Да, превысила"}))
    headers = auth(desk)
    listing = await (await client.get("/app/api/cases", headers=headers)).json()
    assert listing["now"].startswith("2026-10-20T09:30")
    rows = listing["cases"]
    # The high-severity case first, then the one whose take SLA runs out first.
    assert [(row["id"], row["severity"]) for row in rows] == [
        (3, "high"),
        (1, "normal"),
        (2, "normal"),
    ]
    assert rows[1]["due"] < rows[2]["due"]
    first = rows[1]
    assert first["customer"] == "Иван Петров"
    assert first["advisor"] == "Сергей Смирнов"
    assert first["state"] == "новый"
    assert first["summary"] == "Автомобиль готов вовремя: Нет, с опозданием"
    assert first["due"] is not None
    assert first["overdue"] is False

    card = await (await client.get("/app/api/cases/1", headers=headers)).json()
    assert card["title"] == "Кейс №1"
    assert card["comment"] == "Машину отдали на <b>час</b> позже & без мойки"  # as typed
    problems = [row for row in card["answers"] if row["problem"]]
    assert problems == [
        {"question": "8. Автомобиль готов вовремя", "answer": "Нет, с опозданием", "problem": True}
    ]
    assert len(card["answers"]) == 12
    assert any("кейс открыт" in event["text"] for event in card["history"])
    assert (card["can_take"], card["can_close"]) == (True, True)

    reply = await client.post("/app/api/cases/1/take", headers=headers)
    assert reply.status == 200
    taken = await reply.json()
    assert taken["state"] == "в работе: Анна"
    assert taken["can_take"] is False
    # Every alert copy says who took it, like after the chat's button.
    group_alert = alerts(desk, GROUP)[0]
    assert "Анна" in group_alert["text"]
    assert "Взять в работу" not in str(group_alert["reply_markup"])
    # Boris cannot take it again; he is told who has it.
    boris = auth(desk, BORIS, "Борис")
    reply = await client.post("/app/api/cases/1/take", headers=boris)
    assert reply.status == 409
    assert "Анна" in (await reply.json())["error"]

    for body, problem in (
        ({"note": "Позвонили"}, "Выберите причину."),
        ({"cause": "workshop", "note": "  "}, "Пожалуйста, напишите заметку о решении текстом."),
        ({"cause": "nonsense", "note": "x"}, "Выберите причину."),
    ):
        reply = await client.post("/app/api/cases/1/close", json=body, headers=headers)
        assert reply.status == 422
        assert (await reply.json())["error"] == problem
    reply = await client.post(
        "/app/api/cases/1/close",
        json={"cause": "workshop", "note": "Извинились, мойка в подарок"},
        headers=headers,
    )
    closed = await reply.json()
    assert closed["can_close"] is False
    async with desk.sessions() as session:
        case = await session.get(Case, 1)
        assert case is not None
        assert (case.status, case.cause, case.resolution_note) == (
            "resolved",
            "workshop",
            "Извинились, мойка в подарок",
        )
    assert "Проблема решена?" in customer.last["text"]  # asked once, as after the chat
    assert "✅ Закрыт 20.10 12:30, Анна · Сервисный цех" in alerts(desk, GROUP)[0]["text"]
    listing = await (await client.get("/app/api/cases", headers=headers)).json()
    assert [row["id"] for row in listing["cases"]] == [3, 2]


async def answer_as(app: App, user_id: int, order_no: str, overrides: dict[int, str]) -> Any:
    survey = await app.add_visit(
        order_no, telegram_user_id=user_id, name="Мария Козлова", phone=f"+791234500{user_id}"
    )
    customer = app.customer(user_id)
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for number in range(1, 13):
        await customer.click(overrides.get(number, GOOD[number]))
    return customer


async def test_figures_come_from_the_report_of_stats(
    board: tuple[App, TestClient[Any, Any]],
) -> None:
    desk, client = board
    customer = await answer(desk, {8: "Нет, с опозданием"})
    await finish(customer)
    headers = auth(desk)
    figures = await (await client.get("/app/api/figures?period=30d", headers=headers)).json()
    assert figures["title"] == "Статистика за 21.09–20.10.2026"
    tiles = {tile["label"]: tile["value"] for tile in figures["tiles"]}
    assert tiles["Приглашено"] == "1"
    assert tiles["Завершили"] == "1 (100%)"
    assert tiles["Кейсов открыто"] == "1"
    q8 = figures["questions"][7]
    assert (q8["question"], q8["share"], q8["answered"]) == (
        "8. Автомобиль готов вовремя",
        "100%",
        1,
    )
    assert figures["advisors"][0]["advisor"] == "Сергей Смирнов"
    charts = await (await client.get("/app/api/charts?period=30d", headers=headers)).json()
    assert len(charts["charts"]) >= 2
    assert all(chart["png"].startswith("iVBORw0KGgo") for chart in charts["charts"])  # PNG
    reply = await client.get("/app/api/figures?period=yesterday-ish", headers=headers)
    assert reply.status == 400

    # A manager who chose English in the bot reads the board in English.
    boris = desk.member(BORIS, "Boris")
    await boris.send("/language")
    await boris.click("English")
    english = auth(desk, BORIS, "Boris")
    me = await (await client.get("/app/api/me", headers=english)).json()
    assert (me["language"], me["words"]["take"], me["words"]["figures"]) == (
        "en",
        "Take it",
        "Figures",
    )
    rows = (await (await client.get("/app/api/cases", headers=english)).json())["cases"]
    assert (rows[0]["state"], rows[0]["summary"]) == ("new", "Car ready on time: No, it was late")
    figures = await (await client.get("/app/api/figures?period=30d", headers=english)).json()
    assert figures["title"] == "Statistics for 21.09–20.10.2026"
    assert figures["questions"][7]["question"] == "8. Car ready on time"
    assert desk.telegram.menu_buttons[BORIS]["text"] == "Cases"


async def test_board_command_and_the_menu_button(board: tuple[App, TestClient[Any, Any]]) -> None:
    desk, _client = board
    await set_commands(desk.bot, desk.services)
    buttons = desk.telegram.menu_buttons
    assert buttons[ANNA]["type"] == "web_app"
    assert buttons[ANNA]["web_app"]["url"] == BOARD_URL
    assert buttons[ANNA]["text"] == "Кейсы"
    assert buttons[OPERATOR]["type"] == "default"  # operators have no cases
    anna = desk.member(ANNA, "Анна")
    await anna.send("/board")
    keyboard = anna.last["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0]["web_app"]["url"] == BOARD_URL
    in_group = desk.member(ANNA, "Анна", chat_id=GROUP)
    await in_group.send("/board")
    reply = desk.telegram.bot_messages(GROUP)[-1]
    assert "личном чате" in reply["text"]
    assert (
        reply["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://t.me/followup_test_bot"
    )
    # A customer's /board is not a staff command: it is not answered as one.
    customer = desk.customer()
    await customer.send("/board")
    assert all("web_app" not in str(m.get("reply_markup")) for m in customer.messages())

    # Removed from the staff: the button goes back to the commands.
    admin = desk.member(1, "Админ")
    await admin.send(f"/staff add менеджер {77}")
    assert buttons[77]["type"] == "web_app"
    await admin.send("/staff remove 77")
    assert buttons[77]["type"] == "default"

    plain = desk.restarted(board_url=None)
    await plain.member(ANNA, "Анна").send("/board")
    assert "не настроена" in desk.telegram.bot_messages(ANNA)[-1]["text"]
    await plain.bot.session.close()


async def test_a_slow_telegram_does_not_hang_the_take(
    board: tuple[App, TestClient[Any, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, client = board
    monkeypatch.setattr("bot.board.REDRAW_WAIT", 0.2)
    customer = await answer(desk, {10: "Да, превысила"})
    await finish(customer)
    desk.telegram.hold("editMessageText", after=0)  # Telegram takes the edit and says nothing
    reply = await client.post("/app/api/cases/1/take", headers=auth(desk))
    # The page has its answer from the database while the alert's edit is still on its way.
    assert reply.status == 200
    assert (await reply.json())["state"] == "в работе: Анна"
    assert desk.telegram.holding.is_set()
    desk.telegram.release()  # the edit fails; the outbox tries it again later
    desk.clock.advance(minutes=5)
    await desk.outbox.deliver(desk.bot)
    assert "В работе с 20.10 12:00: Анна" in alerts(desk, GROUP)[0]["text"]
