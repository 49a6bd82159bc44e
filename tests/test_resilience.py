"""Faults: updates delivered twice, Telegram errors, the database going away."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from fakegram.server import Failure
from storage.models import Answer, ProcessedUpdate
from tests.conftest import App


async def answers(app: App) -> dict[int, str]:
    async with app.sessions() as session:
        return {a.question: a.value for a in (await session.scalars(select(Answer))).all()}


async def test_an_update_delivered_twice_is_applied_once(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.send("ответили быстро")  # a typed answer: the one that could double-apply
    replies = len(customer.messages())
    await customer.redeliver()
    assert len(customer.messages()) == replies  # no second reply
    assert await answers(app) == {1: "no"}
    assert "Вопрос 2 из 12" in customer.last["text"]

    await customer.send("да")
    await customer.redeliver()
    assert await answers(app) == {1: "no", 2: "yes"}
    assert "Вопрос 3 из 12" in customer.last["text"]
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 4


async def test_telegram_5xx_and_timeouts_are_retried(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    app.telegram.fail(Failure("sendMessage", 502, "Bad Gateway", chat_id=1001, times=2))
    await customer.send(f"/start {survey.token}")
    assert "Здравствуйте" in customer.last["text"]
    assert len(app.telegram.calls_of("sendMessage")) == 3


async def test_database_away_then_back(app: App, database_url: str) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click("Ответили быстро")
    await customer.click("Да, предложили")

    # The database goes away: close every connection and move the file aside.
    path = Path(database_url.removeprefix("sqlite+aiosqlite:///"))
    engine = app.sessions.kw["bind"]
    await engine.dispose()
    os.rename(path, path.with_suffix(".away"))
    try:
        await customer.click("Да, у автомобиля")
        notice = app.telegram.calls_of("answerCallbackQuery")[-1].params["text"]
        assert notice.startswith("Сервис временно недоступен. Ваши ответы сохранены")
        await customer.send("да")
        assert customer.last["text"].startswith("Сервис временно недоступен")
    finally:
        await engine.dispose()
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        os.rename(path.with_suffix(".away"), path)

    # Back: nothing given before is lost, and the bot goes on by itself.
    assert await answers(app) == {1: "no", 2: "yes"}
    await customer.click("Да, у автомобиля")
    assert await answers(app) == {1: "no", 2: "yes", 3: "yes"}
    [question] = customer.live_keyboards()
    assert "Вопрос 4 из 12" in question["text"]
