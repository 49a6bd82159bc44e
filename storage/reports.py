"""Report figures as SQL aggregates (GROUP BY and conditional counts), portable between
SQLite and PostgreSQL; nothing loads every answer into Python."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Float, Select, and_, case, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Case, CaseEvent, Customer, Survey, Visit
from survey.deadlines import HandledCase
from survey.dialogue import SurveyStatus
from survey.metrics import (
    Escalations,
    Funnel,
    QuestionFigures,
    Segment,
    median,
    middle_offset,
    question_figures,
    share,
)
from survey.report import AdvisorRow, DayRow

# The advisor's own figures: friendliness (11) and responsiveness (12).
RATED = (11, 12)


@dataclass(frozen=True, slots=True)
class SurveyFigures:
    """What the first pass over a period's surveys gives."""

    funnel: Funnel
    mean_score: float | None
    timed: int  # completed surveys with a completion time (the median's base)
    questions: list[QuestionFigures]
    advisors: list[AdvisorRow]
    # The funnel of each channel (telegram, phone) that has surveys in the period.
    channels: dict[str, Funnel]


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
            return Survey.visit_date <= last
        return Survey.visit_date.between(first, last)

    async def survey_figures(self, first: date | None, last: date) -> SurveyFigures:
        """A period's surveys from their rows' report facts (one covering index, no join):
        grouped by advisor for the funnel, the CSI and the advisors' figures, then by
        answer codes for the per-question figures (a period has far fewer distinct code
        strings than surveys). Answers of unfinished surveys count too."""
        period = self._in_period(first, last)
        groups = await self._session.execute(
            select(
                Survey.advisor,
                Survey.status,
                Survey.channel,
                func.count(),
                func.count(func.coalesce(Survey.invited_at, Survey.started_at)),
                func.count(Survey.started_at),
                func.sum(Survey.score),
                func.count(Survey.score),
                func.count(Survey.completion_seconds),
                func.sum(Survey.answered_count),
                func.sum(Survey.problem_count),
                func.sum(Survey.friendliness),
                func.count(Survey.friendliness),
                func.sum(Survey.responsiveness),
                func.count(Survey.responsiveness),
            )
            .where(period)
            .group_by(Survey.advisor, Survey.status, Survey.channel)
        )
        funnel = Counter[str]()
        by_channel: dict[str, Counter[str]] = {}
        score_sum, scored, timed = 0.0, 0, 0
        sums: dict[str, Counter[str]] = {}
        for advisor, status, channel, count, reached, started, *rest in groups.all():
            scores, with_score, with_time, answered, problems, *ratings = rest
            funnel.update(reached=reached, started=started)
            of_channel = by_channel.setdefault(channel or "telegram", Counter())
            of_channel.update(reached=reached, started=started)
            if status == SurveyStatus.COMPLETED:
                of_channel.update(completed=count)
            mine = sums.setdefault(advisor or "", Counter())
            mine.update(answered=answered or 0, problems=problems or 0)
            mine.update(friendly=ratings[0] or 0, friendly_n=ratings[1])
            mine.update(responsive=ratings[2] or 0, responsive_n=ratings[3])
            if status == SurveyStatus.COMPLETED:
                funnel.update(completed=count)
                mine.update(completed=count, score=scores or 0, scored=with_score)
                score_sum, scored = score_sum + (scores or 0), scored + with_score
                timed += with_time
        advisors = [
            AdvisorRow(
                advisor=advisor,
                completed=mine["completed"],
                csi_mean_score=mine["score"] / mine["scored"] if mine["scored"] else None,
                friendliness=share(mine["friendly"], mine["friendly_n"]),
                responsiveness=share(mine["responsive"], mine["responsive_n"]),
                problems=mine["problems"],
                answered=mine["answered"],
            )
            for advisor, mine in sums.items()
        ]
        advisors.sort(key=lambda row: (-row.completed, row.advisor))
        by_codes = await self._session.execute(
            select(Survey.answer_codes, func.count()).where(period).group_by(Survey.answer_codes)
        )
        return SurveyFigures(
            funnel=Funnel(
                invited=funnel["reached"], started=funnel["started"], completed=funnel["completed"]
            ),
            mean_score=score_sum / scored if scored else None,
            timed=int(timed),
            questions=question_figures((str(c), int(n)) for c, n in by_codes.all()),
            advisors=advisors,
            channels={
                channel: Funnel(
                    invited=counts["reached"],
                    started=counts["started"],
                    completed=counts["completed"],
                )
                for channel, counts in sorted(
                    by_channel.items(), key=lambda item: item[0] != "telegram"
                )
            },
        )

    async def by_day(self, first: date | None, last: date) -> list[DayRow]:
        """The second pass: completed surveys and their score sums per visit day (rolled
        up to weeks and months later)."""
        rows = await self._session.execute(
            select(Survey.visit_date, func.count(), func.sum(Survey.score))
            .where(Survey.status == SurveyStatus.COMPLETED, self._in_period(first, last))
            .group_by(Survey.visit_date)
            .order_by(Survey.visit_date)
        )
        # The period's condition leaves out rows without a date.
        return [DayRow(d, int(c), float(s or 0)) for d, c, s in rows.all() if d]

    async def median_completion_seconds(
        self, first: date | None, last: date, count: int
    ) -> float | None:
        """From the stored seconds: the middle one or two of `count` (from the first pass)."""
        seconds = Survey.completion_seconds
        return await self._median(
            select(seconds).where(
                Survey.status == SurveyStatus.COMPLETED,
                seconds.is_not(None),
                self._in_period(first, last),
            ),
            seconds,
            count,
        )

    async def _median(
        self,
        query: Select[Any],
        value: ColumnElement[Any] | InstrumentedAttribute[Any],
        count: int,
    ) -> float | None:
        """The median of `value` over the `count` rows of `query`: the middle one or two."""
        if not count:
            return None
        offset, take = middle_offset(count)
        middle = (
            await self._session.scalars(query.order_by(value).offset(offset).limit(take))
        ).all()
        return median([float(v) for v in middle])

    def _cases_of(self, first: date | None, last: date, zone: tzinfo) -> ColumnElement[bool]:
        """A period's cases: a survey's case when its visit is in the period, a customer's
        feedback when it was written in the period (its dates in the dealership's zone)."""
        of_survey = (
            select(Survey.id)
            .where(Survey.id == Case.survey_id, self._in_period(first, last))
            .exists()
        )
        written: list[ColumnElement[bool]] = [Case.survey_id.is_(None)]
        if first is not None:
            written.append(Case.created_at >= datetime.combine(first, time(0), zone))
        written.append(Case.created_at < datetime.combine(last + timedelta(days=1), time(0), zone))
        return or_(of_survey, and_(*written))

    async def escalations(self, first: date | None, last: date, zone: tzinfo = UTC) -> Escalations:
        """The period's cases (of surveys whose visit is in it, and feedback written in it):
        a few hundred rows read from the cases' side."""
        of_period = self._cases_of(first, last, zone)
        row = (
            await self._session.execute(
                select(
                    func.count(),
                    _count_if(Case.taken_at.is_not(None)),
                    _count_if(Case.taken_at.is_not(None) & (Case.taken_at <= Case.take_due_at)),
                    _count_if(Case.status == "resolved"),
                    _count_if(Case.resolved_at.is_not(None)),
                ).where(of_period)
            )
        ).one()
        take = _seconds_between(Case.taken_at, Case.created_at, self._dialect)
        resolve = _seconds_between(Case.resolved_at, Case.created_at, self._dialect)
        median_take = await self._median(
            select(take).where(of_period, Case.taken_at.is_not(None)), take, int(row[1])
        )
        median_resolve = await self._median(
            select(resolve).where(of_period, Case.resolved_at.is_not(None)), resolve, int(row[4])
        )
        return Escalations(
            opened=int(row[0]),
            taken=int(row[1]),
            taken_within_sla=int(row[2]),
            resolved=int(row[3]),
            median_take_seconds=median_take,
            median_resolve_seconds=median_resolve,
        )

    async def completed_since(self, since: datetime, limit: int) -> Sequence[Any]:
        """Completed surveys from `since` on, oldest first, with their case (the API's
        pull for the dealer system)."""
        query = (
            select(
                Visit.order_no,
                Survey.visit_date,
                Survey.completed_at,
                Survey.channel,
                Survey.score,
                Survey.answer_codes,
                Survey.comment,
                Survey.wants_contact,
                Case.id.label("case_id"),
                Case.status.label("case_status"),
                Case.severity.label("case_severity"),
            )
            .join(Visit, Visit.id == Survey.visit_id)
            .outerjoin(Case, Case.survey_id == Survey.id)
            .where(Survey.status == SurveyStatus.COMPLETED, Survey.completed_at >= since)
            .order_by(Survey.completed_at, Survey.id)
            .limit(limit)
        )
        return (await self._session.execute(query)).all()

    async def handled_cases(
        self, first: date | None, last: date, zone: tzinfo = UTC
    ) -> list[HandledCase]:
        """The period's taken cases with what the deadline figures need (a few hundred)."""
        of_period = self._cases_of(first, last, zone)

        def happened(kind: str) -> Any:
            return (
                select(CaseEvent.id)
                .where(CaseEvent.case_id == Case.id, CaseEvent.kind == kind)
                .exists()
            )

        rows = await self._session.execute(
            select(
                Case.assignee_id,
                Case.assignee_name,
                Case.created_at,
                Case.taken_at,
                Case.resolved_at,
                Case.take_due_at,
                Case.resolve_due_at,
                happened("reopened"),
                happened("customer_fixed"),
                happened("customer_not_fixed"),
            )
            .where(of_period, Case.assignee_id.is_not(None), Case.taken_at.is_not(None))
            .order_by(Case.id)
        )
        return [
            HandledCase(
                manager_id=row[0],
                manager=row[1] or str(row[0]),
                created_at=row[2],
                taken_at=row[3],
                resolved_at=row[4],
                take_due_at=row[5],
                resolve_due_at=row[6],
                reopened=bool(row[7]),
                said_fixed=bool(row[8]),
                said_not_fixed=bool(row[9]),
            )
            for row in rows
        ]

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
                Survey.channel,
            )
            .join(Survey.visit)
            .where(self._in_period(first, last), Survey.started_at.is_not(None))
            .order_by(Visit.visit_date, Visit.order_no)
            .execution_options(yield_per=2000)
        )
        result = await self._session.stream(query)
        async for row in result:
            yield tuple(row)
