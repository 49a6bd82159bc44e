"""`followup-bot run` meeting a wrong token, no network, or a Bot API server without the
cosmetic calls: one line and exit 2 before anything is written, or a warning and on."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.conftest import CUSTOMER_ID, App
from tests.fakes import Failure, FaultyTelegram
from tests.processes import bot_env, eventually, finish, spawn

USER = {"id": CUSTOMER_ID, "is_bot": False, "first_name": "Иван", "language_code": "ru"}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_token_telegram_refuses_is_one_line_before_anything_is_written(
    telegram: FaultyTelegram, tmp_path: Path
) -> None:
    database = tmp_path / "new.db"
    for status, description in ((401, "Unauthorized"), (404, "Not Found")):
        telegram.fail(Failure("getMe", status, description))
        env = bot_env(telegram, f"sqlite+aiosqlite:///{database}")
        process = await spawn("run", env=env, cwd=tmp_path)
        output = await finish(process, None)
        assert process.returncode == 2, output
        assert output == (
            "followup-bot: Telegram does not accept this BOT_TOKEN (it was revoked, or belongs "
            "to another Bot API server); get the current one from @BotFather\n"
        )
        assert not database.exists(), "the database was created before the token was checked"


async def test_no_network_is_one_line_naming_the_url(
    telegram: FaultyTelegram, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    database = tmp_path / "new.db"
    env = bot_env(telegram, f"sqlite+aiosqlite:///{database}")
    env.update(TELEGRAM_API_URL=url, TELEGRAM_STARTUP_WAIT="3s")
    process = await spawn("run", env=env, cwd=tmp_path)
    output = await finish(process, None)
    assert process.returncode == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith(f"followup-bot: cannot reach the Bot API at TELEGRAM_API_URL={url} ")
    assert "Traceback" not in output
    assert not database.exists()


async def test_a_bot_api_without_set_my_commands_is_a_warning(
    app: App, telegram: FaultyTelegram, tmp_path: Path
) -> None:
    survey = await app.add_visit()
    telegram.fail(Failure("setMyCommands", 404, "Not Found: method not found", times=99))
    process = await spawn("run", env=bot_env(telegram, app.settings.database_url), cwd=tmp_path)
    try:
        start = telegram.user_message(CUSTOMER_ID, USER, f"/start {survey.token}")
        start["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
        telegram.queue_update({"message": start})
        await eventually(lambda: bool(telegram.bot_messages(CUSTOMER_ID)), what="the intro")
    finally:
        output = await finish(process)
    assert process.returncode == 0, output
    assert "the command menu for customers was not set" in output
    assert "Traceback" not in output
