"""The case board's answers against a bare aiohttp JSON answer on the same server.

    python -m bench.board [--open 500] [--surveys 20000] [--no-record]

Seeds `--surveys` completed surveys (as bench.stats does) and `--open` open cases with a
few history events each, serves the real web side (the board with its initData check)
on 127.0.0.1, and times, each as the median of repeated requests from one client: a bare
JSON answer (the floor), /app/api/me (the initData check, the staff lookup, the page's
words), the board's list of every open case, one case's card, the 30-day figures, and a
take (the use case, its commit and the outbox). Prints the medians and their ratios to
the bare answer, measured in one run; appends the line to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bench import record
from bench.stats import generate
from bot.dispatcher import create_bot
from bot.playground import FakeTelegram
from bot.playground.web_app import init_data
from bot.services import Services
from bot.settings import Settings
from bot.webhook import create_web_app
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade

TOKEN = "4242:BENCH"
MANAGER = 2


def seed_cases(path: Path, count: int) -> None:
    """Open cases on the first surveys, half of them high severity, each with its history."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.000000")
    problems = json.dumps([{"question": 8, "value": "no", "severity": "normal"}])
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO cases (id, survey_id, severity, status, problems, version, created_at,"
        " take_due_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            (
                n,
                n,
                "high" if n % 2 else "normal",
                "open",
                problems,
                1,
                stamp,
                (now + timedelta(minutes=n % 240)).strftime("%Y-%m-%d %H:%M:%S.000000"),
                stamp,
            )
            for n in range(1, count + 1)
        ),
    )
    db.executemany(
        "INSERT INTO case_events (case_id, kind, text, created_at) VALUES (?,?,?,?)",
        (
            (n, kind, text, stamp)
            for n in range(1, count + 1)
            for kind, text in (("created", "Q8=no"), ("alerted", "Клиентская служба"))
        ),
    )
    db.execute("UPDATE surveys SET has_case = 1 WHERE id <= ?", (count,))
    db.commit()
    db.close()


async def median_ms(http: ClientSession, method: str, url: str, times: int, **kw: object) -> float:
    took = []
    for _ in range(times):
        started = time.perf_counter()
        async with http.request(method, url, **kw) as response:  # type: ignore[arg-type]
            await response.read()
            assert response.status == 200, (url, response.status, await response.text())
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


async def run(path: Path, open_cases: int) -> dict[str, float]:
    telegram = FakeTelegram()
    api = await telegram.start()
    url = f"sqlite+aiosqlite:///{path}"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        telegram_api_url=api,
        manager_ids=[MANAGER],
    )
    engine = create_engine(url)
    services = Services.build(settings, create_session_factory(engine))
    bot = create_bot(settings, TOKEN)
    app = create_web_app(services, bot)

    async def bare(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/bare", bare)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    header = {"Authorization": "tma " + init_data(TOKEN, MANAGER, "Анна", datetime.now(UTC))}
    figures: dict[str, float] = {}
    try:
        async with ClientSession(str(server.make_url(""))) as http:
            for name, method, target, times in (
                ("bare", "GET", "/bare", 200),
                ("me", "GET", "/app/api/me", 100),
                ("list", "GET", "/app/api/cases", 10),
                ("card", "GET", "/app/api/cases/7", 50),
                ("figures", "GET", "/app/api/figures?period=30d", 10),
            ):
                figures[name] = await median_ms(http, method, target, times, headers=header)
            takes = []
            for case_id in range(11, 31):
                started = time.perf_counter()
                async with http.post(f"/app/api/cases/{case_id}/take", headers=header) as reply:
                    assert reply.status == 200, await reply.text()
                takes.append((time.perf_counter() - started) * 1000)
            figures["take"] = statistics.median(takes)
    finally:
        await server.close()
        await bot.session.close()
        await engine.dispose()
        await telegram.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=500, help="open cases on the board")
    parser.add_argument("--surveys", type=int, default=20_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "board.db"

        async def migrate() -> None:
            engine = create_engine(f"sqlite+aiosqlite:///{path}")
            await upgrade(engine)
            await engine.dispose()

        asyncio.run(migrate())
        generate(path, args.surveys, 50)
        seed_cases(path, args.open)
        got = asyncio.run(run(path, args.open))
    bare = got["bare"]

    def part(name: str, what: str) -> str:
        return f"{what} {got[name]:.1f} ms ({got[name] / bare:.0f}x)"

    record(
        f"board (load {os.getloadavg()[0]:.1f}): {args.surveys} surveys, {args.open} open "
        f"cases, medians on loopback against a bare aiohttp JSON answer ({bare:.2f} ms): "
        + ", ".join(
            (
                part("me", "initData check + staff + words"),
                part("list", f"the list of {args.open} open cases"),
                part("card", "one case's card"),
                part("figures", "the 30-day figures"),
                part("take", "a take (use case, commit, outbox)"),
            )
        ),
        keep=not args.no_record,
    )


if __name__ == "__main__":
    main()
