"""Running the bot as real processes in tests, against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.playground import FakeTelegram


def midday_zone() -> str:
    """A time zone where it is midday now, so quiet hours never hold a test's messages."""
    offset = datetime.now(UTC).hour - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'+' if offset > 0 else '-'}{abs(offset)}"


def bot_env(telegram: FakeTelegram, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BOT_TOKEN": "4242:TEST-token",
        "TELEGRAM_API_URL": telegram.base_url,
        "DATABASE_URL": database_url,
        "TIMEZONE": midday_zone(),
        **extra,
    }


async def spawn(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def eventually(condition: Callable[[], bool], seconds: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)
