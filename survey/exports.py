"""Files for people: the call list for the call centre, and the survey export (answers,
summary, advisors, trend, segments) as XLSX or CSV. Fed plain rows, never a session; rows
are streamed into a write-only workbook, so memory stays flat however long the period."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import IO, Any

from survey.metrics import SEGMENT_NAMES, STRATEGIES, Segment
from survey.questionnaire import QUESTION_COUNT, decode_answers, question
from survey.report import Report

# A cell that starts with one of these is a formula to a spreadsheet (or becomes one when
# edited). Every cell this program writes goes through `_Sheet` or `_CsvWriter`, so text a
# customer, an import or staff typed is always written as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


class _CsvWriter:
    """csv.writer whose formula-like cells get a leading apostrophe (shown as text)."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out)

    def writerow(self, values: Iterable[object]) -> None:
        self._writer.writerow([f"'{v}" if formula_like(v) else v for v in values])


class _Sheet:
    """A write-only worksheet whose formula-like cells are written as string cells."""

    def __init__(self, book: Any, title: str) -> None:
        self._sheet = book.create_sheet(title)

    def append(self, values: Iterable[object]) -> None:
        from openpyxl.cell import WriteOnlyCell

        row: list[object] = []
        for value in values:
            if formula_like(value):
                cell = WriteOnlyCell(self._sheet, value=value)
                cell.data_type = "s"  # openpyxl would store "=..." as a formula
                value = cell
            row.append(value)
        self._sheet.append(row)


COLUMNS = ("name", "phone", "car", "order_no", "visit_date", "reason")
REASONS_RU = {
    "no_telegram": "нет Telegram",
    "blocked": "заблокировал бота",
    "expired": "не ответил на опрос",
    "uncertain": "не знаем, дошло ли приглашение",
}


def _row(entry: dict[str, Any]) -> list[str]:
    values = dict(entry)
    values["visit_date"] = entry["visit_date"].isoformat()
    values["reason"] = REASONS_RU.get(entry["reason"], entry["reason"])
    return [str(values[column]) for column in COLUMNS]


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV file for people: every CSV this program writes goes through here."""
    buffer = io.StringIO()
    writer = _CsvWriter(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    # A BOM so that Excel opens the Cyrillic correctly.
    return buffer.getvalue().encode("utf-8-sig")


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    return csv_bytes(COLUMNS, (_row(entry) for entry in rows))


LINK_COLUMNS = (
    "order_no",
    "visit_date",
    "customer_name",
    "phone",
    "car",
    "advisor",
    "status",
    "link",
)


def as_xlsx(rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook  # imported here: it pulls in numpy, ~30 MB held for good

    book = Workbook(write_only=True)
    sheet = _Sheet(book, "call list")
    sheet.append(list(COLUMNS))
    for entry in rows:
        sheet.append(_row(entry))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the survey export ----------------------------------------------------------------------

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


def answer_row(row: tuple[Any, ...]) -> list[Any]:
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


async def write_answers_csv(rows: AsyncIterable[tuple[Any, ...]], out: IO[str]) -> int:
    writer = _CsvWriter(out)
    writer.writerow(ANSWER_HEADER)
    count = 0
    async for row in rows:
        writer.writerow(answer_row(row))
        count += 1
    return count


async def write_xlsx(
    rows: AsyncIterable[tuple[Any, ...]],
    report: Report,
    segments: Mapping[Segment, int],
    out: IO[bytes],
) -> int:
    from openpyxl import Workbook  # on first use: it pulls in numpy

    book = Workbook(write_only=True)
    answers = _Sheet(book, "answers")
    answers.append(ANSWER_HEADER)
    count = 0
    async for row in rows:
        answers.append(answer_row(row))
        count += 1
    _summary_sheet(book, report)
    _advisor_sheet(book, report)
    _trend_sheet(book, report)
    sheet = _Sheet(book, "segments")
    sheet.append(["segment", "customers", "strategy"])
    for segment, customers in segments.items():
        sheet.append([SEGMENT_NAMES[segment]["ru"], customers, STRATEGIES[segment]["ru"]])
    book.save(out)
    return count


def _percent(value: float | None) -> float | str:
    return "" if value is None else round(value * 100, 1)


def _summary_sheet(book: Any, report: Report) -> None:
    sheet = _Sheet(book, "summary")
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


def _advisor_sheet(book: Any, report: Report) -> None:
    sheet = _Sheet(book, "advisors")
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


def _trend_sheet(book: Any, report: Report) -> None:
    """Completed surveys and CSI per week and per month (by visit date), with counts."""
    sheet = _Sheet(book, "trend")
    sheet.append(["period", "starts", "completed surveys", "CSI"])
    for label, rows in (("week", report.weeks), ("month", report.months)):
        for start, count, score in rows:
            sheet.append([label, start.isoformat(), count, _percent(score)])


def _hours(seconds: float | None) -> float | str:
    return "" if seconds is None else round(seconds / 3600, 1)
