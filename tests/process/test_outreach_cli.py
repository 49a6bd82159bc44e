"""`followup-bot broadcast` and `followup-bot call-list` as an admin runs them."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.playground import FakeTelegram
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWork
from survey.visit_import import VisitRecord
from tests.conftest import App
from tests.processes import finish, midday_zone, spawn


def record(n: int, telegram: int | None) -> VisitRecord:
    return VisitRecord(
        n + 1, f"ZN-{n}", date.today(), f"Клиент {n}", f"+7922{n:07d}", "Kia", "Смирнов", telegram
    )


async def test_broadcast_from_the_command_line(
    app: App, telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with app.sessions() as session:
        await UnitOfWork(session).visits.import_records(
            [record(1, 31_001), record(2, 31_002), record(3, None)], app.clock()
        )
        await session.commit()
    env = {
        **os.environ,
        "BOT_TOKEN": "4242:TEST-token",
        "TELEGRAM_API_URL": telegram.base_url,
        "DATABASE_URL": app.settings.database_url,
        "TIMEZONE": midday_zone(),
    }
    today = date.today().isoformat()

    async def cli(*args: str, stdin: bytes = b"") -> tuple[int, str]:
        process = await spawn("broadcast", *args, env=env, cwd=tmp_path, stdin=True)
        out = await finish(process, None, stdin=stdin)
        assert process.returncode is not None
        return process.returncode, out

    code, out = await cli("--period", f"{today}..{today}", stdin=b"n\n")
    assert code == 1
    assert "Получат сообщение: 2." in out
    assert "Без Telegram (уйдут в список обзвона): 1" in out
    assert "Не запущено." in out
    assert telegram.calls_of("sendMessage") == []

    code, out = await cli("--period", f"{today}..{today}", "--yes")
    assert code == 0, out
    assert "отправлено 2, ошибок 0, заблокировали 0, пропущено 1, осталось 0" in out
    assert len(telegram.bot_messages(31_001)) == 1
    assert len(telegram.bot_messages(31_002)) == 1

    code, out = await cli("--period", f"{today}..{today}", "--yes")
    assert "По этому выбору писать некому." in out  # everyone has had the invitation
    code, out = await cli("--period", "someday")
    assert code == 2
    assert "--period" in out


def test_call_list_to_csv_and_xlsx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    monkeypatch.setenv("DATABASE_URL", url)

    async def prepare() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        async with create_session_factory(engine)() as session:
            db = UnitOfWork(session)
            await db.visits.import_records([record(1, None)], datetime.now(UTC))
            survey = await db.outreach.by_order("ZN-1")
            assert survey is not None
            send, _ = await db.outreach.schedule(
                survey, "invitation", datetime.now(UTC), datetime.now(UTC)
            )
            send.status, send.error = "skipped", "no_telegram"
            await session.commit()
        await engine.dispose()

    asyncio.run(prepare())
    assert main(["call-list"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out), delimiter=";"))
    assert rows[0] == [
        "Клиент",
        "Телефон",
        "Автомобиль",
        "Заказ-наряд",
        "Дата визита",
        "Почему звоним",
    ]
    # A phone starts with "+", which a spreadsheet reads as a formula: written as text.
    assert rows[1][:4] == ["Клиент 1", "'+79220000001", "Kia", "ZN-1"]
    assert rows[1][5] == "нет Telegram"

    assert main(["call-list", "--out", str(tmp_path / "calls.xlsx")]) == 0
    sheet = load_workbook(tmp_path / "calls.xlsx").active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True))[1][3] == "ZN-1"
    assert main(["call-list", "--out", str(tmp_path / "calls.txt")]) == 2
