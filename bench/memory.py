"""Idle memory: `followup-bot run` (polling, SQLite) against a bare aiogram polling bot,
all started here as programs against the fake Bot API, measured the same way.

    python -m bench.memory [--no-record]

Each bot runs until it has polled the fake Bot API a few times, then its resident memory
(VmRSS) is read from /proc. The bare bot runs twice: with aiogram's types built as aiogram
builds them (all at import), and built on demand as `followup-bot run` has them
(handlers.types_on_demand, with the same common types built at start); the difference
between the second and ours is what the project itself costs on top of aiogram, the
difference between the two bare bots what building on demand saves. Appends the line to
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import end, record
from bot.playground import FakeTelegram

CEILING = 300.0  # seconds a bot may take to start on a busy machine

BARE_BOT = """
import asyncio, os
{on_demand}
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dispatcher = Dispatcher()

@dispatcher.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "")

session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
bot = Bot(os.environ["BOT_TOKEN"], session=session)
asyncio.run(dispatcher.start_polling(bot, handle_signals=True))
"""
ON_DEMAND = "from handlers import types_on_demand; types_on_demand.build_common()"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def idle_rss(
    telegram: FakeTelegram, token: str, *command: str, env: dict[str, str]
) -> float:
    before = len(telegram.calls_of("getUpdates"))
    process = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, **env, "BOT_TOKEN": token, "TELEGRAM_API_URL": telegram.base_url},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + CEILING
        # A few long polls (the fake answers an empty poll within a second): started and idle.
        while len(telegram.calls_of("getUpdates")) < before + 3:
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[-1]} did not start polling")
            await asyncio.sleep(0.2)
        return rss_mb(process.pid)
    finally:
        await end(process)


async def main_async() -> str:
    telegram = FakeTelegram()
    await telegram.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite+aiosqlite:///{Path(folder) / 'memory.db'}"
            # A bot restarting on its database, as in production: migrated already.
            migrate = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "migrate",
                env={**os.environ, "DATABASE_URL": database},
                stdout=asyncio.subprocess.DEVNULL,
            )
            await asyncio.wait_for(migrate.wait(), CEILING)
            ours = await idle_rss(
                telegram,
                "4242:OURS",
                sys.executable,
                "-m",
                "bot",
                "run",
                env={"DATABASE_URL": database},
            )
            bare = await idle_rss(
                telegram, "4343:BARE", sys.executable, "-c", BARE_BOT.format(on_demand=""), env={}
            )
            bare_on_demand = await idle_rss(
                telegram,
                "4444:BARE",
                sys.executable,
                "-c",
                BARE_BOT.format(on_demand=ON_DEMAND),
                env={},
            )
    finally:
        await telegram.stop()
    return (
        f"memory (load {os.getloadavg()[0]:.1f}): idle resident memory of `followup-bot run` "
        f"(polling, SQLite, aiogram's types built on demand) {ours:.0f} MB; of a bare aiogram "
        f"polling echo bot {bare:.0f} MB with its types built as aiogram builds them, "
        f"{bare_on_demand:.0f} MB built on demand: the project's own {ours - bare_on_demand:.0f} "
        f"MB; building on demand saves {bare - bare_on_demand:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    line = asyncio.run(main_async())
    record(line, keep=not args.no_record)


if __name__ == "__main__":
    main()
