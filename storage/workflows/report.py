"""Collecting a period's figures from the database into one Report."""

from __future__ import annotations

from datetime import UTC, date, tzinfo

from storage.reports import ReportRepository
from survey.deadlines import manager_figures
from survey.metrics import Segment, csi
from survey.periods import Period
from survey.report import Report, month_start, roll_up, week_start


async def build_report(repository: ReportRepository, period: Period, zone: tzinfo = UTC) -> Report:
    """Two grouped passes over the surveys' report facts (by advisor, by day), the median
    completion time from the stored seconds, and the period's cases."""
    first, last = period.first, period.last
    figures = await repository.survey_figures(first, last)
    days = await repository.by_day(first, last)
    return Report(
        period=period,
        funnel=figures.funnel,
        csi=csi(figures.mean_score),
        csi_surveys=figures.funnel.completed,
        median_completion_seconds=await repository.median_completion_seconds(
            first, last, figures.timed
        ),
        questions=figures.questions,
        escalations=await repository.escalations(first, last, zone),
        advisors=figures.advisors,
        weeks=roll_up(days, week_start),
        months=roll_up(days, month_start),
        managers=manager_figures(await repository.handled_cases(first, last, zone)),
        channels=figures.channels,
    )


async def segment_counts(
    repository: ReportRepository, today: date, csi_threshold: float, repeat_at: int
) -> dict[Segment, int]:
    return await repository.segment_counts(today, csi_threshold, repeat_at)
