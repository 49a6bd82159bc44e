"""The questionnaire as data: verbatim texts, polarity, scoring and typed answers."""

from __future__ import annotations

import pytest

from survey.questionnaire import QUESTION_COUNT, QUESTIONS, Choice, Kind, question
from survey.typed_answers import parse_answer, parse_yes_no

# Where "yes" is the bad answer (Q1 waiting, Q7 repeat repair, Q10 invoice exceeded).
YES_IS_BAD = {1, 7, 10}


def test_twelve_questions_ten_yes_no_then_two_ratings() -> None:
    assert QUESTION_COUNT == 12
    assert [q.number for q in QUESTIONS] == list(range(1, 13))
    assert all(q.kind is Kind.YES_NO for q in QUESTIONS[:10])
    assert all(q.kind is Kind.RATING for q in QUESTIONS[10:])


def test_russian_texts_are_the_seed_s_with_its_slips_corrected() -> None:
    assert question(1).text["ru"] == (
        "Не пришлось ли Вам ждать ответа на звонок более трёх гудков?"
    )
    assert question(10).text["ru"] == "Превысила ли сумма счёта ранее согласованную с Вами?"
    assert question(12).text["ru"] == (
        "Оцените, пожалуйста, степень отзывчивости мастера-консультанта на Ваши просьбы "
        "и пожелания, а также его готовность помочь Вам."
    )
    texts = " ".join(q.text["ru"] for q in QUESTIONS)
    for slip in ("мастера консультанта", "а так же", " вам ", "трех", "счета", "приеме"):
        assert slip not in texts
    # Requests end with a full stop, questions with a question mark.
    assert all(q.text["ru"].endswith("?") for q in QUESTIONS[:10])
    assert all(q.text["ru"].endswith(".") for q in QUESTIONS[10:])
    # The advisor may be a man or a woman.
    assert question(4).label("yes", "ru") == "Да, объяснили подробно"
    assert all(q.text["en"] and q.short["ru"] and q.short["en"] for q in QUESTIONS)


@pytest.mark.parametrize("q", QUESTIONS[:10], ids=lambda q: f"Q{q.number}")
def test_polarity_of_every_yes_no_question(q) -> None:  # type: ignore[no-untyped-def]
    bad = Choice.YES if q.number in YES_IS_BAD else Choice.NO
    good = Choice.NO if bad is Choice.YES else Choice.YES
    assert q.is_problem(bad)
    assert not q.is_problem(good)
    assert not q.is_problem(Choice.UNSURE)
    assert q.score(good) == 1.0
    assert q.score(bad) == 0.0
    assert q.score(Choice.UNSURE) is None
    # The good answer is offered first, and no button is a bare "Да"/"Нет".
    assert q.values[0] == good
    labels = {q.label(v, "ru") for v in q.values}
    assert not labels & {"Да", "Нет"}


@pytest.mark.parametrize("number", [11, 12])
def test_ratings_one_and_two_are_problems(number: int) -> None:
    q = question(number)
    assert [q.is_problem(v) for v in "12345"] == [True, True, False, False, False]
    assert [q.score(v) for v in "12345"] == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize(
    ("number", "text", "expected"),
    [
        (2, "да", "yes"),
        (2, "Нет.", "no"),
        (2, "YES", "yes"),
        (2, "не помню", "unsure"),
        (2, "Затрудняюсь ответить", "unsure"),
        (2, "нет, не предложили", "no"),
        (1, "да", None),  # negated question: bare yes/no is ambiguous
        (1, "нет", None),
        (1, "Пришлось ждать", "yes"),
        (1, "answered quickly", "no"),
        (7, "да, повторный ремонт", "yes"),
        (11, "5", "5"),
        (11, "пять", "5"),
        (11, "на 4 балла", "4"),
        (11, "3/5", "3"),
        (11, "Two", "2"),
        (11, "10", None),
        (11, "0", None),
        (11, "6", None),
        (11, "хорошо", None),
        (3, "может быть", None),
        (3, "   ", None),
    ],
)
def test_typed_answers(number: int, text: str, expected: str | None) -> None:
    assert parse_answer(question(number), text) == expected


def test_typed_yes_no_for_the_contact_question() -> None:
    assert parse_yes_no("Да") is True
    assert parse_yes_no("нет!") is False
    assert parse_yes_no("позвоните вечером") is None


def test_question_numbers_outside_the_list_are_refused() -> None:
    with pytest.raises(KeyError):
        question(0)
    with pytest.raises(KeyError):
        question(13)
