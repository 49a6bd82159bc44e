"""Report figures as SQL aggregates (GROUP BY and conditional counts), portable between
SQLite and PostgreSQL; nothing loads every answer into Python."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Float, Integer, Select, and_, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from storage.models import Case, Customer, Survey, Visit
from survey.dialogue import SurveyStatus
from survey.metrics import (
    Escalations,
    Funnel,
    QuestionFigures,
    Segment,
    median,
    middle_offset,
)
from survey.questionnaire import (
    NOT_ANSWERED,
    QUESTION_COUNT,
    RATING_VALUES,
    Kind,
    answer_code,
    problem_codes,
    question,
)
from survey.report import AdvisorAnswers, AdvisorRow, DayRow


def _seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[float]:
    """The one dialect-specific expression: elapsed seconds between two timestamps."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def _count_if(condition: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


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

    async def answer_figures(
        self, first: date | None, last: date
    ) -> tuple[list[QuestionFigures], dict[str, AdvisorAnswers]]:
        """Per question and per advisor, over every recorded answer (unfinished surveys too).

        Reads each survey's one-string answers (Survey.answer_codes) grouped by advisor:
        100k surveys instead of 1.2M answer rows.
        """
        columns: list[ColumnElement[Any]] = []
        for number in range(1, QUESTION_COUNT + 1):
            code = func.substr(Survey.answer_codes, number, 1)
            columns += [
                _count_if(code.not_in((NOT_ANSWERED, answer_code("unsure")))),
                _count_if(code.in_(problem_codes(number))),
                _count_if(code == answer_code("unsure")),
            ]
            if question(number).kind is Kind.RATING:
                rated = code.in_(RATING_VALUES)
                columns += [
                    func.coalesce(func.sum(case((rated, cast(code, Integer)), else_=0)), 0),
                    _count_if(rated),
                ]
        rows = await self._session.execute(
            select(Visit.advisor, *columns)
            .join(Survey.visit)
            .where(self._in_period(first, last))
            .group_by(Visit.advisor)
        )
        totals = {n: [0, 0, 0, 0.0, 0] for n in range(1, QUESTION_COUNT + 1)}
        advisors: dict[str, AdvisorAnswers] = {}
        for advisor, *values in rows.all():
            mine = advisors.setdefault(advisor, AdvisorAnswers())
            position = 0
            for number in range(1, QUESTION_COUNT + 1):
                answered, problems, unsure = values[position : position + 3]
                position += 3
                rating_sum, ratings = 0.0, 0
                if question(number).kind is Kind.RATING:
                    rating_sum, ratings = float(values[position]), int(values[position + 1])
                    position += 2
                total = totals[number]
                for index, value in enumerate((answered, problems, unsure, rating_sum, ratings)):
                    total[index] += value
                mine.add(number, int(answered), int(problems), rating_sum, ratings)
        questions = [
            QuestionFigures(
                number,
                int(total[0]),
                int(total[1]),
                int(total[2]),
                total[3] / total[4] if total[4] else None,
            )
            for number, total in totals.items()
        ]
        return questions, advisors

    def _survey_scores(self, first: date | None, last: date) -> Subquery:
        """One row per completed survey with its score (kept on the survey row)."""
        return (
            select(
                Survey.id.label("survey_id"),
                Visit.visit_date.label("visit_date"),
                Visit.advisor.label("advisor"),
                Survey.score.label("score"),
            )
            .join(Survey.visit)
            .where(Survey.status == SurveyStatus.COMPLETED, self._in_period(first, last))
            .subquery()
        )

    async def csi_mean_score(self, first: date | None, last: date) -> tuple[float | None, int]:
        scores = self._survey_scores(first, last)
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
                .join(Survey, Survey.id == Case.survey_id)
                .join(Survey.visit)
                .where(self._in_period(first, last))
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

    async def by_advisor(
        self, first: date | None, last: date, answers: dict[str, AdvisorAnswers]
    ) -> list[AdvisorRow]:
        scores = self._survey_scores(first, last)
        rows = await self._session.execute(
            select(scores.c.advisor, func.count(), func.avg(scores.c.score)).group_by(
                scores.c.advisor
            )
        )
        completed = {advisor: (int(count), score) for advisor, count, score in rows.all()}
        result = []
        for advisor in sorted(set(answers) | set(completed)):
            count, score = completed.get(advisor, (0, None))
            mine = answers.get(advisor, AdvisorAnswers())
            result.append(
                AdvisorRow(
                    advisor=advisor,
                    completed=count,
                    csi_mean_score=None if score is None else float(score),
                    friendliness=mine.mean_rating(11),
                    responsiveness=mine.mean_rating(12),
                    problems=mine.problems,
                    answered=mine.answered,
                )
            )
        result.sort(key=lambda row: (-row.completed, row.advisor))
        return result

    async def by_day(self, first: date | None, last: date) -> list[DayRow]:
        """Completed surveys and their score sums per visit day (rolled up to weeks later)."""
        scores = self._survey_scores(first, last)
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
                Survey.score.label("score"),
            )
            .join(Survey.visit)
            .where(Survey.status == SurveyStatus.COMPLETED, Survey.score.is_not(None))
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
        """One row per started survey, its answers as one string, streamed in chunks."""
        query = (
            select(
                Visit.order_no,
                Visit.visit_date,
                Visit.advisor,
                Visit.car,
                Survey.status,
                Survey.completed_at,
                Survey.score,
                Survey.answer_codes,
                Survey.comment,
                Survey.wants_contact,
            )
            .join(Survey.visit)
            .where(self._in_period(first, last), Survey.started_at.is_not(None))
            .order_by(Visit.visit_date, Visit.order_no)
            .execution_options(yield_per=2000)
        )
        result = await self._session.stream(query)
        async for row in result:
            yield tuple(row)
