"""Dialogue rules as pure functions of a SurveyRun."""

from __future__ import annotations

import pytest

from survey.dialogue import (
    COMMENT_MAX_CHARS,
    COMMENT_STEP,
    CONTACT_STEP,
    InvalidAnswer,
    StaleStep,
    SurveyClosed,
    SurveyRun,
    SurveyStatus,
)


def started() -> SurveyRun:
    run = SurveyRun(id=1, status=SurveyStatus.INVITED)
    run.start()
    return run


def test_answers_move_forward_and_record_what_changed() -> None:
    run = started()
    run.answer(1, "no")
    run.answer(2, "yes")
    assert run.step == 3
    assert run.answers == {1: "no", 2: "yes"}
    assert run.changed_answers == {1, 2}


def test_an_answer_for_another_step_is_stale() -> None:
    run = started()
    run.answer(1, "no")
    with pytest.raises(StaleStep):
        run.answer(1, "yes")
    with pytest.raises(StaleStep):
        run.answer(3, "yes")
    assert run.answers == {1: "no"}


def test_unknown_answer_values_are_refused() -> None:
    run = started()
    with pytest.raises(InvalidAnswer):
        run.answer(1, "maybe")
    run.step = 11
    with pytest.raises(InvalidAnswer):
        run.answer(11, "6")


def test_back_and_forward() -> None:
    run = started()
    run.answer(1, "no")
    run.back(2)
    assert run.step == 1
    run.back(1)
    assert run.step == 1  # nowhere further back
    run.forward(1)
    assert run.step == 2
    with pytest.raises(StaleStep):
        run.forward(2)  # Q2 has no answer to keep


def test_resume_goes_to_the_first_unanswered_question() -> None:
    run = SurveyRun(id=1, status=SurveyStatus.IN_PROGRESS, step=2, answers={1: "no", 2: "yes"})
    run.start()
    assert run.step == 3
    full = {n: "yes" for n in range(1, 11)} | {11: "5", 12: "5"}
    run = SurveyRun(id=1, status=SurveyStatus.IN_PROGRESS, step=CONTACT_STEP, answers=full)
    run.start()
    assert run.step == CONTACT_STEP


def test_comment_is_cut_at_the_limit() -> None:
    run = SurveyRun(id=1, status=SurveyStatus.IN_PROGRESS, step=COMMENT_STEP)
    outcome = run.leave_comment("x" * (COMMENT_MAX_CHARS + 5))
    assert outcome.truncated
    assert run.comment is not None
    assert len(run.comment) == COMMENT_MAX_CHARS
    assert run.step == CONTACT_STEP


def test_contact_choice_completes_and_closes() -> None:
    run = SurveyRun(id=1, status=SurveyStatus.IN_PROGRESS, step=CONTACT_STEP)
    run.choose_contact(True)
    assert run.is_completed
    assert run.wants_contact is True
    with pytest.raises(SurveyClosed):
        run.start()
    with pytest.raises(SurveyClosed):
        run.decline()


def test_declined_survey_may_be_taken_after_all_but_expired_not() -> None:
    run = SurveyRun(id=1, status=SurveyStatus.INVITED)
    run.decline()
    assert run.status is SurveyStatus.DECLINED
    run.start()
    assert run.status is SurveyStatus.IN_PROGRESS
    expired = SurveyRun(id=2, status=SurveyStatus.EXPIRED)
    with pytest.raises(SurveyClosed):
        expired.start()


def test_buttons_of_a_message_that_is_not_live_are_stale() -> None:
    run = started()
    run.live_message_id = 10
    run.ensure_current(1, 10)
    with pytest.raises(StaleStep):
        run.ensure_current(1, 9)
