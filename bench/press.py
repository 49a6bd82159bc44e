"""Where a survey press's CPU goes, step by step, beside a bare echo's update.

    python -m bench.press [--database sqlite|postgres] [--customers 50] [--no-record]

One update at a time, so the CPU spent while a step runs is that step's own (no other
update's work comes in between): simulated customers walk the survey through the real
Dispatcher, handlers and database, against the fake Bot API in this process, and this
thread's CPU is added up inside each step of a press:
- Telegram's side of the update: the update built and read (as a webhook reads its body)
  and the callback's answer taken from the reply;
- dispatch: aiogram's middlewares, routers and filters, the unit of work and the update's
  id (the handling, less the steps below);
- read: the survey row (`own_survey`: nothing to read when the process kept it,
  storage.survey_rows.SurveyRows; a walk's first press reads it); save: the move, its case
  and the commit (`save_move`); screen: the next question drawn (`current_screen`);
- edit: the request that edits the pressed message, with the fake Bot API's work on it
  (`_edit`);
- the rest of the handler (the step check, the move, the callback's answer).
The presses timed are a whole walk's after "start the survey" (12 answers, "no comment",
the contact choice), each through `_apply_press`.
Then some parts alone, taking turns in small batches (the medians of 30 rounds): a unit of
work's read of a constant (`SELECT 1`) and its commit of no statement (the machinery
around SQLite's or PostgreSQL's work: a pooled connection of the unit's own for each,
storage.batch), the same through the session in SQLAlchemy's greenlet (as a unit that
holds its connection runs), and the requests a press may make: the edit of a question
with its keyboard, a short message sent, a callback's answer.
Then whole presses taking turns in rounds of 4 customers (40 rounds each way): units of
work on pooled connections of their own against units through the session.
An echo's update is split the same way: Telegram's side, dispatch, and its request with
the fake's work. Reading the thread's CPU clock costs about a microsecond, twice a step
(seven steps a press, three an echo's update). The presses and the echo's updates take
turns in 10 rounds; the ratio is the median of the rounds' own, one update at a time
(`bench.dialogue` measures it with customers flooding at once), and beside it the ratio
of each one's fastest round. Appends the line to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram import Dispatcher
from aiogram.types import Message, Update
from sqlalchemy import literal, select

import handlers.customer.survey as survey_handlers
from bench import record
from bench.dialogue import (
    PRESSES,
    UPDATES_PER_CUSTOMER,
    bench_bot,
    customers,
    database,
    drop,
    forget_history,
)
from bot.dispatcher import create_dispatcher
from bot.i18n import create_i18n
from bot.lifecycle import settle_memory
from bot.playground import ChatClient, FakeTelegram
from bot.services import Services
from bot.settings import Settings
from handlers.telegram import edit_text
from handlers.views.survey import step_screen
from storage import batch, direct
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.workflows import answers
from survey.dialogue import SurveyRun, SurveyStatus

# What the empty unit of work in `alone` reads: a constant.
NOTHING = select(literal(1).label("one"))
# The steps timed inside a press: (module, function name, label).
STEPS = (
    (survey_handlers, "own_survey", "read"),
    (answers, "save_move", "save"),
    (survey_handlers, "current_screen", "screen"),
    (survey_handlers, "_edit", "edit"),
    (survey_handlers, "_apply_press", "handler"),
)


class Split:
    """CPU of this thread inside each timed step, added up while `on`."""

    def __init__(self) -> None:
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.on = False

    def timing(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        split = self
        if asyncio.iscoroutinefunction(function):

            @functools.wraps(function)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.thread_time()
                try:
                    return await function(*args, **kwargs)
                finally:
                    split.cpu[label] += (time.thread_time() - started) * split.on

            return timed_async

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                split.cpu[label] += (time.thread_time() - started) * split.on

        return timed

    def wrap(self, owner: Any, name: str, label: str) -> Callable[[], None]:
        """Time `owner.name`; returns what puts the original back."""
        original = getattr(owner, name)
        setattr(owner, name, self.timing(original, label))
        return lambda: setattr(owner, name, original)

    async def one(self, label: str, step: Awaitable[Any]) -> None:
        started = time.thread_time()
        try:
            await step
        finally:
            self.cpu[label] += (time.thread_time() - started) * self.on

    def add(self, other: Split) -> None:
        for label, cpu in other.cpu.items():
            self.cpu[label] += cpu


def microseconds(split: Split, label: str, count: int) -> float:
    return split.cpu[label] / count * 1e6


async def taking_turns(
    dispatcher: Dispatcher,
    bot: Any,
    telegram: FakeTelegram,
    tokens: list[tuple[int, str]],
    rounds: int,
) -> tuple[Split, int, Split, int, list[tuple[float, float]]]:
    """The presses and the echo's updates in `rounds` turns (a busy spell of the machine
    slows a round of both, not one of them): the presses' split and count, the echo's,
    and each round's microseconds of a press and of an echo's update."""
    pressed, echoed = Split(), Split()
    press_count = echo_count = 0
    each_round = []
    per_round = max(1, len(tokens) // rounds)
    for start in range(0, per_round * rounds, per_round):
        split, count = await presses(dispatcher, bot, telegram, tokens[start : start + per_round])
        echo, echoes_count = await echoes(telegram, bot, per_round)
        pressed.add(split)
        echoed.add(echo)
        press_count += count
        echo_count += echoes_count
        each_round.append(
            (microseconds(split, "press", count), microseconds(echo, "update", echoes_count))
        )
    return pressed, press_count, echoed, echo_count, each_round


async def presses(
    dispatcher: Dispatcher, bot: Any, telegram: FakeTelegram, tokens: list[tuple[int, str]]
) -> tuple[Split, int]:
    split = Split()
    undo = [split.wrap(module, name, label) for module, name, label in STEPS]
    undo.append(split.wrap(dispatcher, "feed_update", "handling"))
    try:
        count = 0
        for user, token in tokens:
            client = ChatClient(dispatcher, bot, telegram, user_id=user)
            await client.send(f"/start {token}")
            await client.click(PRESSES[0])  # "start the survey": a handler of its own
            for label in PRESSES[1:]:  # the answers, "no comment", the contact choice
                split.on = True
                await split.one("press", client.click(label))
                split.on = False
                count += 1
            forget_history(telegram)
        return split, count
    finally:
        for put_back in undo:
            put_back()


async def echoes(telegram: FakeTelegram, bot: Any, users: int) -> tuple[Split, int]:
    """The echo's updates on the presses' Bot (its connection to the Bot API open)."""
    dispatcher = Dispatcher()
    split = Split()
    split.on = True

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await split.one("request", message.answer(message.text or ""))

    feed = dispatcher.feed_update

    async def handling(bot: Any, update: Update, **kwargs: Any) -> Any:
        return await split.one("handling", feed(bot, update, **kwargs))

    dispatcher.feed_update = handling  # type: ignore[method-assign]
    for user in range(users):
        client = ChatClient(dispatcher, bot, telegram, user_id=7_000_000 + user)
        for n in range(UPDATES_PER_CUSTOMER):
            await split.one("update", client.send(f"привет {n}"))
        forget_history(telegram)
    return split, users * UPDATES_PER_CUSTOMER


async def alone(
    sessions: Any, bot: Any, rounds: int = 30, batch_size: int = 20
) -> dict[str, float]:
    """Microseconds of CPU (median of `rounds`) of each part measured alone, the parts
    taking turns in batches so that a busy machine slows all of them alike."""
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        screens = [
            step_screen(SurveyRun(id=1, status=SurveyStatus.IN_PROGRESS, step=step), "ru")
            for step in (3, 4)
        ]
    chat = 6_000_000
    sent = await bot.send_message(chat, screens[0].text, reply_markup=screens[0].keyboard)
    edits = [0]

    async def empty_unit() -> None:
        session = sessions()
        try:
            await batch.fetch(session, NOTHING, {})
            await batch.commit_with(session, lambda _connection: True)
        finally:
            await session.close()

    async def through_session() -> None:
        """The same in SQLAlchemy's greenlet on the session's connection: the way of a unit
        that holds one (and of every unit before connections of their own)."""
        session = sessions()
        try:
            await batch._run(session, lambda connection: direct.execute(connection, NOTHING, {}))
            await batch._run(session, lambda _connection: True, writes=True, commit=True)
        finally:
            await session.close()

    async def edit() -> None:
        edits[0] += 1
        screen = screens[edits[0] % 2]
        await edit_text(bot, chat, sent.message_id, screen.text, screen.keyboard)

    parts: dict[str, Callable[[], Awaitable[Any]]] = {
        "unit": empty_unit,
        "session": through_session,
        "edit": edit,
        "send": lambda: bot.send_message(chat, "привет 3"),
        "answer": lambda: bot.answer_callback_query("1"),
    }
    cpu: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(rounds):
        for name, part in parts.items():
            started = time.thread_time()
            for _ in range(batch_size):
                await part()
            cpu[name].append((time.thread_time() - started) / batch_size * 1e6)
    return {name: statistics.median(values) for name, values in cpu.items()}


async def _none(_session: Any) -> None:
    """`batch._own_connection` finding none: the unit goes through its session."""


async def own_or_session(
    dispatcher: Dispatcher,
    bot: Any,
    telegram: FakeTelegram,
    tokens: list[tuple[int, str]],
    per_round: int = 4,
) -> tuple[float, float, int]:
    """Whole presses taking turns in small rounds: units on pooled connections of their own
    (storage.batch, `_own_connection`) against units through the session (`_own_connection`
    made to find none, the way of every unit before). Medians of the rounds' CPU per press,
    and the number of rounds each."""
    own = batch._own_connection
    cpu: dict[bool, list[float]] = {True: [], False: []}
    try:
        for n, start in enumerate(range(0, len(tokens) - 2 * per_round + 1, 2 * per_round)):
            for own_connection in (True, False) if n % 2 else (False, True):
                batch._own_connection = own if own_connection else _none
                first = start if own_connection else start + per_round
                split, count = await presses(
                    dispatcher, bot, telegram, tokens[first : first + per_round]
                )
                cpu[own_connection].append(microseconds(split, "press", count))
    finally:
        batch._own_connection = own
    return statistics.median(cpu[True]), statistics.median(cpu[False]), len(cpu[True])


def share(part: float, whole: float) -> str:
    return f"{part:.0f} µs ({part / whole:.0%})"


async def main_async(kind: str, count: int) -> str:
    telegram = FakeTelegram()
    api = await telegram.start()
    with tempfile.TemporaryDirectory() as folder:
        url, name = await database(kind, Path(folder))
        try:
            settings = Settings(_env_file=None, database_url=url, telegram_api_url=api)
            engine = create_engine(url)
            await upgrade(engine)
            sessions = create_session_factory(engine)
            dispatcher = create_dispatcher(Services.build(settings, sessions))
            settle_memory()
            bot = bench_bot(settings)
            await presses(dispatcher, bot, telegram, await customers(sessions, 1, 5))  # warm-up
            split, pressed, echo, echoed, each_round = await taking_turns(
                dispatcher, bot, telegram, await customers(sessions, 10, count), 10
            )
            parts = await alone(sessions, bot)
            own_us, session_us, rounds = await own_or_session(
                dispatcher, bot, telegram, await customers(sessions, 10 + count, 320)
            )
            forget_history(telegram)
            await bot.session.close()
            await engine.dispose()
        finally:
            await drop(name)
    await telegram.stop()

    def press(label: str) -> float:
        return microseconds(split, label, pressed)

    def echoed_us(label: str) -> float:
        return microseconds(echo, label, echoed)

    ratios = [press_us / echo_us for press_us, echo_us in each_round]
    # Another program's work only ever adds CPU: each one's fastest round is its least
    # disturbed one (as `timeit` reads a busy machine).
    fastest_press, fastest_echo = (min(us[kind] for us in each_round) for kind in range(2))
    total, handling, handler = press("press"), press("handling"), press("handler")
    steps = {label: press(label) for label in ("read", "save", "screen", "edit")}
    rest = handler - sum(steps.values())
    echo_total, echo_handling = echoed_us("update"), echoed_us("handling")
    return (
        f"press split on {kind} (load {os.getloadavg()[0]:.1f}), one update at a time, "
        f"{pressed} presses of {count} customers: a press {total:.0f} µs of CPU: "
        f"Telegram's side of the update {share(total - handling, total)}, dispatch "
        f"{share(handling - handler, total)}, read {share(steps['read'], total)}, save and "
        f"commit {share(steps['save'], total)}, screen {share(steps['screen'], total)}, "
        f"edit request with the fake Bot API's work {share(steps['edit'], total)}, the rest "
        f"of the handler {share(rest, total)}; an echo's update {echo_total:.0f} µs: "
        f"Telegram's side {share(echo_total - echo_handling, echo_total)}, dispatch "
        f"{share(echo_handling - echoed_us('request'), echo_total)}, its request with the "
        f"fake's work {share(echoed_us('request'), echo_total)}; one at a time the press "
        f"costs {statistics.median(ratios):.2f}x the echo (median of {len(ratios)} rounds taking "
        f"turns, {min(ratios):.1f}-{max(ratios):.1f}x; each one's fastest round: a press "
        f"{fastest_press:.0f} µs, an echo's update {fastest_echo:.0f} µs, "
        f"{fastest_press / fastest_echo:.2f}x); alone (medians of turns): a unit of work "
        f"reading a constant and committing nothing {parts['unit']:.0f} µs (through the "
        f"session {parts['session']:.0f} µs), an edit of a "
        f"question with its keyboard {parts['edit']:.0f} µs, a short message sent "
        f"{parts['send']:.0f} µs, a callback's answer {parts['answer']:.0f} µs; whole presses "
        f"taking turns (medians of {rounds} rounds of 4 customers each way): units on "
        f"connections of their own {own_us:.0f} µs, through the session {session_us:.0f} µs "
        f"({1 - own_us / session_us:.1%} less)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    record(asyncio.run(main_async(args.database, args.customers)), keep=not args.no_record)


if __name__ == "__main__":
    main()
