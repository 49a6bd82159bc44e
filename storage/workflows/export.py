"""The survey export: answers streamed from the database, the period's report and its
loyalty segments, handed to the writers in survey/exports.py."""

from __future__ import annotations

from datetime import date
from typing import IO
from zoneinfo import ZoneInfo

from storage.reports import ReportRepository
from storage.workflows.report import build_report, segment_counts
from survey.exports import write_answers_csv, write_xlsx
from survey.periods import Period


async def export_csv(
    reports: ReportRepository, period: Period, out: IO[str], *, locale: str, zone: ZoneInfo
) -> int:
    """The period's answers, one survey a row; returns how many."""
    rows = reports.answer_rows(period.first, period.last)
    return await write_answers_csv(rows, out, locale, zone)


async def export_xlsx(
    reports: ReportRepository,
    period: Period,
    out: IO[bytes],
    *,
    today: date,
    csi_threshold: float,
    repeat_at: int,
    locale: str,
    zone: ZoneInfo,
    period_title: str,
) -> int:
    """Summary, answers, advisors, trend and segments; returns how many surveys."""
    report = await build_report(reports, period, zone)
    segments = await segment_counts(reports, today, csi_threshold, repeat_at)
    rows = reports.answer_rows(period.first, period.last)
    return await write_xlsx(
        rows, report, segments, out, locale=locale, zone=zone, period_title=period_title
    )
