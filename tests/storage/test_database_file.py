"""The SQLite file going away under a running bot: customers are told the service is
briefly unavailable, nothing is written to a stray new file, and the bot reconnects by
itself when the file returns (pooled connections to the old file are not reused)."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.settings import Settings
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Answer
from tests.conftest import App, Clock
from tests.fakes import FaultyTelegram

UNAVAILABLE = "Сервис временно недоступен"


@pytest.fixture
async def on_file(
    tmp_path: Path, telegram: FaultyTelegram, clock: Clock, settings: Settings
) -> AsyncIterator[tuple[App, Path]]:
    """The bot as `followup-bot run` builds it on an SQLite file (whatever TEST_DATABASE_URL)."""
    database = tmp_path / "followup.db"
    url = f"sqlite+aiosqlite:///{database}"
    migrating = create_engine(url)
    await upgrade(migrating)
    await migrating.dispose()
    engine = create_engine(url, create_missing=False)
    local = settings.model_copy(update={"database_url": url, "redis_url": None})
    app = App.build(local, create_session_factory(engine), telegram, clock)
    yield app, database
    await app.bot.session.close()
    await engine.dispose()


async def answers(app: App) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Answer)) or 0)


async def test_a_database_file_moved_away_and_back(on_file: tuple[App, Path]) -> None:
    app, database = on_file
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click(customer.buttons()[0])
    assert await answers(app) == 1

    away = database.with_name("moved-away.db")
    database.rename(away)
    refused = 0
    for _ in range(3):
        await customer.click(customer.buttons()[0])
        alerts = [c for c in app.telegram.calls_of("answerCallbackQuery") if c.params.get("text")]
        refused += UNAVAILABLE in alerts[-1].params["text"]
    assert refused == 3
    assert not database.exists(), "a new, empty database file was created"
    away.rename(database)

    await customer.click(customer.buttons()[0])
    assert "Вопрос 3 из 12" in customer.last["text"]
    assert await answers(app) == 2
    print(f"refused while the file was away: {refused} of 3")


async def test_a_database_file_made_unreadable_and_readable_again(
    on_file: tuple[App, Path],
) -> None:
    app, database = on_file
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    mode = database.stat().st_mode
    database.chmod(0)
    try:
        await customer.click(customer.buttons()[0])
        alerts = [c for c in app.telegram.calls_of("answerCallbackQuery") if c.params.get("text")]
        refused = bool(alerts) and UNAVAILABLE in alerts[-1].params["text"]
        # root reads any file; anyone else is told to wait.
        assert refused is (os.geteuid() != 0)
    finally:
        database.chmod(stat.S_IMODE(mode))
    await customer.click(customer.buttons()[0])
    assert await answers(app) == (1 if refused else 2)
    assert sorted(p.name for p in database.parent.iterdir() if p.suffix == ".db") == [
        "followup.db"
    ]
