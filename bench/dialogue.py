"""The survey's cost per update against a bare aiogram echo and a bare button bot, and its
latency with customers answering at a human pace: simulated customers through the real
Dispatcher, handlers and database, against the fake Bot API on loopback (in this process
for the CPU figures, so its work on each request is in all three figures: somewhat more
for the survey's edit of a question with its keyboard than for the echo's short message;
in a process of its own for the latencies, as Telegram is not in the bot's process).

    python -m bench.dialogue [--database sqlite|postgres] [--customers 100] [--paced 200]
                             [--memory 0] [--rounds 5] [--no-record]

Prints, from one run:
- CPU per update (this process's CPU, every thread: the bot, SQLite's worker threads, the
  fake Bot API and the simulated customers) for the survey, a bare echo and a bare
  button bot, each with `--customers` customers sending 16 updates as fast as they can,
  and the ratios to the echo. The three take turns `--rounds` times after a warm-up turn
  at full size (not counted), on one Bot whose connections to the Bot API stay open; the
  figures are medians, and each round's survey/echo ratio is printed too, and the ratio
  of each one's fastest round (the least disturbed by the machine's other work).
  Updates are handled as in webhook mode: a method a handler returns (the survey's
  answer to a pressed button) goes back in the reply, which the fake Telegram applies
  without a request; the bare bots call the Bot API as usual;
- SQL statements, transactions and (SQLite) hand-offs to its thread per survey press
  (counted in the warm-up turn, not timed);
- p50/p99 handling latency of presses with `--paced` customers each pressing every 2-5 s
  (their think time), and the longest wait of an SQLite writer for its turn; the fake
  Bot API (`python -m bot.playground`) runs in a process of its own for this phase, and
  the customers read their chats from it over HTTP between presses;
- with --memory N, the resident memory after N more customers.
Appends the line to BENCHMARKS.md. On a busy machine the figures get slower, never an
error: every wait has a ceiling of minutes, and a customer whose walk fails is counted
and reported, not fatal.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import ClientSession
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import CEILING, end, record
from bot.dispatcher import create_bot, create_dispatcher
from bot.lifecycle import settle_memory
from bot.playground import CONTENT_WALK, ChatClient, FakeTelegram
from bot.services import Services
from bot.settings import Settings
from storage.database import create_engine, create_session_factory, write_queue
from storage.migrate import upgrade
from storage.uow import UnitOfWork
from survey.visit_import import VisitRecord

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# The paced customers' update ids: far above the flooding customers' (ChatClient).
PACED_UPDATE_IDS = itertools.count(1_000_000_000)
UPDATES_PER_CUSTOMER = 16
PRESSES = CONTENT_WALK
# A bot's requests to the fake Bot API in this same busy loop may wait long: minutes, not
# aiogram's default 60 s, so a slow machine slows the figures instead of failing them.
REQUEST_TIMEOUT = 600


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096 / 1e6


class Timed(Dispatcher):
    """Records how long each update takes to handle."""

    latencies: list[float]
    press_latencies: list[float]

    @classmethod
    def timing(cls, dispatcher: Dispatcher) -> Timed:
        """Time an already built dispatcher's updates (the real one, with our routers)."""
        dispatcher.__class__ = cls
        assert isinstance(dispatcher, Timed)
        dispatcher.latencies, dispatcher.press_latencies = [], []
        return dispatcher

    async def feed_update(self, bot, update, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return await super().feed_update(bot, update, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            self.latencies.append(elapsed)
            if update.callback_query is not None:
                self.press_latencies.append(elapsed)


@dataclass
class Run:
    updates: int
    elapsed: float  # wall-clock seconds
    cpu: float  # CPU seconds of this process, all threads
    latencies: list[float]  # of the button presses
    failures: list[str] = field(default_factory=list)

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.updates * 1000

    def latency_ms(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


async def measured(
    dispatcher: Timed, walks: list[Callable[[], Awaitable[None]]], updates_each: int
) -> Run:
    dispatcher.latencies, dispatcher.press_latencies = [], []
    failures: list[str] = []

    async def guarded(walk: Callable[[], Awaitable[None]]) -> None:
        try:
            await walk()
        except Exception as error:  # a bench reports a failed walk; it does not stop
            failures.append(f"{type(error).__name__}: {error}"[:200])

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(guarded(walk) for walk in walks))
    return Run(
        updates=len(walks) * updates_each,
        elapsed=time.perf_counter() - started,
        cpu=time.process_time() - cpu,
        latencies=list(dispatcher.press_latencies),  # button presses only
        failures=failures,
    )


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


class Statements:
    """SQL statements, commits, hand-offs to SQLite's thread (each call aiosqlite queues
    for it) and transactions asyncpg begins (a BEGIN, later a COMMIT: two round trips)
    while `counting` is set. The engine's listeners that count statements and commits
    are there only meanwhile (`listening`): a flood whose CPU is measured runs without
    them, as the bot does."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.sync_engine
        self.counting = False
        self.statements = 0
        self.commits = 0
        self.hand_offs = 0
        self.begun = 0
        handed = aiosqlite.Connection._execute
        counter = self

        async def counted(
            connection: aiosqlite.Connection, function: Any, *args: Any, **kwargs: Any
        ) -> Any:
            counter.hand_offs += counter.counting
            return await handed(connection, function, *args, **kwargs)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
        begin = asyncpg.transaction.Transaction.start

        async def begun(transaction: asyncpg.transaction.Transaction) -> None:
            counter.begun += counter.counting
            await begin(transaction)

        asyncpg.transaction.Transaction.start = begun  # type: ignore[method-assign]

    @contextmanager
    def listening(self) -> Iterator[None]:
        """Count from zero meanwhile."""
        self.statements = self.commits = self.hand_offs = self.begun = 0
        event.listen(self._engine, "before_cursor_execute", self._statement)
        event.listen(self._engine, "commit", self._commit)
        self.counting = True
        try:
            yield
        finally:
            self.counting = False
            event.remove(self._engine, "before_cursor_execute", self._statement)
            event.remove(self._engine, "commit", self._commit)

    def _statement(
        self, connection: Connection, _cursor: object, sql: str, *_args: object
    ) -> None:
        self.statements += self.counting
        if not connection.in_transaction() and not sql.lstrip().upper().startswith("SELECT"):
            # A write sent as a transaction of its own (PostgreSQL, storage.direct's
            # `send_alone`): no COMMIT follows it.
            self.commits += self.counting

    def _commit(self, *_args: object) -> None:
        self.commits += self.counting


def bench_bot(settings: Settings) -> Bot:
    bot = create_bot(settings, "4242:BENCH")
    bot.session.timeout = REQUEST_TIMEOUT
    return bot


async def survey_flood(
    dispatcher: Timed,
    bot: Bot,
    telegram: FakeTelegram,
    tokens: list[tuple[int, str]],
    sql: Statements,
    *,
    counted: bool = False,
) -> tuple[Run, float, float, float, float]:
    """Every customer opens the survey, then all press through it as fast as they can.
    Returns the presses' run and, `counted`, their statements, transactions, hand-offs
    to SQLite's thread and transactions begun by asyncpg per press (else zeros: no
    listener counts them, so the run's CPU is the bot's alone)."""
    clients = {user: ChatClient(dispatcher, bot, telegram, user_id=user) for user, _ in tokens}
    await asyncio.gather(*(clients[user].send(f"/start {token}") for user, token in tokens))

    def walk(client: ChatClient) -> Callable[[], Awaitable[None]]:
        async def presses() -> None:
            for label in PRESSES:
                await client.click(label)

        return presses

    if not counted:
        run = await measured(dispatcher, [walk(c) for c in clients.values()], len(PRESSES))
        return run, 0.0, 0.0, 0.0, 0.0
    with sql.listening():
        run = await measured(dispatcher, [walk(c) for c in clients.values()], len(PRESSES))
    per_press = run.updates
    return (
        run,
        sql.statements / per_press,
        sql.commits / per_press,
        sql.hand_offs / per_press,
        sql.begun / per_press,
    )


class RemoteCustomer:
    """A customer of the paced phase, whose fake Bot API runs in a process of its own (as
    Telegram does not run in the bot's): the bot's requests are served, and the chats'
    history kept, outside the process whose latencies are measured. The customer writes
    and reads the chat over HTTP while thinking, outside the timed handling; the method a
    handler returns (the callback's answer, the webhook reply) is not passed on."""

    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, http: ClientSession, api: str, user_id: int
    ) -> None:
        self.dispatcher, self.bot, self.http = dispatcher, bot, http
        self.chat = f"{api}/chat/{user_id}"
        self.user = {"id": user_id, "is_bot": False, "first_name": "Иван", "language_code": "ru"}

    async def send(self, text: str) -> None:
        async with self.http.post(
            f"{self.chat}/from_user", json={"user": self.user, "text": text}
        ) as response:
            message = await response.json()
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        await self._feed({"message": message})

    async def click(self, label: str) -> None:
        async with self.http.get(f"{self.chat}/from_bot") as response:
            messages = await response.json()
        for message in reversed(messages):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if label in button["text"]:
                        query = {
                            "id": str(time.monotonic_ns()),
                            "from": self.user,
                            "chat_instance": str(self.user["id"]),
                            "message": message,
                            "data": button["callback_data"],
                        }
                        await self._feed({"callback_query": query})
                        return
        raise LookupError(f"no button containing {label!r}")

    async def _feed(self, body: dict[str, Any]) -> None:
        update = Update.model_validate(
            {"update_id": next(PACED_UPDATE_IDS), **body}, context={"bot": self.bot}
        )
        await self.dispatcher.feed_update(self.bot, update)


@asynccontextmanager
async def telegram_apart() -> AsyncIterator[str]:
    """The fake Bot API in a process of its own (`python -m bot.playground`): its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.playground",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), CEILING)
        if not line.startswith(b"http"):
            raise RuntimeError("the fake Bot API did not start")
        yield line.decode().strip()
    finally:
        await end(process)


async def survey_paced(
    dispatcher: Timed, settings: Settings, tokens: list[tuple[int, str]]
) -> Run:
    """Customers answering at a human pace: each starts within the first 5 s, then
    presses every 2-5 s (think time); the latencies are the presses' handling times. The
    fake Bot API runs in a process of its own here (RemoteCustomer)."""
    async with telegram_apart() as api, ClientSession() as http:
        bot = bench_bot(settings.model_copy(update={"telegram_api_url": api}))
        try:
            return await _paced(dispatcher, bot, http, api, tokens)
        finally:
            await bot.session.close()


async def _paced(
    dispatcher: Timed, bot: Bot, http: ClientSession, api: str, tokens: list[tuple[int, str]]
) -> Run:
    rng = random.Random(11)

    def walk(user: int, token: str) -> Callable[[], Awaitable[None]]:
        client = RemoteCustomer(dispatcher, bot, http, api, user)
        pauses = [rng.uniform(2, 5) for _ in PRESSES]
        first = rng.uniform(0, 5)

        async def customer() -> None:
            await asyncio.sleep(first)
            await client.send(f"/start {token}")
            for label, pause in zip(PRESSES, pauses, strict=True):
                await asyncio.sleep(pause)
                await client.click(label)

        return customer

    return await measured(dispatcher, [walk(u, t) for u, t in tokens], UPDATES_PER_CUSTOMER)


async def echo_flood(telegram: FakeTelegram, bot: Bot, users: int) -> Run:
    dispatcher = Timed.timing(Dispatcher())

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    def walk(user: int) -> Callable[[], Awaitable[None]]:
        async def talk() -> None:
            client = ChatClient(dispatcher, bot, telegram, user_id=user)
            for n in range(UPDATES_PER_CUSTOMER):
                await client.send(f"привет {n}")

        return talk

    return await measured(dispatcher, [walk(9_000_000 + u) for u in range(users)], 16)


async def button_flood(telegram: FakeTelegram, bot: Bot, users: int) -> Run:
    """A bare aiogram bot with the survey's Telegram traffic and nothing else: a message
    with a button, then presses that edit it and answer the callback (no database)."""
    dispatcher = Timed.timing(Dispatcher())
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

    def walk(user: int) -> Callable[[], Awaitable[None]]:
        async def presses() -> None:
            client = ChatClient(dispatcher, bot, telegram, user_id=user)
            await client.send("/start")
            for _ in range(UPDATES_PER_CUSTOMER - 1):
                await client.click("Дальше")

        return presses

    return await measured(dispatcher, [walk(8_000_000 + u) for u in range(users)], 16)


def forget_history(telegram: FakeTelegram) -> None:
    """The fake Bot API lives in this process and records every chat and call; that is
    the fake's memory, not the bot's, so it is dropped between runs."""
    telegram.chats.clear()
    telegram.calls.clear()


def handed(kind: str, statements: float, hand_offs: float, begun: float) -> str:
    if kind == "sqlite":
        return f", {hand_offs:.1f} hand-offs to SQLite's thread"
    return f", {begun:.1f} BEGIN sent: {statements + 2 * begun:.1f} round trips"


def failed(run: Run) -> str:
    if not run.failures:
        return ""
    return f", {len(run.failures)} walk(s) failed (first: {run.failures[0]})"


def median(values: list[float]) -> float:
    return statistics.median(values)


def median_run(runs: list[Run]) -> Run:
    """The round whose CPU per update is the median (the lower one of an even count)."""
    return sorted(runs, key=lambda run: run.cpu_ms)[(len(runs) - 1) // 2]


def spread(rounds: list[tuple[Run, Run, Run]], kind: int) -> str:
    """Each round's ratio of one bot to the echo, lowest to highest."""
    ratios = sorted(r[kind].cpu_ms / r[1].cpu_ms for r in rounds)
    return "-".join(f"{ratio:.2f}" for ratio in ratios) + "x"


async def main_async(kind: str, count: int, paced: int, memory: int, rounds: int) -> str:
    telegram = FakeTelegram()
    api = await telegram.start()
    with tempfile.TemporaryDirectory() as folder:
        url, name = await database(kind, Path(folder))
        try:
            settings = Settings(_env_file=None, database_url=url, telegram_api_url=api)  # type: ignore[call-arg]
            engine = create_engine(url)
            await upgrade(engine)
            sessions = create_session_factory(engine)
            sql = Statements(engine)
            dispatcher = Timed.timing(create_dispatcher(Services.build(settings, sessions)))
            settle_memory()  # as `followup-bot run` does once it has built everything
            bot = bench_bot(settings)
            idle = rss_mb()

            # The three floods take turns: one warm-up turn at full size, not counted (the
            # first flood builds aiogram's and pydantic's types, opens the bot's connections
            # to the Bot API, fills the caches), then `rounds` turns. The figures are each
            # one's median, the ratios the medians of each turn's own ratios (a busy machine
            # slows one turn, not one kind of bot). All three bots share one Bot, whose
            # connections stay open between floods as a running bot's do. The warm-up's
            # presses are the ones whose statements are counted (by listeners on the
            # engine, not there while CPU is measured), of customers new to the process
            # as in every turn.
            rounds_run: list[tuple[Run, Run, Run]] = []
            first = 1
            for turn in range(rounds + 1):
                flood, *counts = await survey_flood(
                    dispatcher,
                    bot,
                    telegram,
                    await customers(sessions, first, count),
                    sql,
                    counted=not turn,
                )
                if not turn:
                    statements, transactions, hand_offs, begun = counts
                first += count
                forget_history(telegram)
                echo = await echo_flood(telegram, bot, count)
                forget_history(telegram)
                bare = await button_flood(telegram, bot, count)
                forget_history(telegram)
                if turn:
                    rounds_run.append((flood, echo, bare))
            flood, echo, bare = (median_run([r[kind] for r in rounds_run]) for kind in range(3))
            survey_ratio = median([f.cpu_ms / e.cpu_ms for f, e, _ in rounds_run])
            bare_ratio = median([b.cpu_ms / e.cpu_ms for _, e, b in rounds_run])
            # Another machine's work only ever adds to a round's CPU: each bot's fastest
            # round is its least disturbed one (as `timeit` reads a busy machine).
            fastest_survey, fastest_echo = (
                min(r[kind].cpu_ms for r in rounds_run) for kind in range(2)
            )
            queue = write_queue(engine)
            if queue is not None:
                queue.longest_wait = 0.0
            human = await survey_paced(
                dispatcher, settings, await customers(sessions, first, paced)
            )
            waited = f"{queue.longest_wait * 1000:.0f} ms" if queue is not None else "n/a"

            memory_line = ""
            if memory:
                after_first = rss_mb()
                done = first + paced
                while done < first + paced + memory:
                    batch = min(1000, first + paced + memory - done)
                    more = await customers(sessions, done, batch)
                    await survey_flood(dispatcher, bot, telegram, more, sql)
                    forget_history(telegram)
                    done += batch
                    print(f"  {done} customers answered: RSS {rss_mb():.0f} MB", flush=True)
                after = rss_mb()
                memory_line = (
                    f"; RSS idle {idle:.0f} MB, before the memory run {after_first:.0f} MB, "
                    f"after {memory} more customers {after:.0f} MB"
                )
            await bot.session.close()
            await engine.dispose()
        finally:
            await drop(name)
    await telegram.stop()
    return (
        f"dialogue on {kind} (load {os.getloadavg()[0]:.1f}): CPU per update with {count} "
        f"customers flooding (median of {rounds} rounds): survey press {flood.cpu_ms:.2f} ms"
        f"{failed(flood)}, echo {echo.cpu_ms:.2f} ms{failed(echo)}, bare button bot "
        f"{bare.cpu_ms:.2f} ms{failed(bare)}: the survey costs {survey_ratio:.2f}x the echo "
        f"(rounds {spread(rounds_run, 0)}; the bare button bot {bare_ratio:.1f}x; each one's "
        f"fastest round: survey {fastest_survey:.2f} ms, echo {fastest_echo:.2f} ms, "
        f"{fastest_survey / fastest_echo:.2f}x); per press "
        f"{statements:.1f} SQL statements in {transactions:.1f} transactions"
        f"{handed(kind, statements, hand_offs, begun)}; "
        f"{paced} customers at a human pace (a press every 2-5 s): p50 "
        f"{human.latency_ms(0.5):.1f} ms, p99 {human.latency_ms(0.99):.1f} ms, "
        f"longest wait for the SQLite write turn {waited}{failed(human)}{memory_line}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--customers", type=int, default=100, help="flooding customers")
    parser.add_argument("--paced", type=int, default=200, help="customers at a human pace")
    parser.add_argument(
        "--memory", type=int, default=0, help="further customers for the memory figure"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="turns of the three floods (medians are kept)"
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    line = asyncio.run(
        main_async(args.database, args.customers, args.paced, args.memory, max(1, args.rounds))
    )
    record(line, keep=not args.no_record)


if __name__ == "__main__":
    main()
