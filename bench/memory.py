"""Idle memory: `followup-bot run` (polling, SQLite) against a bare aiogram polling bot,
both started here as programs against the fake Bot API, measured the same way.

    python -m bench.memory [--no-record]

Each bot runs until it has polled the fake Bot API a few times, then its resident memory
(VmRSS) is read from /proc; the difference is what the project itself costs on top of
aiogram. Appends the line to BENCHMARKS.md.
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
            bare = await idle_rss(telegram, "4343:BARE", sys.executable, "-c", BARE_BOT, env={})
    finally:
        await telegram.stop()
    return (
        f"memory (load {os.getloadavg()[0]:.1f}): idle resident memory of `followup-bot run` "
        f"(polling, SQLite) {ours:.0f} MB, of a bare aiogram polling echo bot {bare:.0f} MB: "
        f"the project's own {ours - bare:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    line = asyncio.run(main_async())
    record(line, keep=not args.no_record)


if __name__ == "__main__":
    main()
