"""A period's figures in one object: what /stats, the charts and the exports show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from survey.deadlines import ManagerFigures
from survey.metrics import Escalations, Funnel, QuestionFigures
from survey.periods import Period


@dataclass(frozen=True, slots=True)
class AdvisorRow:
    advisor: str
    completed: int
    csi_mean_score: float | None
    friendliness: float | None
    responsiveness: float | None
    problems: int
    answered: int


@dataclass
class AdvisorAnswers:
    """An advisor's answers in a period, summed from the per-question groups."""

    answered: int = 0
    problems: int = 0
    rating_sums: dict[int, float] = field(default_factory=dict)
    rating_counts: dict[int, int] = field(default_factory=dict)

    def add(
        self, question: int, answered: int, problems: int, rating_sum: float, ratings: int
    ) -> None:
        self.answered += answered
        self.problems += problems
        if ratings:
            self.rating_sums[question] = self.rating_sums.get(question, 0.0) + rating_sum
            self.rating_counts[question] = self.rating_counts.get(question, 0) + ratings

    def mean_rating(self, question: int) -> float | None:
        count = self.rating_counts.get(question, 0)
        return self.rating_sums[question] / count if count else None


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    completed: int
    score_sum: float


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    funnel: Funnel
    csi: float | None
    csi_surveys: int
    median_completion_seconds: float | None
    questions: list[QuestionFigures]
    escalations: Escalations
    advisors: list[AdvisorRow]
    weeks: list[tuple[date, int, float | None]]
    months: list[tuple[date, int, float | None]]
    # Each manager's deadlines (survey.deadlines), by name.
    managers: list[ManagerFigures] = field(default_factory=list)
    # The funnel per channel (telegram, phone), Telegram first.
    channels: dict[str, Funnel] = field(default_factory=dict)

    def rating_mean(self, question: int) -> float | None:
        return self.questions[question - 1].mean_rating


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def roll_up(days: list[DayRow], key: Any) -> list[tuple[date, int, float | None]]:
    """Days -> (period start, completed, mean survey score) per week or month."""
    totals: dict[date, list[float]] = {}
    for row in days:
        bucket = totals.setdefault(key(row.day), [0, 0.0])
        bucket[0] += row.completed
        bucket[1] += row.score_sum
    return [
        (start, int(count), (total / count) if count else None)
        for start, (count, total) in sorted(totals.items())
    ]
