"""Broadcast throughput against a fake Bot API that enforces Telegram's 30 messages/s.

    python -m bench.broadcast [--recipients 10000] [--send-rate 25]

The fake API runs in its own process and answers 429 (retry after 1 s) past 30 messages
in any second. Prints: achieved messages/s and its share of the limit, 429s received,
customers messaged more than once, and the peak memory of this (the bot's) process;
appends a line to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

from bench import record
from bot.dispatcher import create_bot
from bot.i18n import create_i18n
from bot.settings import Settings
from handlers.outbound.sender import Sender
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.uow import Database, UnitOfWork
from storage.workflows import outreach as broadcasts
from survey.outreach import Audience
from survey.periods import Period
from survey.visit_import import VisitRecord

LIMIT = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def midday_zone() -> str:
    offset = datetime.now(UTC).hour - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'+' if offset > 0 else '-'}{abs(offset)}"


async def run(recipients: int, send_rate: float, database: Path, api: str) -> dict[str, float]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{database}",
        telegram_api_url=api,
        send_rate=send_rate,
        timezone=midday_zone(),
    )
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    today = date.today()
    async with sessions() as session:
        db = UnitOfWork(session)
        records = [
            VisitRecord(
                n,
                f"B{n:06d}",
                today,
                f"Клиент {n}",
                f"+7933{n:07d}",
                "Kia",
                "Смирнов",
                1_000_000 + n,
            )
            for n in range(recipients)
        ]
        await db.visits.import_records(records, datetime.now(UTC))
        plan = await broadcasts.preview(
            db, Audience.PERIOD, datetime.now(UTC), period=Period(today, today)
        )
        await broadcasts.start(db, plan, datetime.now(UTC), created_by=None)
        await session.commit()

    bot = create_bot(settings, "4242:BENCH")
    sender = Sender(
        Database(sessions), settings.policies(), lambda: datetime.now(UTC), create_i18n()
    )
    started = time.monotonic()
    try:
        while await sender.run_once(bot):  # the running bot's batches
            pass
    finally:
        await bot.session.close()
        await engine.dispose()
    elapsed = time.monotonic() - started
    return {"elapsed": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--send-rate", type=float, default=Settings.model_fields["send_rate"].default
    )
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = parser.parse_args()

    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "bot.playground", "--port", str(port), "--rate-limit", str(LIMIT)],
        stdout=subprocess.PIPE,
    )
    try:
        assert fake.stdout is not None
        api = fake.stdout.readline().decode().strip()
        with tempfile.TemporaryDirectory() as folder:
            result = asyncio.run(run(args.recipients, args.send_rate, Path(folder) / "b.db", api))
        with urllib.request.urlopen(f"{api}/stats") as response:
            stats = json.load(response)
    finally:
        fake.terminate()
        fake.wait()

    rate = stats["accepted"] / result["elapsed"]
    # Telegram's view: from the first message to the last, without the start and the end.
    steady = (stats["accepted"] - 1) / stats["seconds_first_to_last"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    duplicates = stats["chats_with_repeats"]
    line = (
        f"broadcast (load {os.getloadavg()[0]:.1f}): {args.recipients} recipients, "
        f"SEND_RATE={args.send_rate:g}, limit {LIMIT}/s: "
        f"{stats['accepted']} delivered in {result['elapsed']:.1f} s = {rate:.1f} msg/s "
        f"({rate / LIMIT:.0%} of the limit; first to last message {steady:.1f} msg/s, "
        f"{steady / LIMIT:.0%}), 429s: {stats['throttled']}, "
        f"customers messaged twice: {duplicates}, peak RSS {peak_mb:.0f} MB"
    )
    record(line, keep=not args.no_record)


if __name__ == "__main__":
    main()
