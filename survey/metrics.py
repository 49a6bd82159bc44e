"""What the reports mean, defined once (the README's "Metrics" section quotes these).

The database aggregates (counts, sums, means); these functions turn the aggregates into
the figures managers read, so SQLite and PostgreSQL give the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from survey.questionnaire import (
    NOT_ANSWERED,
    QUESTION_COUNT,
    RATING_VALUES,
    answer_code,
    problem_codes,
    question,
)


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (never a fake 0 %)."""
    return part / whole if whole else None


def survey_score(answers: Mapping[int, str]) -> float | None:
    """A survey's score: the mean of its answers' scores, "don't remember" left out."""
    scores = [s for n, value in answers.items() if (s := question(n).score(value)) is not None]
    return sum(scores) / len(scores) if scores else None


def csi(mean_survey_score: float | None) -> float | None:
    """Customer satisfaction index, 0-100.

    A survey's score is the mean over its answered questions of 1 for a good yes/no
    answer, 0 for a bad one and (r-1)/4 for a rating r ("don't remember" is left out);
    the period's CSI is the mean of the completed surveys' scores times 100.
    """
    return None if mean_survey_score is None else mean_survey_score * 100


def median(middle: list[float]) -> float | None:
    """The median from the one or two middle values of the ordered list (SQL gives those)."""
    if not middle:
        return None
    return sum(middle) / len(middle)


def middle_offset(count: int) -> tuple[int, int]:
    """(offset, how many) of the middle value(s) in an ordered list of `count` values."""
    return (count - 1) // 2, 2 if count % 2 == 0 else 1


@dataclass(frozen=True, slots=True)
class Funnel:
    invited: int
    started: int
    completed: int

    @property
    def response_rate(self) -> float | None:
        """Completed / invited."""
        return share(self.completed, self.invited)


@dataclass(frozen=True, slots=True)
class QuestionFigures:
    question: int
    answered: int  # answers other than "don't remember"
    problems: int
    unsure: int
    mean_rating: float | None  # ratings only

    @property
    def problem_share(self) -> float | None:
        """Problem answers / answers other than "don't remember"."""
        return share(self.problems, self.answered)


@dataclass(frozen=True, slots=True)
class Escalations:
    opened: int
    taken: int
    taken_within_sla: int
    resolved: int
    median_take_seconds: float | None
    median_resolve_seconds: float | None


class Segment(StrEnum):
    """Dick & Basu (1994): relative attitude (satisfaction) x repeat patronage."""

    TRUE = "true"
    LATENT = "latent"
    SPURIOUS = "spurious"
    NONE = "none"


def segment(
    latest_csi: float, visits_last_year: int, csi_threshold: float, repeat_at: int
) -> Segment:
    satisfied = latest_csi >= csi_threshold
    returning = visits_last_year >= repeat_at
    if satisfied:
        return Segment.TRUE if returning else Segment.LATENT
    return Segment.SPURIOUS if returning else Segment.NONE


SEGMENT_NAMES = {
    Segment.TRUE: {"ru": "Истинная лояльность", "en": "True loyalty"},
    Segment.LATENT: {"ru": "Латентная лояльность", "en": "Latent loyalty"},
    Segment.SPURIOUS: {"ru": "Ложная лояльность", "en": "Spurious loyalty"},
    Segment.NONE: {"ru": "Нет лояльности", "en": "No loyalty"},
}

STRATEGIES = {
    Segment.TRUE: {
        "ru": "Беречь и поощрять: благодарить, звать в клуб лояльности, просить рекомендаций.",
        "en": "Keep and reward: thank them, invite to the loyalty programme, ask for referrals.",
    },
    Segment.LATENT: {
        "ru": "Довольны, но приезжают редко: напоминать о ТО, делать персональные предложения.",
        "en": "Satisfied but rarely back: remind about maintenance, make personal offers.",
    },
    Segment.SPURIOUS: {
        "ru": "Ездят по привычке, но недовольны: срочно найти и устранить причины, пока не ушли.",
        "en": "Come out of habit but unhappy: find and fix the causes before they leave.",
    },
    Segment.NONE: {
        "ru": "Недовольны и редко приезжают: разобраться в проблеме, вкладываться выборочно.",
        "en": "Unhappy and rarely back: understand the problem, invest selectively.",
    },
}


def question_figures(groups: Iterable[tuple[str, int]]) -> list[QuestionFigures]:
    """Per question, from (answer codes, how many surveys gave exactly these) groups.

    The groups are first folded into counts of each four-question slice (at most a few
    hundred distinct slices however many groups), so the per-question loop is short."""
    slices: list[dict[str, int]] = [{} for _ in range(0, QUESTION_COUNT, _SLICE)]
    for codes, count in groups:
        for index, start in enumerate(range(0, QUESTION_COUNT, _SLICE)):
            piece = codes[start : start + _SLICE]
            slices[index][piece] = slices[index].get(piece, 0) + count
    answered = [0] * QUESTION_COUNT
    problems = [0] * QUESTION_COUNT
    unsure = [0] * QUESTION_COUNT
    rating_sum = [0] * QUESTION_COUNT
    ratings = [0] * QUESTION_COUNT
    problem_sets = [set(problem_codes(n)) for n in range(1, QUESTION_COUNT + 1)]
    unsure_code = answer_code("unsure")
    for index, counted in enumerate(slices):
        for piece, count in counted.items():
            for offset, code in enumerate(piece):
                n = index * _SLICE + offset
                if code == NOT_ANSWERED:
                    continue
                if code == unsure_code:
                    unsure[n] += count
                    continue
                answered[n] += count
                if code in problem_sets[n]:
                    problems[n] += count
                if code in RATING_VALUES:
                    rating_sum[n] += int(code) * count
                    ratings[n] += count
    return [
        QuestionFigures(
            n + 1,
            answered[n],
            problems[n],
            unsure[n],
            rating_sum[n] / ratings[n] if ratings[n] else None,
        )
        for n in range(QUESTION_COUNT)
    ]


_SLICE = 4
