"""`followup-bot run` as a real process, long-polling the fake Bot API."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from bot.playground import FakeTelegram
from handlers.outbound.menus import CUSTOMER
from tests.conftest import CUSTOMER_ID, App
from tests.processes import eventually, finish, spawn

USER = {"id": CUSTOMER_ID, "is_bot": False, "first_name": "Иван", "language_code": "ru"}


async def test_run_polls_applies_migrations_and_answers(
    app: App, telegram: FakeTelegram, tmp_path: Path
) -> None:
    survey = await app.add_visit()
    env = {
        **os.environ,
        "BOT_TOKEN": "4242:TEST-token",
        "TELEGRAM_API_URL": telegram.base_url,
        "DATABASE_URL": app.settings.database_url,
    }
    process = await spawn("run", env=env, cwd=tmp_path)
    try:
        start = telegram.user_message(CUSTOMER_ID, USER, f"/start {survey.token}")
        start["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
        telegram.queue_update({"message": start})
        await eventually(lambda: bool(telegram.bot_messages(CUSTOMER_ID)))
        intro = telegram.bot_messages(CUSTOMER_ID)[-1]
        assert "Здравствуйте, Иван Петров!" in intro["text"]

        button = intro["reply_markup"]["inline_keyboard"][0][0]
        telegram.queue_update(
            {
                "callback_query": {
                    "id": "1",
                    "from": USER,
                    "chat_instance": "1",
                    "message": intro,
                    "data": button["callback_data"],
                }
            }
        )
        await eventually(
            lambda: "Вопрос 1 из 12" in telegram.bot_messages(CUSTOMER_ID)[-1]["text"]
        )
        # The customers' menu in every private chat, in both languages.
        assert telegram.menu_for(CUSTOMER_ID, "ru") == list(CUSTOMER)
        assert telegram.menu_for(CUSTOMER_ID, "en") == list(CUSTOMER)
    finally:
        output = await finish(process, signal.SIGINT)
    assert process.returncode == 0, output
    assert "Traceback" not in output, output[-5000:]
    assert (await app.survey()).status == "in_progress"
