"""Running the bot as real processes in tests, against the fake Bot API.

Every process a test starts goes through `spawn`: it runs in a process group of its own,
and the `reap_processes` fixture (conftest.py) kills that group after the test, even when
the test failed; at the end of the session any process still alive fails the run.
Waits have a ceiling of minutes, never a short deadline: on a busy 2-core machine the
bot can take most of a minute to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.playground import FakeTelegram

# How long a test waits for what it expects before giving up: minutes, not seconds.
CEILING = 300.0
SPAWNED: list[asyncio.subprocess.Process] = []


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


async def spawn(
    *args: str, env: dict[str, str], cwd: Path, stdin: bool = False
) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` in a process group of its own, ended by the test's teardown."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    SPAWNED.append(process)
    return process


async def finish(
    process: asyncio.subprocess.Process,
    signal_number: int | None = signal.SIGTERM,
    *,
    stdin: bytes | None = None,
) -> str:
    """Stop a process (or let it end by itself with signal_number=None) and return all it
    printed; killed with its whole group if it does not end within the ceiling."""
    if signal_number is not None and process.returncode is None:
        process.send_signal(signal_number)
    try:
        output, _ = await asyncio.wait_for(process.communicate(stdin), CEILING)
    except TimeoutError:
        kill_group(process)
        output, _ = await process.communicate()
    return output.decode(errors="replace")


def kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL to the process and anything it started; harmless if already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def killed(process: asyncio.subprocess.Process) -> None:
    """SIGKILL: no cleanup, no shutdown hooks, as when the machine loses the process."""
    kill_group(process)
    await process.wait()


async def reap() -> list[int]:
    """Kill whatever a test left running; returns the pids that were still alive."""
    alive = [p for p in SPAWNED if p.returncode is None]
    for process in alive:
        kill_group(process)
    for process in alive:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.wait(), CEILING)
    SPAWNED.clear()
    return [p.pid for p in alive]


async def eventually(
    condition: Callable[[], bool], seconds: float = CEILING, what: str = ""
) -> None:
    """Wait for the condition, with a ceiling of minutes: the event, not a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(
                f"timed out after {seconds:.0f} s waiting for {what or condition}"
            )
        await asyncio.sleep(0.05)
