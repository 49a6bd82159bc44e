"""Benchmarks: each script prints its figures and appends them to BENCHMARKS.md."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def record(line: str, *, keep: bool = True) -> None:
    """Print a result and (unless `keep` is off: --no-record) keep it, dated, as the newest
    line of BENCHMARKS.md."""
    print(line)
    if not keep:
        return
    with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as file:
        file.write(f"- {datetime.now(UTC):%Y-%m-%d}: {line}\n")
