"""Several processes on one SQLite file: a second `run` says one is running and stops; a
command-line broadcast beside the running bot waits its turn to write."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from storage.uow import UnitOfWork
from storage.workflows.imports import add_visits
from survey.visit_import import VisitRecord
from tests.conftest import App
from tests.fakes import FaultyTelegram
from tests.processes import bot_env, eventually, finish, spawn


async def test_a_second_run_on_the_same_sqlite_file_stops_with_one_line(
    telegram: FaultyTelegram, tmp_path: Path
) -> None:
    # Always an SQLite file (also in the PostgreSQL run): the rule is about such a file.
    env = bot_env(telegram, f"sqlite+aiosqlite:///{tmp_path / 'followup.db'}")
    first = await spawn("run", env=env, cwd=tmp_path)
    try:
        await eventually(lambda: bool(telegram.calls_of("getUpdates")), what="the first bot")
        for args in (("run",), ("run", "--jobs-only")):
            second = await spawn(*args, env=env, cwd=tmp_path)
            output = await finish(second, None)
            assert second.returncode == 2, output
            last = output.strip().splitlines()[-1]
            assert last.startswith(f"followup-bot: another followup-bot run (pid {first.pid})")
            assert "Traceback" not in output
        assert first.returncode is None, "the first bot keeps running"
    finally:
        output = await finish(first)
    assert first.returncode == 0, output


async def test_a_broadcast_from_the_command_line_beside_the_running_bot(
    app: App, telegram: FaultyTelegram, tmp_path: Path
) -> None:
    today = date.today()
    records = [
        VisitRecord(n + 2, f"S-{n:03d}", today, f"К{n}", f"+7955{n:07d}", "Kia", "А", 80_000 + n)
        for n in range(60)
    ]
    async with app.sessions() as session:
        await add_visits(UnitOfWork(session), records, app.clock())
    env = bot_env(telegram, app.settings.database_url, SEND_RATE="30")
    bot = await spawn("run", env=env, cwd=tmp_path)
    try:
        await eventually(lambda: bool(telegram.calls_of("getUpdates")), what="the bot")
        cli = await spawn(
            "broadcast", "--period", f"{today}..{today}", "--yes", env=env, cwd=tmp_path
        )
        output = await finish(cli, None)
        assert cli.returncode == 0, output
        assert "Traceback" not in output
        assert "осталось 0" in output
    finally:
        bot_output = await finish(bot)
    assert bot.returncode == 0, bot_output
    assert "Traceback" not in bot_output
    assert all(len(telegram.bot_messages(80_000 + n)) == 1 for n in range(60))
