"""Dialogue rules: where a customer is in the survey and which moves are allowed.

A survey walks through steps 1..12 (the questions), then the optional comment, then
"may a manager contact you?". Every move names the step it was made on, so a press on a
button of an earlier message can be told apart from an answer to the current question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from survey.questionnaire import QUESTION_COUNT, question

COMMENT_STEP = QUESTION_COUNT + 1
CONTACT_STEP = QUESTION_COUNT + 2
COMMENT_MAX_CHARS = 2000


class SurveyStatus(StrEnum):
    INVITED = "invited"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"


class DialogueError(Exception):
    """A move the survey cannot take; the handler turns it into a short reply."""


class SurveyClosed(DialogueError):
    def __init__(self, status: SurveyStatus) -> None:
        super().__init__(status)
        self.status = status


class StaleStep(DialogueError):
    """The move was made on a step (or a message) that is no longer the current one."""


class InvalidAnswer(DialogueError):
    pass


@dataclass(frozen=True, slots=True)
class CommentOutcome:
    stored_chars: int
    truncated: bool


@dataclass
class SurveyRun:
    """One customer's pass through the questionnaire, as plain data."""

    id: int
    status: SurveyStatus
    step: int = 1
    answers: dict[int, str] = field(default_factory=dict)
    comment: str | None = None
    wants_contact: bool | None = None
    live_message_id: int | None = None
    # Answers set since loading, so storage writes only those rows.
    changed_answers: set[int] = field(default_factory=set)

    @property
    def is_open(self) -> bool:
        return self.status in (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS)

    @property
    def is_completed(self) -> bool:
        return self.status is SurveyStatus.COMPLETED

    @property
    def answered_count(self) -> int:
        return len(self.answers)

    def resume_step(self) -> int:
        for number in range(1, QUESTION_COUNT + 1):
            if number not in self.answers:
                return number
        return max(self.step, COMMENT_STEP)

    def start(self) -> None:
        """Begin or resume: a declined survey may be taken after all, a closed one not."""
        if self.status in (SurveyStatus.COMPLETED, SurveyStatus.EXPIRED):
            raise SurveyClosed(self.status)
        self.status = SurveyStatus.IN_PROGRESS
        self.step = self.resume_step()

    def decline(self) -> None:
        if not self.is_open:
            raise SurveyClosed(self.status)
        self.status = SurveyStatus.DECLINED

    def ensure_current(self, step: int, message_id: int | None = None) -> None:
        if self.status is not SurveyStatus.IN_PROGRESS:
            if self.is_open:  # invited, not started: the question buttons are not live yet
                raise StaleStep
            raise SurveyClosed(self.status)
        if step != self.step:
            raise StaleStep
        if message_id is not None and message_id != self.live_message_id:
            raise StaleStep

    def answer(self, number: int, value: str) -> None:
        if number > QUESTION_COUNT:
            raise StaleStep
        if value not in question(number).values:
            raise InvalidAnswer(value)
        self.ensure_current(number)
        self.answers[number] = value
        self.changed_answers.add(number)
        self.step = number + 1

    def back(self, step: int) -> None:
        self.ensure_current(step)
        if self.step > 1:
            self.step -= 1

    def forward(self, step: int) -> None:
        """Keep the answer already given and go on (offered only on answered questions)."""
        self.ensure_current(step)
        if step <= QUESTION_COUNT and step not in self.answers:
            raise StaleStep
        if step == COMMENT_STEP and self.comment is None:
            raise StaleStep
        if step == CONTACT_STEP:
            raise StaleStep
        self.step += 1

    def leave_comment(self, text: str) -> CommentOutcome:
        self.ensure_current(COMMENT_STEP)
        text = text.strip()
        self.comment = text[:COMMENT_MAX_CHARS]
        self.step = CONTACT_STEP
        return CommentOutcome(len(self.comment), truncated=len(text) > COMMENT_MAX_CHARS)

    def skip_comment(self) -> None:
        self.ensure_current(COMMENT_STEP)
        self.comment = None
        self.step = CONTACT_STEP

    def choose_contact(self, wants_contact: bool) -> None:
        self.ensure_current(CONTACT_STEP)
        self.wants_contact = wants_contact
        self.status = SurveyStatus.COMPLETED


class NotYourSurvey(DialogueError):
    """The survey does not exist or belongs to another customer (a forged or foreign button)."""
