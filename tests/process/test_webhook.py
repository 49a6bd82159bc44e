"""`followup-bot run --webhook` as a real process behind a (pretend) balancer."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import aiohttp

from bot.playground import FakeTelegram
from tests.conftest import CUSTOMER_ID, App
from tests.fakes import FaultyTelegram
from tests.processes import CEILING, finish, spawn

USER = {"id": CUSTOMER_ID, "is_bot": False, "first_name": "Иван", "language_code": "ru"}
SECRET = "s3cret-Token_42"


API_TOKEN = "a-long-token-for-the-dealer-system"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_until(condition: Any, seconds: float = CEILING) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s")
        await asyncio.sleep(0.1)


def start_update(telegram: FakeTelegram, token: str, update_id: int) -> dict[str, Any]:
    message = telegram.user_message(CUSTOMER_ID, USER, f"/start {token}")
    message["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    return {"update_id": update_id, "message": message}


async def test_webhook_checks_the_secret_answers_a_press_in_its_reply_and_drains_on_sigterm(
    app: App, telegram: FaultyTelegram, tmp_path: Path
) -> None:
    survey = await app.add_visit()
    port = free_port()
    env = {
        **os.environ,
        "BOT_TOKEN": "4242:TEST-token",
        "TELEGRAM_API_URL": telegram.base_url,
        "DATABASE_URL": app.settings.database_url,
        "WEBHOOK_URL": "https://bot.example.test/tg/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "WEBHOOK_REPLY_WITHIN": "1",
        "API_TOKEN": API_TOKEN,
    }
    process = await spawn("run", env=env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:

        async def healthy() -> bool:
            try:
                async with http.get(f"{base}/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        try:
            await wait_until(healthy)
            async with http.get(f"{base}/healthz") as response:
                assert await response.json() == {"status": "ok", "database": "ok"}
            # The visits API is served by the same server.
            visit = {
                "order_no": "API-1",
                "visit_date": "2026-10-19",
                "customer_name": "Олег",
                "phone": "+79120000001",
                "car": "Лада",
                "advisor": "Смирнов",
            }
            bearer = {"Authorization": f"Bearer {API_TOKEN}"}
            async with http.post(f"{base}/api/v1/visits", json=visit) as response:
                assert response.status == 401
            async with http.post(f"{base}/api/v1/visits", json=visit, headers=bearer) as response:
                assert await response.json() == {"created": 1, "updated": 0}
            # So is the case board: its page, and its data only with Telegram's initData.
            async with http.get(f"{base}/app/") as response:
                assert response.status == 200
                assert "board.js" in await response.text()
            async with http.get(f"{base}/app/api/cases") as response:
                assert response.status == 401
            [registered] = telegram.calls_of("setWebhook")
            assert registered.params["url"] == "https://bot.example.test/tg/hook"
            assert registered.params["secret_token"] == SECRET

            update = start_update(telegram, survey.token, 1)
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(f"{base}/tg/hook", json=update, headers=headers) as response:
                    assert response.status == 401
            assert telegram.bot_messages(CUSTOMER_ID) == []

            # A slow update: its reply is held at the fake Telegram, and Telegram's request
            # gets an empty 200 after WEBHOOK_REPLY_WITHIN (1 s here) while the work goes on;
            # released, the reply goes out (a retry).
            telegram.hold("sendMessage", after=0)
            async with http.post(
                f"{base}/tg/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            ) as response:
                assert response.status == 200
            await asyncio.wait_for(telegram.holding.wait(), CEILING)
            assert telegram.bot_messages(CUSTOMER_ID) == []
            telegram.release()

            async def replied() -> bool:
                return bool(telegram.bot_messages(CUSTOMER_ID))

            await wait_until(replied)
            invitation = telegram.bot_messages(CUSTOMER_ID)[-1]
            assert "Здравствуйте, Иван Петров!" in invitation["text"]

            # A press: the question replaces the invitation, and the answer to the button
            # comes back in the reply to Telegram's request, not as a request of its own.
            [start_button] = [
                button
                for row in invitation["reply_markup"]["inline_keyboard"]
                for button in row
                if "Начать опрос" in button["text"]
            ]
            press = {
                "update_id": 3,
                "callback_query": {
                    "id": "press-1",
                    "from": USER,
                    "chat_instance": str(CUSTOMER_ID),
                    "message": invitation,
                    "data": start_button["callback_data"],
                },
            }
            async with http.post(
                f"{base}/tg/hook", json=press, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            ) as response:
                assert response.status == 200
                reply = await response.text()
            assert "answerCallbackQuery" in reply
            assert "press-1" in reply
            assert telegram.calls_of("answerCallbackQuery") == []
            assert "Вопрос 1 из 12" in telegram.bot_messages(CUSTOMER_ID)[-1]["text"]

            # An update still being handled when SIGTERM arrives is finished, not dropped.
            second = start_update(telegram, survey.token, 2)
            async with http.post(
                f"{base}/tg/hook", json=second, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            ) as response:
                assert response.status == 200
        finally:
            output = await finish(process)
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert len(telegram.bot_messages(CUSTOMER_ID)) == 2


async def test_webhook_health_reports_a_database_that_is_away(app: App, tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer
    from pydantic import SecretStr

    from bot.webhook import create_app
    from storage.database import create_engine

    settings = app.settings.model_copy(
        update={
            "webhook_url": "https://bot.example.test/hook",
            "webhook_secret": SecretStr(SECRET),
        }
    )
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite")
    client = TestClient(TestServer(create_app(settings, app.bot, app.dispatcher, engine)))
    await client.start_server()
    try:
        response = await client.get("/healthz")
        assert response.status == 503
        assert await response.json() == {"status": "unhealthy", "database": "unreachable"}
    finally:
        await client.close()
        await engine.dispose()


async def test_a_press_slower_than_the_reply_window_is_answered_by_a_request(
    app: App, telegram: FaultyTelegram
) -> None:
    """In webhook mode the answer to a pressed button rides in the HTTP reply; when the
    press takes longer than WEBHOOK_REPLY_WITHIN, Telegram gets an empty reply at once and
    the answer follows as a request of its own when the press is done."""
    from aiohttp.test_utils import TestClient, TestServer
    from pydantic import SecretStr

    from bot.webhook import create_app

    settings = app.settings.model_copy(
        update={
            "webhook_url": "https://bot.example.test/hook",
            "webhook_secret": SecretStr(SECRET),
            "webhook_reply_within": 0.2,
        }
    )
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    invitation = customer.last
    engine = app.sessions.kw["bind"]
    client = TestClient(TestServer(create_app(settings, app.bot, app.dispatcher, engine)))
    await client.start_server()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    def press(update_id: int, query_id: str, message: dict[str, Any], label: str) -> Any:
        [data] = [
            button["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]
            for button in row
            if label in button["text"]
        ]
        body = {
            "update_id": update_id,
            "callback_query": {
                "id": query_id,
                "from": USER,
                "chat_instance": str(CUSTOMER_ID),
                "message": message,
                "data": data,
            },
        }
        return client.post("/hook", json=body, headers=headers)

    try:
        async with press(9001, "fast-1", invitation, "Начать опрос") as response:
            assert response.status == 200
            assert "answerCallbackQuery" in await response.text()
        assert telegram.calls_of("answerCallbackQuery") == []
        question = customer.last
        assert "Вопрос 1 из 12" in question["text"]

        # Telegram is slow to take the edit: the reply goes back empty after 0.2 s, and
        # the answer comes as a request once the edit went through (a retry).
        telegram.hold("editMessageText", after=0)
        async with press(9002, "slow-1", question, "Ответили быстро") as response:
            assert response.status == 200
            assert await response.json() == {}
        telegram.release()

        async def answered() -> bool:
            return bool(telegram.calls_of("answerCallbackQuery"))

        await wait_until(answered)
        [answer] = telegram.calls_of("answerCallbackQuery")
        assert answer.params["callback_query_id"] == "slow-1"
        assert "Вопрос 2 из 12" in customer.last["text"]
    finally:
        await client.close()
