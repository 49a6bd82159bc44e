"""The command line as an admin uses it: one clear line on errors, never a traceback."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from storage.database import create_engine, create_session_factory
from storage.models import Customer, Survey, Visit

HEADER = "order_no,visit_date,customer_name,phone,car,advisor,telegram_user_id\n"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the working directory and a clean environment, like a new admin's."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name in {"BOT_TOKEN", "BOT_USERNAME", "DATABASE_URL", "TELEGRAM_API_URL", "TIMEZONE"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


def count(database: Path, model: type) -> int:
    async def query() -> int:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        async with create_session_factory(engine)() as session:
            result = await session.scalar(select(func.count()).select_from(model))
        await engine.dispose()
        return int(result or 0)

    return asyncio.run(query())


def test_run_without_a_token_says_how_to_get_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "BOT_TOKEN is not set" in err
    assert "@BotFather" in err
    assert "Traceback" not in err


def test_bad_configuration_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("followup-bot: bad configuration: TIMEZONE")
    assert err.count("\n") == 1


def test_unusable_database_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{workdir}/missing/dir/x.db")
    assert main(["migrate"]) == 2
    assert "cannot open the database" in capsys.readouterr().err
    monkeypatch.setenv("DATABASE_URL", "not a url")
    assert main(["migrate"]) == 2
    assert "DATABASE_URL is not usable" in capsys.readouterr().err


def test_import_then_reimport_updates_instead_of_duplicating(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    visits = workdir / "visits.csv"
    visits.write_text(
        HEADER
        + "ZN-1,2026-10-01,Иван Петров,+79123456789,Kia Rio,Смирнов,1001\n"
        + "ZN-2,2026-10-02,Анна Иванова,89031112233,Skoda,Кузнецов,\n",
        encoding="utf-8",
    )
    assert main(["import-visits", str(visits)]) == 0
    assert "Новых: 2 · обновлено: 0 · отклонено строк: 0" in capsys.readouterr().out

    visits.write_text(
        HEADER
        + "ZN-1;2026-10-01;Иван Петрович Петров;8 912 345 67 89;Kia Rio X;Смирнов;1001\n".replace(
            ";", ","
        ),
        encoding="utf-8",
    )
    assert main(["import-visits", str(visits)]) == 0
    assert "Новых: 0 · обновлено: 1" in capsys.readouterr().out
    database = workdir / "cli.db"
    assert count(database, Visit) == 2
    assert count(database, Customer) == 2
    assert count(database, Survey) == 2


def test_bad_rows_reported_by_line_and_strict_imports_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    visits = workdir / "visits.csv"
    visits.write_text(
        HEADER
        + "ZN-1,2026-10-01,Иван,+79123456789,Kia,Смирнов,\n"
        + "ZN-2,someday,Анна,89031112233,Skoda,Кузнецов,\n"
        + "ZN-3,2026-10-01,Олег,555,Lada,Кузнецов,\n",
        encoding="utf-8",
    )
    assert main(["import-visits", "--strict", str(visits)]) == 1
    out = capsys.readouterr().out
    assert "строка 3: дата визита (visit_date): «someday» — не дата" in out
    assert "строка 4: телефон (phone): «555» — не номер телефона" in out
    assert "--strict: ничего не импортировано" in out
    assert not (workdir / "cli.db").exists()  # refused before the database was even opened

    assert main(["import-visits", str(visits)]) == 1
    assert "Новых: 1 · обновлено: 0 · отклонено строк: 2" in capsys.readouterr().out
    assert count(workdir / "cli.db", Visit) == 1


def test_import_of_a_missing_or_wrong_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-visits", str(workdir / "nope.csv")]) == 2
    assert "не удаётся прочитать" in capsys.readouterr().err
    wrong = workdir / "visits.csv"
    wrong.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    assert main(["import-visits", str(wrong)]) == 2
    assert "в заголовке нет столбцов order_no" in capsys.readouterr().err


def test_invite_links(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    visits = workdir / "visits.csv"
    visits.write_text(
        HEADER
        + "ZN-1,2026-10-01,Иван,+79123456789,Kia,Смирнов,\n"
        + "ZN-2,2026-10-02,Анна,89031112233,Skoda,Кузнецов,\n",
        encoding="utf-8",
    )
    main(["import-visits", str(visits)])
    capsys.readouterr()
    assert main(["invite-links"]) == 2
    assert "set BOT_USERNAME" in capsys.readouterr().err

    monkeypatch.setenv("BOT_USERNAME", "followup_demo_bot")
    assert main(["invite-links"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    tokens = [
        re.fullmatch(r"ZN-\d\t\S+\thttps://t\.me/followup_demo_bot\?start=(.+)", line)
        for line in lines
    ]
    assert all(t and re.fullmatch(r"[A-Za-z0-9_-]{20,64}", t.group(1)) for t in tokens)
    assert len({t.group(1) for t in tokens if t}) == 2

    out = workdir / "links.csv"
    assert main(["invite-links", "--out", str(out)]) == 0
    with out.open(encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    assert [row["order_no"] for row in rows] == ["ZN-1", "ZN-2"]
    assert rows[0]["link"].startswith("https://t.me/followup_demo_bot?start=")

    def invited() -> int:
        with sqlite3.connect(workdir / "cli.db") as db:
            return int(
                db.execute("SELECT count(*) FROM surveys WHERE invited_at IS NOT NULL").fetchone()[
                    0
                ]
            )

    # Listing links changes nothing: the visits still get their Telegram invitation.
    assert invited() == 0
    assert main(["invite-links", "--mark-invited"]) == 0
    assert invited() == 2
