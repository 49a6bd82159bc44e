"""Exports: XLSX with raw answers, summary, advisors and loyalty segments; or raw CSV.

Rows are streamed from the database into a write-only workbook, so memory stays flat
however many surveys the period holds.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import date
from typing import IO, Any

from openpyxl import Workbook

from storage.reports import ReportRepository
from storage.workflows.report import Report, build_report, segment_counts
from survey.metrics import SEGMENT_NAMES, STRATEGIES
from survey.periods import Period
from survey.questionnaire import QUESTION_COUNT, decode_answers, question

VALUE_WORDS = {"yes": "да", "no": "нет", "unsure": "не помню"}
ANSWER_HEADER = [
    "order_no",
    "visit_date",
    "advisor",
    "car",
    "status",
    "completed_at",
    "csi",
    *[f"Q{n} {question(n).short['ru']}" for n in range(1, QUESTION_COUNT + 1)],
    "comment",
    "wants_contact",
]


def _answer_row(row: tuple[Any, ...]) -> list[Any]:
    order_no, visit_date, advisor, car, status, completed_at, score, codes, comment, wants = row
    given = decode_answers(codes)
    answers = [given.get(n) for n in range(1, QUESTION_COUNT + 1)]
    return [
        order_no,
        visit_date.isoformat(),
        advisor,
        car,
        status,
        completed_at.strftime("%Y-%m-%d %H:%M") if completed_at else "",
        round(score * 100, 1) if score is not None and status == "completed" else "",
        *[VALUE_WORDS.get(value, value) if value else "" for value in answers],
        comment or "",
        {True: "да", False: "нет"}.get(wants, ""),
    ]


async def _answers(reports: ReportRepository, period: Period) -> AsyncIterator[list[Any]]:
    async for row in reports.answer_rows(period.first, period.last):
        yield _answer_row(row)


async def write_csv(reports: ReportRepository, period: Period, out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(ANSWER_HEADER)
    count = 0
    async for row in _answers(reports, period):
        writer.writerow(row)
        count += 1
    return count


async def write_xlsx(
    reports: ReportRepository,
    period: Period,
    out: IO[bytes],
    *,
    today: date,
    csi_threshold: float,
    repeat_at: int,
) -> int:
    book = Workbook(write_only=True)
    answers = book.create_sheet("answers")
    answers.append(ANSWER_HEADER)
    count = 0
    async for row in _answers(reports, period):
        answers.append(row)
        count += 1
    report = await build_report(reports, period)
    _summary_sheet(book, report)
    _advisor_sheet(book, report)
    _trend_sheet(book, report)
    segments = book.create_sheet("segments")
    segments.append(["segment", "customers", "strategy"])
    for segment, customers in (
        await segment_counts(reports, today, csi_threshold, repeat_at)
    ).items():
        segments.append([SEGMENT_NAMES[segment]["ru"], customers, STRATEGIES[segment]["ru"]])
    book.save(out)
    return count


def _percent(value: float | None) -> float | str:
    return "" if value is None else round(value * 100, 1)


def _summary_sheet(book: Workbook, report: Report) -> None:
    sheet = book.create_sheet("summary")
    funnel, cases = report.funnel, report.escalations
    for name, value in (
        ("period", report.period.label()),
        ("invited", funnel.invited),
        ("started", funnel.started),
        ("completed", funnel.completed),
        ("response rate, %", _percent(funnel.response_rate)),
        ("CSI", "" if report.csi is None else round(report.csi, 1)),
        ("median hours from invitation to completion", _hours(report.median_completion_seconds)),
        ("cases opened", cases.opened),
        ("cases taken within SLA", cases.taken_within_sla),
        ("cases resolved", cases.resolved),
        ("median hours to take a case", _hours(cases.median_take_seconds)),
        ("median hours to resolve a case", _hours(cases.median_resolve_seconds)),
    ):
        sheet.append([name, value])
    sheet.append([])
    sheet.append(
        [
            "question",
            "answered",
            "problem answers",
            "problem share, %",
            "don't remember",
            "mean rating",
        ]
    )
    for q in report.questions:
        sheet.append(
            [
                f"Q{q.question} {question(q.question).short['ru']}",
                q.answered,
                q.problems,
                _percent(q.problem_share),
                q.unsure,
                "" if q.mean_rating is None else round(q.mean_rating, 2),
            ]
        )


def _advisor_sheet(book: Workbook, report: Report) -> None:
    sheet = book.create_sheet("advisors")
    sheet.append(
        [
            "advisor",
            "completed surveys",
            "CSI",
            "Q11 friendliness",
            "Q12 responsiveness",
            "problem share, %",
        ]
    )
    for row in report.advisors:
        sheet.append(
            [
                row.advisor,
                row.completed,
                _percent(row.csi_mean_score),
                "" if row.friendliness is None else round(row.friendliness, 2),
                "" if row.responsiveness is None else round(row.responsiveness, 2),
                _percent(row.problems / row.answered if row.answered else None),
            ]
        )


def _trend_sheet(book: Workbook, report: Report) -> None:
    """Completed surveys and CSI per week and per month (by visit date), with counts."""
    sheet = book.create_sheet("trend")
    sheet.append(["period", "starts", "completed surveys", "CSI"])
    for label, rows in (("week", report.weeks), ("month", report.months)):
        for start, count, score in rows:
            sheet.append([label, start.isoformat(), count, _percent(score)])


def _hours(seconds: float | None) -> float | str:
    return "" if seconds is None else round(seconds / 3600, 1)
