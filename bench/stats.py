"""Statistics and export speed on a large SQLite database.

    python -m bench.stats [--surveys 100000] [--advisors 500]

Generates completed surveys (12 answers each) over the last year, then times the /stats
figures for 30 days and for all time (queries, and the three charts), and runs
`followup-bot export` for all time in a child process to measure its peak memory.
Appends a line to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bench import record
from bot.commands import in_language
from handlers.views import charts
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.reports import ReportRepository
from storage.workflows.report import build_report
from survey.metrics import survey_score
from survey.periods import Period
from survey.questionnaire import QUESTIONS, advisor_ratings, answer_counts, encode_answers

TODAY = date.today()


def answer(q_number: int, rng: random.Random) -> str:
    q = QUESTIONS[q_number - 1]
    if q.kind.value == "rating":
        return rng.choices("12345", weights=(3, 4, 10, 30, 53))[0]
    good, bad, unsure = q.values
    return rng.choices((good, bad, unsure), weights=(80, 15, 5))[0]


def generate(path: Path, surveys: int, advisors: int) -> None:
    rng = random.Random(7)
    stamp = "2026-01-01 00:00:00.000000"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    customers = max(surveys * 6 // 10, 1)
    db.executemany(
        "INSERT INTO customers (id, name, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        ((n, f"Клиент {n}", f"+7950{n:07d}", stamp, stamp) for n in range(1, customers + 1)),
    )
    visits, rows, answers = [], [], []
    for n in range(1, surveys + 1):
        day = TODAY - timedelta(days=rng.randrange(365))
        advisor = f"Мастер {rng.randrange(advisors)}"
        visits.append(
            (
                n,
                f"ZN{n:07d}",
                day.isoformat(),
                "Kia Rio",
                advisor,
                rng.randrange(1, customers + 1),
                stamp,
                stamp,
            )
        )
        invited = datetime.combine(day, datetime.min.time()) + timedelta(days=1, hours=10)
        values = {q.number: answer(q.number, rng) for q in QUESTIONS}
        done = invited + timedelta(minutes=rng.randrange(5, 3000))
        rows.append(
            (
                n,
                n,
                f"t{n}",
                "completed",
                15,
                stamp,
                invited.strftime("%Y-%m-%d %H:%M:%S.000000"),
                invited.strftime("%Y-%m-%d %H:%M:%S.000000"),
                done.strftime("%Y-%m-%d %H:%M:%S.000000"),
                stamp,
                survey_score(values),
                encode_answers(values),
                day.isoformat(),
                advisor,
                (done - invited).total_seconds(),
                *answer_counts(values),
                *advisor_ratings(values),
            )
        )
        for q in QUESTIONS:
            value = values[q.number]
            answers.append((n, q.number, value, q.score(value), q.is_problem(value), stamp))
    db.executemany(
        "INSERT INTO visits (id, order_no, visit_date, car, advisor, customer_id, created_at,"
        " updated_at) VALUES (?,?,?,?,?,?,?,?)",
        visits,
    )
    db.executemany(
        "INSERT INTO surveys (id, visit_id, token, status, step, created_at, invited_at,"
        " started_at, completed_at, updated_at, score, answer_codes, visit_date, advisor,"
        " completion_seconds, answered_count, problem_count, friendliness, responsiveness)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.executemany(
        "INSERT INTO answers (survey_id, question, value, score, is_problem, answered_at)"
        " VALUES (?,?,?,?,?,?)",
        answers,
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def measure(url: str) -> dict[str, float]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    figures: dict[str, float] = {"load": os.getloadavg()[0]}  # as the timings start
    try:
        for name, period in (
            ("30d", Period(TODAY - timedelta(days=29), TODAY)),
            ("all", Period(None, TODAY)),
        ):
            # The best of three: the first also pays for reading the file into the cache,
            # and on a busy machine any one run may lose the CPU for a while.
            times = []
            for _ in range(3):
                async with sessions() as session:
                    started = time.perf_counter()
                    report = await build_report(ReportRepository(session), period)
                    times.append(time.perf_counter() - started)
            figures[f"stats_{name}"] = min(times)
            started = time.perf_counter()
            with in_language("ru"):  # the charts' texts come from the catalogues
                charts.all_charts(report, "ru")
            figures[f"charts_{name}"] = time.perf_counter() - started
            figures[f"surveys_{name}"] = report.csi_surveys
    finally:
        await engine.dispose()
    return figures


async def migrate(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--surveys", type=int, default=100_000)
    parser.add_argument("--advisors", type=int, default=500)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stats.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(migrate(url))
        started = time.perf_counter()
        generate(path, args.surveys, args.advisors)
        generated = time.perf_counter() - started
        figures = asyncio.run(measure(url))

        out = Path(folder) / "export.xlsx"
        started = time.perf_counter()
        # The child reports its own peak (VmHWM, kB): rusage's maxrss would also count the
        # fork of this large process from before the exec.
        probe = (
            "import sys; from bot.cli import main; code = main(sys.argv[1:]); "
            "print('PEAK', next(line.split()[1] for line in open('/proc/self/status') "
            "if line.startswith('VmHWM'))); sys.exit(code)"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe, "export", "--period", "all", "--out", str(out)],
            check=True,
            env={**os.environ, "DATABASE_URL": url},
            cwd=folder,
            capture_output=True,
            text=True,
        )
        export_seconds = time.perf_counter() - started
        peak_kb = next(
            int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("PEAK")
        )
        export_peak_mb = peak_kb / 1024
        export_mb = out.stat().st_size / 1e6

    line = (
        f"stats (load {figures['load']:.1f}): {args.surveys} completed surveys "
        f"({args.surveys * 12} answers), "
        f"{args.advisors} advisors "
        f"(generated in {generated:.0f} s): /stats figures (best of 3) "
        f"30d {figures['stats_30d']:.2f} s "
        f"({figures['surveys_30d']:.0f} surveys), all time {figures['stats_all']:.2f} s; "
        f"charts 30d {figures['charts_30d']:.2f} s, all {figures['charts_all']:.2f} s; "
        f"XLSX export all time {export_seconds:.1f} s, {export_mb:.1f} MB file, "
        f"peak RSS of the export process {export_peak_mb:.0f} MB"
    )
    record(line, keep=not args.no_record)


if __name__ == "__main__":
    main()
