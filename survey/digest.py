"""The weekly report to management: which week is due, and what it says.

Every week at DIGEST_AT (a weekday and a time in TIMEZONE; Monday 09:00 by default) the
last full week, Monday to Sunday, is summed up for DIGEST_TO (the admins by default):
invited / completed / response rate, CSI against the previous week and the mean of the
four weeks before, the three questions with the most problems, the advisors whose CSI
fell, the cases still open and those past their SLA with their owners. A week is claimed
once in the database, so several instances or a restart never send it twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from survey.metrics import QuestionFigures
from survey.periods import Period
from survey.report import Report

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_AT = re.compile(r"^\s*(mon|tue|wed|thu|fri|sat|sun)\w*\s+(\d{1,2}):(\d{2})\s*$", re.IGNORECASE)
_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
TOP_PROBLEMS = 3


class DigestError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DigestPolicy:
    """When the weekly report goes out (None: never) and to whom (empty: the admins)."""

    weekday: int | None = 0
    at: time = time(9, 0)
    recipients: tuple[int, ...] = ()


def parse_digest_at(text: str) -> tuple[int | None, time]:
    """ "mon 09:00" (any weekday's first three letters), or "off"."""
    if text.strip().lower() == "off":
        return None, time(9, 0)
    match = _AT.match(text)
    if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise DigestError(f"{text!r} is not a weekday and a time like 'mon 09:00', or 'off'")
    return WEEKDAYS.index(match.group(1).lower()), time(int(match.group(2)), int(match.group(3)))


def week_of(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def parse_week(text: str) -> Period:
    """An ISO week: 2026-W47 (Monday 16.11 to Sunday 22.11.2026)."""
    match = _WEEK.match(text)
    if not match:
        raise DigestError(f"{text!r} is not a week like 2026-W47")
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as error:
        raise DigestError(f"{text!r}: there is no such week") from error
    return week_of(monday)


def week_label(week: Period) -> str:
    assert week.first is not None
    year, number, _day = week.first.isocalendar()
    return f"{year}-W{number:02d}"


def due_week(local_now: datetime, policy: DigestPolicy) -> Period | None:
    """The week whose report is due now: the last full week, once this week's sending
    time has come (a bot that was down at that moment sends it when it is back)."""
    if policy.weekday is None:
        return None
    this_week = week_of(local_now.date())
    assert this_week.first is not None
    sending = datetime.combine(
        this_week.first + timedelta(days=policy.weekday), policy.at, local_now.tzinfo
    )
    if local_now < sending:
        return None
    return week_of(this_week.first - timedelta(days=7))


def previous(week: Period, weeks: int = 1) -> Period:
    """The `weeks` weeks just before this one, as one period."""
    assert week.first is not None
    return Period(week.first - timedelta(days=7 * weeks), week.first - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class AdvisorChange:
    advisor: str
    csi: float
    completed: int
    before: float


@dataclass(frozen=True, slots=True)
class OverdueCase:
    case_id: int
    customer: str
    owner: str | None
    # "take": nobody took it in time; "resolve": its owner has not resolved it in time.
    late: str


@dataclass(frozen=True, slots=True)
class Digest:
    week: Report
    previous_week: Report
    four_weeks: Report
    open_cases: int
    overdue: list[OverdueCase]

    @property
    def csi_change(self) -> float | None:
        """Points against the previous week."""
        if self.week.csi is None or self.previous_week.csi is None:
            return None
        return self.week.csi - self.previous_week.csi

    @property
    def csi_against_four_weeks(self) -> float | None:
        if self.week.csi is None or self.four_weeks.csi is None:
            return None
        return self.week.csi - self.four_weeks.csi

    @property
    def top_problems(self) -> list[QuestionFigures]:
        """The questions with the largest problem share, largest count first on a tie."""
        answered = [q for q in self.week.questions if q.problems]
        ranked = sorted(answered, key=lambda q: (-(q.problem_share or 0), -q.problems, q.question))
        return ranked[:TOP_PROBLEMS]

    @property
    def falling_advisors(self) -> list[AdvisorChange]:
        """Advisors whose CSI this week is below their CSI over the four weeks before."""
        before = {
            row.advisor: row.csi_mean_score
            for row in self.four_weeks.advisors
            if row.csi_mean_score is not None
        }
        falling = [
            AdvisorChange(
                row.advisor, row.csi_mean_score * 100, row.completed, before[row.advisor] * 100
            )
            for row in self.week.advisors
            if row.csi_mean_score is not None
            and row.advisor in before
            and row.csi_mean_score < before[row.advisor]
        ]
        return sorted(falling, key=lambda change: change.csi - change.before)
