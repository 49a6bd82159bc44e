"""Faults: updates delivered twice, Telegram errors, the database going away."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.playground.web_app import init_data
from bot.webhook import create_web_app
from storage.database import create_engine, create_session_factory
from storage.models import Answer, ProcessedUpdate
from tests.conftest import App
from tests.fakes import Failure
from tests.tcp_proxy import TcpProxy


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


async def test_a_429_on_a_reply_to_a_staff_command_is_waited_out(app: App) -> None:
    admin = app.member(1, "Руководитель")
    app.telegram.fail(
        Failure("sendMessage", 429, "Too Many Requests: retry after 1", chat_id=1, retry_after=1)
    )
    await admin.send("/broadcast")
    assert admin.last["text"] == "Кому пишем?"
    assert len(app.telegram.calls_of("sendMessage")) == 2


class DatabaseOutage:
    """Takes the database away and brings it back: SQLite's file is moved aside; for
    PostgreSQL the bot reaches the server through a relay that is cut."""

    def __init__(self, app: App, database_url: str) -> None:
        self.app = app
        self.url = make_url(database_url)
        self.proxy: TcpProxy | None = None

    async def connect(self) -> App:
        if self.url.get_backend_name() == "sqlite":
            return self.app
        self.proxy = TcpProxy(self.url.host or "127.0.0.1", self.url.port or 5432)
        port = await self.proxy.start()
        proxied = self.url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        engine = create_engine(proxied, pool_pre_ping=True)
        sessions = create_session_factory(engine)
        settings = self.app.settings.model_copy(update={"database_url": proxied})
        return App.build(settings, sessions, self.app.telegram, self.app.clock)

    @property
    def _file(self) -> Path:
        return Path(str(self.url.database))

    async def go_away(self, app: App) -> None:
        if self.proxy is not None:
            self.proxy.sever()
            return
        await app.sessions.kw["bind"].dispose()
        os.rename(self._file, self._file.with_suffix(".away"))

    async def come_back(self, app: App) -> None:
        if self.proxy is not None:
            self.proxy.restore()
            return
        await app.sessions.kw["bind"].dispose()
        for leftover in self._file.parent.glob(self._file.name + "*"):
            leftover.unlink()  # the empty file SQLite made meanwhile
        os.rename(self._file.with_suffix(".away"), self._file)

    async def close(self, app: App) -> None:
        if self.proxy is not None:
            await app.bot.session.close()
            await app.sessions.kw["bind"].dispose()
            await self.proxy.stop()


async def test_database_away_then_back(
    app: App, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    outage = DatabaseOutage(app, database_url)
    bot = await outage.connect()
    try:
        survey = await bot.add_visit()
        customer = bot.customer()
        await customer.send(f"/start {survey.token}")
        await customer.click("Начать опрос")
        await customer.click("Ответили быстро")
        await customer.click("Да, предложили")

        await outage.go_away(bot)
        try:
            await customer.click("Да, у автомобиля")
            notice = bot.telegram.calls_of("answerCallbackQuery")[-1].params["text"]
            assert notice.startswith("Сервис временно недоступен. Ваши ответы сохранены")
            await customer.send("да")
            assert customer.last["text"].startswith("Сервис временно недоступен")
            # The case board says so too: a 503 and one line in the log, no traceback.
            board = TestClient(TestServer(create_web_app(bot.services, bot.bot)))
            await board.start_server()
            try:
                signed = init_data("4242:TEST-token", 2, "Анна", bot.clock())
                reply = await board.get(
                    "/app/api/cases", headers={"Authorization": "tma " + signed}
                )
                assert reply.status == 503
                assert "temporarily unavailable" in (await reply.json())["error"]
            finally:
                await board.close()
            assert "Traceback" not in caplog.text
            assert "the board could not reach the database" in caplog.text
        finally:
            await outage.come_back(bot)

        # Back: nothing given before is lost, and the bot goes on by itself.
        assert await answers(app) == {1: "no", 2: "yes"}
        await customer.click("Да, у автомобиля")
        assert await answers(app) == {1: "no", 2: "yes", 3: "yes"}
        [question] = customer.live_keyboards()
        assert "Вопрос 4 из 12" in question["text"]
    finally:
        await outage.close(bot)


async def test_old_update_ids_are_pruned(app: App) -> None:
    from bot.scheduler import prune_job

    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.send("/help")
    assert await prune_job(app.services, app.bot) == 0  # fresh ids stay: re-deliveries too
    app.clock.advance(days=1, seconds=1)
    assert await prune_job(app.services, app.bot) == 2
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_update_ids_that_started_again_are_handled_as_new(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """The database was used with another Bot API server (or Telegram restarted its ids):
    ids already in the log, far below the newest, are new updates, not re-deliveries."""
    customer = app.customer()
    await customer.send("/help")
    assert customer.last_update is not None
    first = customer.last_update.update_id
    async with app.sessions() as session:
        session.add_all(
            ProcessedUpdate(bot_id=app.bot.id, update_id=n, processed_at=app.clock())
            for n in range(first + 1, first + 2000)
        )
        await session.commit()
    replies = len(customer.messages())
    await customer.send("/help")  # its id was "handled" by the other server
    assert len(customer.messages()) == replies + 1
    assert caplog.text.count("update ids started again") == 1
    await customer.send("/help")
    assert len(customer.messages()) == replies + 2
    await customer.redeliver()  # a real re-delivery is still recognised
    assert len(customer.messages()) == replies + 2
    assert caplog.text.count("update ids started again") == 1
