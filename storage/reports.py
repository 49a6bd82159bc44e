"""Report figures as SQL aggregates (GROUP BY and conditional counts), portable between
SQLite and PostgreSQL; nothing loads every answer into Python."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Float, Integer, Select, and_, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Answer, Case, Customer, Survey, Visit
from survey.dialogue import SurveyStatus
from survey.metrics import (
    Escalations,
    Funnel,
    QuestionFigures,
    Segment,
    median,
    middle_offset,
)
from survey.questionnaire import QUESTION_COUNT


def _seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[float]:
    """The one dialect-specific expression: elapsed seconds between two timestamps."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def _count_if(condition: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True, slots=True)
class AdvisorRow:
    advisor: str
    completed: int
    csi_mean_score: float | None
    friendliness: float | None
    responsiveness: float | None
    problems: int
    answered: int


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    completed: int
    score_sum: float


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    @staticmethod
    def _in_period(first: date | None, last: date) -> ColumnElement[bool]:
        if first is None:
            return Visit.visit_date <= last
        return Visit.visit_date.between(first, last)

    async def funnel(self, first: date | None, last: date) -> Funnel:
        reached = Survey.invited_at.is_not(None) | Survey.started_at.is_not(None)
        row = (
            await self._session.execute(
                select(
                    _count_if(reached),
                    _count_if(Survey.started_at.is_not(None)),
                    _count_if(Survey.status == SurveyStatus.COMPLETED),
                )
                .select_from(Survey)
                .join(Survey.visit)
                .where(self._in_period(first, last))
            )
        ).one()
        return Funnel(invited=int(row[0]), started=int(row[1]), completed=int(row[2]))

    async def questions(self, first: date | None, last: date) -> list[QuestionFigures]:
        """Per question, over every recorded answer (unfinished surveys included)."""
        rating = case((Answer.question >= 11, cast(Answer.value, Integer)), else_=None)
        rows = await self._session.execute(
            select(
                Answer.question,
                _count_if(Answer.value != "unsure"),
                _count_if(Answer.is_problem),
                _count_if(Answer.value == "unsure"),
                func.avg(rating),
            )
            .join(Survey, Survey.id == Answer.survey_id)
            .join(Survey.visit)
            .where(self._in_period(first, last))
            .group_by(Answer.question)
        )
        found = {
            int(q): QuestionFigures(
                int(q), int(a), int(p), int(u), None if m is None else float(m)
            )
            for q, a, p, u, m in rows.all()
        }
        return [
            found.get(number, QuestionFigures(number, 0, 0, 0, None))
            for number in range(1, QUESTION_COUNT + 1)
        ]

    def _survey_scores(self, first: date | None, last: date) -> Select[Any]:
        """One row per completed survey: its score (mean of its answers' scores)."""
        return (
            select(
                Survey.id.label("survey_id"),
                Visit.visit_date.label("visit_date"),
                Visit.advisor.label("advisor"),
                func.avg(Answer.score).label("score"),
            )
            .join(Survey.visit)
            .join(Answer, Answer.survey_id == Survey.id)
            .where(Survey.status == SurveyStatus.COMPLETED, self._in_period(first, last))
            .group_by(Survey.id, Visit.visit_date, Visit.advisor)
        )

    async def csi_mean_score(self, first: date | None, last: date) -> tuple[float | None, int]:
        scores = self._survey_scores(first, last).subquery()
        row = (await self._session.execute(select(func.avg(scores.c.score), func.count()))).one()
        return (None if row[0] is None else float(row[0])), int(row[1])

    async def median_completion_seconds(self, first: date | None, last: date) -> float | None:
        elapsed = _seconds_between(Survey.completed_at, Survey.invited_at, self._dialect)
        query = (
            select(elapsed)
            .join(Survey.visit)
            .where(
                Survey.status == SurveyStatus.COMPLETED,
                Survey.invited_at.is_not(None),
                self._in_period(first, last),
            )
        )
        return await self._median(query, elapsed)

    async def _median(self, query: Select[Any], value: ColumnElement[float]) -> float | None:
        count = await self._session.scalar(select(func.count()).select_from(query.subquery()))
        if not count:
            return None
        offset, take = middle_offset(int(count))
        middle = (
            await self._session.scalars(query.order_by(value).offset(offset).limit(take))
        ).all()
        return median([float(v) for v in middle])

    async def escalations(self, first: date | None, last: date) -> Escalations:
        in_period = and_(Case.survey_id == Survey.id, self._in_period(first, last))
        base = select(Case).join(Survey, Survey.id == Case.survey_id).join(Survey.visit)
        row = (
            await self._session.execute(
                select(
                    func.count(),
                    _count_if(Case.taken_at.is_not(None)),
                    _count_if(Case.taken_at.is_not(None) & (Case.taken_at <= Case.take_due_at)),
                    _count_if(Case.status == "resolved"),
                )
                .select_from(Case)
                .join(Survey, in_period)
                .join(Survey.visit)
            )
        ).one()
        take = _seconds_between(Case.taken_at, Case.created_at, self._dialect)
        resolve = _seconds_between(Case.resolved_at, Case.created_at, self._dialect)
        period = self._in_period(first, last)
        median_take = await self._median(
            base.with_only_columns(take).where(period, Case.taken_at.is_not(None)), take
        )
        median_resolve = await self._median(
            base.with_only_columns(resolve).where(period, Case.resolved_at.is_not(None)), resolve
        )
        return Escalations(
            opened=int(row[0]),
            taken=int(row[1]),
            taken_within_sla=int(row[2]),
            resolved=int(row[3]),
            median_take_seconds=median_take,
            median_resolve_seconds=median_resolve,
        )

    async def by_advisor(self, first: date | None, last: date) -> list[AdvisorRow]:
        scores = self._survey_scores(first, last).subquery()
        per_advisor = (
            select(
                scores.c.advisor,
                func.count().label("completed"),
                func.avg(scores.c.score).label("score"),
            )
            .group_by(scores.c.advisor)
            .subquery()
        )
        rating = cast(Answer.value, Float)
        answers = (
            select(
                Visit.advisor.label("advisor"),
                func.avg(case((Answer.question == 11, rating), else_=None)).label("q11"),
                func.avg(case((Answer.question == 12, rating), else_=None)).label("q12"),
                _count_if(Answer.is_problem).label("problems"),
                _count_if(Answer.value != "unsure").label("answered"),
            )
            .join(Survey, Survey.id == Answer.survey_id)
            .join(Survey.visit)
            .where(self._in_period(first, last))
            .group_by(Visit.advisor)
            .subquery()
        )
        rows = await self._session.execute(
            select(
                answers.c.advisor,
                func.coalesce(per_advisor.c.completed, 0),
                per_advisor.c.score,
                answers.c.q11,
                answers.c.q12,
                answers.c.problems,
                answers.c.answered,
            )
            .outerjoin(per_advisor, per_advisor.c.advisor == answers.c.advisor)
            .order_by(func.coalesce(per_advisor.c.completed, 0).desc(), answers.c.advisor)
        )
        return [
            AdvisorRow(
                advisor=a,
                completed=int(c),
                csi_mean_score=None if s is None else float(s),
                friendliness=None if f is None else float(f),
                responsiveness=None if r is None else float(r),
                problems=int(p),
                answered=int(n),
            )
            for a, c, s, f, r, p, n in rows.all()
        ]

    async def by_day(self, first: date | None, last: date) -> list[DayRow]:
        """Completed surveys and their score sums per visit day (rolled up to weeks later)."""
        scores = self._survey_scores(first, last).subquery()
        rows = await self._session.execute(
            select(scores.c.visit_date, func.count(), func.sum(scores.c.score))
            .group_by(scores.c.visit_date)
            .order_by(scores.c.visit_date)
        )
        return [DayRow(d, int(c), float(s or 0)) for d, c, s in rows.all()]

    # --- loyalty segments ----------------------------------------------------------------

    def _customer_standing(self, today: date) -> Select[Any]:
        """Per customer: the latest completed survey's score and visits in the last year."""
        scores = (
            select(
                Visit.customer_id.label("customer_id"),
                Survey.completed_at.label("completed_at"),
                func.avg(Answer.score).label("score"),
            )
            .join(Survey.visit)
            .join(Answer, Answer.survey_id == Survey.id)
            .where(Survey.status == SurveyStatus.COMPLETED)
            .group_by(Survey.id, Visit.customer_id, Survey.completed_at)
            .subquery()
        )
        ranked = select(
            scores.c.customer_id,
            scores.c.score,
            func.row_number()
            .over(partition_by=scores.c.customer_id, order_by=scores.c.completed_at.desc())
            .label("rank"),
        ).subquery()
        visits = (
            select(Visit.customer_id.label("customer_id"), func.count().label("visits"))
            .where(Visit.visit_date > today - timedelta(days=365))
            .group_by(Visit.customer_id)
            .subquery()
        )
        return (
            select(
                ranked.c.customer_id,
                (ranked.c.score * 100).label("csi"),
                func.coalesce(visits.c.visits, 0).label("visits"),
            )
            .outerjoin(visits, visits.c.customer_id == ranked.c.customer_id)
            .where(ranked.c.rank == 1)
        )

    @staticmethod
    def _segment_of(standing: Any, csi_threshold: float, repeat_at: int) -> ColumnElement[str]:
        satisfied = standing.c.csi >= csi_threshold
        returning = standing.c.visits >= repeat_at
        return case(
            (and_(satisfied, returning), literal(Segment.TRUE.value)),
            (satisfied, literal(Segment.LATENT.value)),
            (returning, literal(Segment.SPURIOUS.value)),
            else_=literal(Segment.NONE.value),
        )

    async def segment_counts(
        self, today: date, csi_threshold: float, repeat_at: int
    ) -> dict[Segment, int]:
        standing = self._customer_standing(today).subquery()
        segment = self._segment_of(standing, csi_threshold, repeat_at)
        rows = await self._session.execute(select(segment, func.count()).group_by(segment))
        counts = dict.fromkeys(Segment, 0)
        counts.update({Segment(name): int(count) for name, count in rows.all()})
        return counts

    async def segment_members(
        self, segment: Segment, today: date, csi_threshold: float, repeat_at: int, limit: int = 50
    ) -> Sequence[tuple[Customer, float, int]]:
        standing = self._customer_standing(today).subquery()
        rows = await self._session.execute(
            select(Customer, standing.c.csi, standing.c.visits)
            .join(standing, standing.c.customer_id == Customer.id)
            .where(
                self._segment_of(standing, csi_threshold, repeat_at) == segment.value,
                Customer.erased_at.is_(None),
            )
            .order_by(standing.c.csi, Customer.id)
            .limit(limit)
        )
        return [(c, float(csi), int(v)) for c, csi, v in rows.all()]

    # --- raw answers for export ------------------------------------------------------------

    async def answer_rows(self, first: date | None, last: date) -> AsyncIterator[tuple[Any, ...]]:
        """One row per survey with one column per question, streamed in chunks."""
        columns = [
            func.max(case((Answer.question == n, Answer.value), else_=None)).label(f"q{n}")
            for n in range(1, QUESTION_COUNT + 1)
        ]
        query = (
            select(
                Visit.order_no,
                Visit.visit_date,
                Visit.advisor,
                Visit.car,
                Survey.status,
                Survey.completed_at,
                func.avg(Answer.score),
                *columns,
                Survey.comment,
                Survey.wants_contact,
            )
            .join(Survey.visit)
            .outerjoin(Answer, Answer.survey_id == Survey.id)
            .where(self._in_period(first, last), Survey.started_at.is_not(None))
            .group_by(Survey.id, Visit.id)
            .order_by(Visit.visit_date, Visit.order_no)
            .execution_options(yield_per=2000)
        )
        result = await self._session.stream(query)
        async for row in result:
            yield tuple(row)


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
