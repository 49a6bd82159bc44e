"""The survey's buttons carry exactly the callback data aiogram's pack would give them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from handlers.views.callbacks import AnswerCallback, SurveyAction, SurveyNavCallback, packed
from survey.questionnaire import QUESTION_COUNT, question

SURVEY_IDS = (1, 987_654, 2**53)


@pytest.mark.parametrize("survey_id", SURVEY_IDS)
def test_every_answer_and_move_packs_as_aiogram_packs_it(survey_id: int) -> None:
    for number in range(1, QUESTION_COUNT + 1):
        for value in question(number).values:
            fields = {"survey_id": survey_id, "step": number, "value": value}
            data = packed(AnswerCallback, **fields)
            assert data == AnswerCallback(**fields).pack()
            assert AnswerCallback.unpack(data) == AnswerCallback(**fields)
    for action in SurveyAction:
        fields = {"survey_id": survey_id, "step": 3, "action": action}
        data = packed(SurveyNavCallback, **fields)
        assert data == SurveyNavCallback(**fields).pack()
        assert SurveyNavCallback.unpack(data) == SurveyNavCallback(**fields)


def test_what_aiogram_refuses_is_refused() -> None:
    with pytest.raises(ValueError, match="Separator"):
        packed(AnswerCallback, survey_id=1, step=2, value="a:b")
    with pytest.raises(ValueError, match="too long"):
        packed(AnswerCallback, survey_id=1, step=2, value="я" * 40)
    with pytest.raises(ValidationError, match="value"):  # a field left out
        packed(AnswerCallback, survey_id=1, step=2)
