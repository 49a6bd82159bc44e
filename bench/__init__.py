"""Benchmarks: each script prints its figures and appends them to BENCHMARKS.md."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import handlers  # noqa: F401  (first, as the bot does: aiogram's types built on demand)

ROOT = Path(__file__).resolve().parents[1]
CEILING = 120  # seconds: for what comes in milliseconds when the machine is not busy


async def end(process: asyncio.subprocess.Process) -> None:
    """End a process started with start_new_session=True, its whole group: SIGTERM, then
    SIGKILL if it is still there after CEILING."""
    if process.returncode is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), CEILING)
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def record(line: str, *, keep: bool = True) -> None:
    """Print a result and (unless `keep` is off: --no-record) keep it, dated, as the newest
    line of BENCHMARKS.md."""
    print(line)
    if not keep:
        return
    with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as file:
        file.write(f"- {datetime.now(UTC):%Y-%m-%d}: {line}\n")
