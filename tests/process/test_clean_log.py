"""A whole run of the bot, as an operator reads its log: forged presses, a press that
changes nothing and a normal shutdown leave no traceback and no ERROR line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import CUSTOMER_ID, App
from tests.fakes import FaultyTelegram
from tests.processes import bot_env, eventually, finish, spawn

USER = {"id": CUSTOMER_ID, "is_bot": False, "first_name": "Иван", "language_code": "ru"}


def press(telegram: FaultyTelegram, message: dict[str, Any], data: str) -> None:
    query = {"id": str(len(telegram.calls)), "from": USER, "chat_instance": "1"}
    telegram.queue_update({"callback_query": {**query, "message": message, "data": data}})


async def test_a_run_with_forged_and_repeated_presses_logs_no_traceback(
    app: App, telegram: FaultyTelegram, tmp_path: Path
) -> None:
    survey = await app.add_visit()
    process = await spawn("run", env=bot_env(telegram, app.settings.database_url), cwd=tmp_path)
    try:
        start = telegram.user_message(CUSTOMER_ID, USER, f"/start {survey.token}")
        start["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
        telegram.queue_update({"message": start})
        await eventually(lambda: bool(telegram.bot_messages(CUSTOMER_ID)), what="the intro")
        intro = telegram.bot_messages(CUSTOMER_ID)[-1]
        begin = intro["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

        def answered() -> int:
            return len(telegram.calls_of("answerCallbackQuery"))

        # The same button twice: the second press would redraw the same screen.
        for _ in range(2):
            before = answered()
            press(telegram, intro, begin)
            await eventually(lambda n=before: answered() > n, what="the press answered")
        # Forged presses: "is it fixed?" on a plain message, and data no button has.
        plain = telegram.user_message(CUSTOMER_ID, USER, "просто текст")
        for data in ("fixed:999:1", "fixed:abc", "case:1:take", "\x00garbage"):
            before = answered()
            press(telegram, plain, data)
            await eventually(lambda n=before: answered() > n, what=f"the forged press {data!r}")
        assert answered() == 6, "each press answered exactly once"
    finally:
        log = await finish(process)
    assert process.returncode == 0, log[-3000:]
    assert "Traceback" not in log, log[-5000:]
    assert " ERROR " not in log, log[-5000:]
    # One INFO line for the start; the periodic jobs and the libraries say nothing routine.
    info = [line for line in log.splitlines() if " INFO " in line]
    assert len(info) == 1, info
    assert "Follow-up started: polling as @followup_test_bot" in info[0]
    for chatty in ("apscheduler", "alembic", "matplotlib"):
        assert chatty not in log, log[-5000:]
