"""Dialogue throughput and memory: simulated customers through the real Dispatcher,
handlers and database, against the fake Bot API on loopback, next to a bare echo bot.

    python -m bench.dialogue [--customers 1000] [--database sqlite|postgres] [--memory 10000]

Prints updates/s and p50/p99 handling latency for the survey and for an echo bot measured
in the same run, and the resident memory of this process idle and after --memory more
customers have answered; appends a line to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

from aiogram import Dispatcher
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import text

from bot.dispatcher import create_bot, create_dispatcher
from bot.playground import ChatClient, FakeTelegram
from bot.services import Services
from bot.settings import Settings
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWork
from survey.visit_import import VisitRecord

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ANSWERS = [
    "Ответили быстро",
    "Да, предложили",
    "Да, у автомобиля",
    "Да, объяснил подробно",
    "Да, согласовали",
    "Да, всё выполнено",
    "Нет, новое обращение",
    "Да, вовремя",
    "Да, всё объяснили",
    "Нет, не превысила",
    "5",
    "4",
]


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096 / 1e6


class Timed(Dispatcher):
    """Records how long each update takes to handle."""

    latencies: list[float]

    async def feed_update(self, bot, update, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return await super().feed_update(bot, update, **kwargs)
        finally:
            self.latencies.append(time.perf_counter() - started)


async def database(kind: str, folder: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'bench.db'}", None
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


async def drop(name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def customers(sessions, first: int, count: int) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    records = [
        VisitRecord(
            n, f"D{n:07d}", date.today(), f"К{n}", f"+7988{n:07d}", "Kia", "Смирнов", 2_000_000 + n
        )
        for n in range(first, first + count)
    ]
    async with sessions() as session:
        db = UnitOfWork(session)
        await db.visits.import_records(records, datetime.now(UTC))
        await session.commit()
        tokens = []
        for record in records:
            survey = await db.outreach.by_order(record.order_no)
            assert survey is not None
            tokens.append((2_000_000 + record.line, survey.token))
    return tokens


async def walk(client: ChatClient, token: str) -> None:
    await client.send(f"/start {token}")
    await client.click("Начать опрос")
    for label in ANSWERS:
        await client.click(label)
    await client.click("Без комментария")
    await client.click("Нет, спасибо")


class Run(NamedTuple):
    elapsed: float  # wall-clock seconds
    cpu: float  # CPU seconds of the event loop's thread (bot and fake Bot API alike)
    latencies: list[float]


async def survey_run(dispatcher, bot, telegram, tokens) -> Run:  # type: ignore[no-untyped-def]
    dispatcher.latencies = []
    started, cpu = time.perf_counter(), time.thread_time()
    await asyncio.gather(
        *(
            walk(ChatClient(dispatcher, bot, telegram, user_id=user), token)
            for user, token in tokens
        )
    )
    return Run(time.perf_counter() - started, time.thread_time() - cpu, list(dispatcher.latencies))


async def echo_run(telegram: FakeTelegram, settings: Settings, users: int, per_user: int) -> Run:
    dispatcher = Timed()
    dispatcher.latencies = []

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    bot = create_bot(settings, "4242:BENCH")

    async def talk(user: int) -> None:
        client = ChatClient(dispatcher, bot, telegram, user_id=user)
        for n in range(per_user):
            await client.send(f"привет {n}")

    started, cpu = time.perf_counter(), time.thread_time()
    await asyncio.gather(*(talk(9_000_000 + u) for u in range(users)))
    run = Run(time.perf_counter() - started, time.thread_time() - cpu, list(dispatcher.latencies))
    await bot.session.close()
    return run


async def press_run(telegram: FakeTelegram, settings: Settings, users: int, per_user: int) -> Run:
    """A bare aiogram bot with the survey's Telegram traffic and nothing else: a message
    with a button, then presses that edit it and answer the callback (no database)."""
    dispatcher = Timed()
    dispatcher.latencies = []
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Дальше", callback_data="next")]]
    )

    @dispatcher.message()
    async def start(message: Message) -> None:
        await message.answer("Вопрос 1", reply_markup=keyboard)

    @dispatcher.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"Вопрос {time.monotonic_ns()}", reply_markup=keyboard)
        await query.answer()

    bot = create_bot(settings, "4242:BENCH")

    async def walk_bare(user: int) -> None:
        client = ChatClient(dispatcher, bot, telegram, user_id=user)
        await client.send("/start")
        for _ in range(per_user - 1):
            await client.click("Дальше")

    started, cpu = time.perf_counter(), time.thread_time()
    await asyncio.gather(*(walk_bare(8_000_000 + u) for u in range(users)))
    run = Run(time.perf_counter() - started, time.thread_time() - cpu, list(dispatcher.latencies))
    await bot.session.close()
    return run


def forget_history(telegram: FakeTelegram) -> None:
    """The fake Bot API lives in this process and records every chat and call; that is
    the fake's memory, not the bot's, so it is dropped between runs."""
    telegram.chats.clear()
    telegram.calls.clear()


def describe(label: str, run: Run) -> str:
    rate = len(run.latencies) / run.elapsed
    ordered = sorted(run.latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    cpu = run.cpu / len(run.latencies) * 1000
    return (
        f"{label} {rate:.0f} updates/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"{cpu:.2f} ms CPU per update)"
    )


async def main_async(count: int, kind: str, memory: int) -> str:
    telegram = FakeTelegram()
    api = await telegram.start()
    with tempfile.TemporaryDirectory() as folder:
        url, name = await database(kind, Path(folder))
        try:
            settings = Settings(_env_file=None, database_url=url, telegram_api_url=api)  # type: ignore[call-arg]
            engine = (
                create_engine(url, pool_size=20, max_overflow=20)
                if kind != "sqlite"
                else create_engine(url)
            )
            await upgrade(engine)
            sessions = create_session_factory(engine)
            dispatcher = create_dispatcher(Services.build(settings, sessions))
            dispatcher.__class__ = Timed  # time the real dispatcher's feed_update
            bot = create_bot(settings, "4242:BENCH")
            idle = rss_mb()

            tokens = await customers(sessions, 1, count)
            survey = await survey_run(dispatcher, bot, telegram, tokens)
            forget_history(telegram)
            echo = await echo_run(telegram, settings, count, 16)
            forget_history(telegram)
            bare = await press_run(telegram, settings, count, 16)
            forget_history(telegram)
            per_update = survey.elapsed / len(survey.latencies)
            ratio = per_update / (echo.elapsed / len(echo.latencies))
            cpu_ratio = (survey.cpu / len(survey.latencies)) / (echo.cpu / len(echo.latencies))
            bare_ratio = (bare.cpu / len(bare.latencies)) / (echo.cpu / len(echo.latencies))

            memory_line = ""
            if memory:
                after_first = rss_mb()
                done = count
                while done < count + memory:
                    batch = min(1000, count + memory - done)
                    more = await customers(sessions, done + 1, batch)
                    await survey_run(dispatcher, bot, telegram, more)
                    forget_history(telegram)
                    done += batch
                    print(f"  {done} customers answered: RSS {rss_mb():.0f} MB", flush=True)
                after = rss_mb()
                memory_line = (
                    f"; RSS idle {idle:.0f} MB, after {count} customers {after_first:.0f} MB, "
                    f"after {count + memory} {after:.0f} MB "
                    f"({(after - after_first) * 1e6 / memory / 1024:.1f} KiB per further survey)"
                )
            await bot.session.close()
            await engine.dispose()
        finally:
            await drop(name)
    await telegram.stop()
    return (
        f"dialogue on {kind}: {count} customers x 16 updates concurrently: "
        f"{describe('survey', survey)}; {describe('echo', echo)}; "
        f"{describe('bare button bot (edit + answer, no database)', bare)}; our handling costs "
        f"{ratio:.1f}x the echo per update in time, {cpu_ratio:.1f}x in CPU "
        f"(the bare button bot: {bare_ratio:.1f}x in CPU){memory_line}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--memory", type=int, default=0, help="further customers for the memory figure"
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    line = asyncio.run(main_async(args.customers, args.database, args.memory))
    print(line)
    if not args.no_record:
        with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as file:
            file.write(f"- {datetime.now(UTC):%Y-%m-%d}: {line}\n")


if __name__ == "__main__":
    main()
