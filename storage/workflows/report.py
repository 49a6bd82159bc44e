"""Collecting a period's figures from the database into one Report."""

from __future__ import annotations

from datetime import date

from storage.reports import ReportRepository
from survey.metrics import Segment, csi
from survey.periods import Period
from survey.report import Report, month_start, roll_up, week_start


async def build_report(repository: ReportRepository, period: Period) -> Report:
    first, last = period.first, period.last
    mean_score, surveys = await repository.csi_mean_score(first, last)
    days = await repository.by_day(first, last)
    questions, advisor_answers = await repository.answer_figures(first, last)
    return Report(
        period=period,
        funnel=await repository.funnel(first, last),
        csi=csi(mean_score),
        csi_surveys=surveys,
        median_completion_seconds=await repository.median_completion_seconds(first, last),
        questions=questions,
        escalations=await repository.escalations(first, last),
        advisors=await repository.by_advisor(first, last, advisor_answers),
        weeks=roll_up(days, week_start),
        months=roll_up(days, month_start),
    )


async def segment_counts(
    repository: ReportRepository, today: date, csi_threshold: float, repeat_at: int
) -> dict[Segment, int]:
    return await repository.segment_counts(today, csi_threshold, repeat_at)
