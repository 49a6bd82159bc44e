from __future__ import annotations

import contextlib
import os
import shutil
import signal
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiogram.client.session.aiohttp
import certifi
import pytest
from aiogram import Bot, Dispatcher
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dispatcher import create_bot, create_dispatcher
from bot.playground import ChatClient
from bot.services import Services
from bot.settings import Settings
from handlers.outbound.outbox import Outbox
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Survey
from storage.visits import VisitRepository
from survey.visit_import import VisitRecord
from tests import processes
from tests.fakes import FaultyTelegram

CUSTOMER_ID = 1001


class Clock:
    """The time the bot believes it is; tests move it instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# Set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) to run the whole suite
# against PostgreSQL: each test then gets its own database made from a migrated template.
PG_URL = os.environ.get("TEST_DATABASE_URL")
# One template per run of the suite: two runs at once (CI beside a developer's run) each
# drop and rebuild their own, never the other's.
PG_TEMPLATE = f"followup_test_template_{uuid.uuid4().hex[:12]}"
# Set (e.g. redis://127.0.0.1:6379/15) to keep the dialogue state in Redis, as several
# bot processes do; the database is flushed before each test.
REDIS_URL = os.environ.get("TEST_REDIS_URL")


async def _pg_admin(*statements: str) -> None:
    assert PG_URL is not None
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _pg_url(database: str) -> str:
    assert PG_URL is not None
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrating once and copying the result keeps each test's fresh database cheap."""
    import asyncio

    if PG_URL is not None:
        url = _pg_url(PG_TEMPLATE)
        asyncio.run(_pg_admin(f'CREATE DATABASE "{PG_TEMPLATE}"'))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('template') / 'template.db'}"

    async def build() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    try:
        asyncio.run(build())
        yield url
    finally:
        if PG_URL is not None:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)'))


@pytest.fixture
async def database_url(tmp_path: Path, migrated_template: str) -> AsyncIterator[str]:
    if PG_URL is None:
        target = tmp_path / "followup.db"
        shutil.copy(migrated_template.removeprefix("sqlite+aiosqlite:///"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    name = f"followup_test_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{PG_TEMPLATE}"')
    yield _pg_url(name)
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture(autouse=True)
async def clean_redis() -> AsyncIterator[None]:
    if REDIS_URL is None:
        yield
        return
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def telegram() -> AsyncIterator[FaultyTelegram]:
    fake = FaultyTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 10, 20, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(telegram: FaultyTelegram, database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token="4242:TEST-token",
        database_url=database_url,
        telegram_api_url=telegram.base_url,
        admin_ids=[1],
        manager_ids=[2],
        dealership_name="Фаворит Моторс",
        redis_url=REDIS_URL,
    )


@dataclass
class App:
    bot: Bot
    dispatcher: Dispatcher
    services: Services
    telegram: FaultyTelegram
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    clock: Clock

    @classmethod
    def build(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        telegram: FaultyTelegram,
        clock: Clock,
    ) -> App:
        """A Bot and Dispatcher with their services, as a process builds them at start."""
        services = Services.build(settings, sessions, clock=clock)
        return cls(
            bot=create_bot(settings, "4242:TEST-token"),
            dispatcher=create_dispatcher(services),
            services=services,
            telegram=telegram,
            sessions=sessions,
            settings=settings,
            clock=clock,
        )

    def customer(self, user_id: int = CUSTOMER_ID, language_code: str | None = "ru") -> ChatClient:
        return ChatClient(
            self.dispatcher, self.bot, self.telegram, user_id=user_id, language_code=language_code
        )

    def member(self, user_id: int, name: str, chat_id: int | None = None) -> ChatClient:
        """A staff member (or anyone) writing in a group, or privately when chat_id is None."""
        return ChatClient(
            self.dispatcher,
            self.bot,
            self.telegram,
            user_id=user_id,
            first_name=name,
            chat_id=chat_id,
        )

    @property
    def outbox(self) -> Outbox:
        return self.services.outbox

    def restarted(self, **changes: object) -> App:
        """A new Bot and Dispatcher on the same database, as after a process restart."""
        settings = changed(self.settings, **changes) if changes else self.settings
        return App.build(settings, self.sessions, self.telegram, self.clock)

    async def add_visit(
        self,
        order_no: str = "ZN-0001",
        *,
        telegram_user_id: int | None = CUSTOMER_ID,
        phone: str = "+79123456789",
        name: str = "Иван Петров",
    ) -> Survey:
        record = VisitRecord(
            line=2,
            order_no=order_no,
            visit_date=date(2026, 10, 18),
            customer_name=name,
            phone=phone,
            car="Kia Rio, А123ВС77",
            advisor="Сергей Смирнов",
            telegram_user_id=telegram_user_id,
        )
        async with self.sessions() as session:
            await VisitRepository(session).import_records([record], self.clock())
            await session.commit()
        return await self.survey(order_no)

    async def on_question_2(self) -> tuple[Survey, ChatClient]:
        """A customer who has started the survey and answered question 1."""
        survey = await self.add_visit()
        customer = self.customer()
        await customer.send(f"/start {survey.token}")
        await customer.click("Начать опрос")
        await customer.click("Ответили быстро")
        return survey, customer

    async def survey(self, order_no: str = "ZN-0001") -> Survey:
        from sqlalchemy import select

        from storage.models import Visit

        async with self.sessions() as session:
            survey = await session.scalar(
                select(Survey).join(Survey.visit).where(Visit.order_no == order_no)
            )
            assert survey is not None
            return survey


@pytest.fixture
async def app(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    telegram: FaultyTelegram,
    clock: Clock,
) -> AsyncIterator[App]:
    application = App.build(settings, sessions, telegram, clock)
    opened = [application]
    yield application
    for each in opened:
        await each.bot.session.close()


def changed(settings: Settings, **changes: object) -> Settings:
    """Settings with some values changed, validated again: what they derive (working and
    quiet hours in the time zone, escalation rules) follows the change, which
    `model_copy(update=...)` would leave as it was."""
    return Settings.model_validate({**settings.model_dump(), **changes})


@pytest.fixture(scope="session", autouse=True)
def one_tls_context() -> Iterator[None]:
    """aiogram's session builds a TLS context of its own for every bot, reading certifi's
    certificates (about 25 ms, a tenth of the quick tests' time): the suite builds one or
    more bots a test, all talking plain HTTP to the fake Bot API. Here they share one
    (aiogram's module only; the context is the one it would build)."""
    context = ssl.create_default_context(cafile=certifi.where())

    class SharedContext:
        @staticmethod
        def create_default_context(**_options: object) -> ssl.SSLContext:
            return context

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aiogram.client.session.aiohttp, "ssl", SharedContext)
        yield


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/process and tests/browser starts programs of its own (the
    bot, chromium): those tests are `slow`."""
    own = (Path(__file__).parent / "process", Path(__file__).parent / "browser")
    for item in items:
        if any(folder in Path(item.path).parents for folder in own):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
async def reap_processes() -> AsyncIterator[None]:
    """Every process a test started (tests/processes.spawn) is ended with its process
    group after the test, also when the test failed."""
    yield
    await processes.reap()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run of the suite leaves no process of ours behind."""
    left = [p.pid for p in processes.SPAWNED if p.returncode is None]
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    if left:
        print(f"\nprocesses left running by the tests (killed now): {left}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
