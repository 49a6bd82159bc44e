"""Understanding answers typed instead of pressed."""

from __future__ import annotations

import re

from survey.questionnaire import Choice, Kind, Question

_YES = {"да", "ага", "угу", "конечно", "yes", "y", "yeah", "yep", "д"}
_NO = {"нет", "неа", "no", "n", "nope", "н"}
_UNSURE = {
    "не знаю",
    "не помню",
    "затрудняюсь",
    "затрудняюсь ответить",
    "don't know",
    "dont know",
    "don't remember",
    "dont remember",
    "not sure",
    "?",
}
_NUMBER_WORDS = {
    "один": "1",
    "одна": "1",
    "единица": "1",
    "два": "2",
    "две": "2",
    "двойка": "2",
    "три": "3",
    "тройка": "3",
    "четыре": "4",
    "четверка": "4",
    "четвёрка": "4",
    "пять": "5",
    "пятерка": "5",
    "пятёрка": "5",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
}
# "5", "5!", "на 5", "5 баллов", "5/5": exactly one digit 1-5 among a few other characters.
_RATING_DIGIT = re.compile(r"^[^\d]{0,12}([1-5])(?:\s*/\s*5)?[^\d]{0,12}$")
_TRIM = re.compile(r"[\s.,!)(]+")


def _normalise(text: str) -> str:
    return _TRIM.sub(" ", text.casefold()).strip()


def parse_answer(question: Question, text: str) -> str | None:
    """The answer code a typed text means for this question, or None if it is unclear."""
    said = _normalise(text)
    if not said:
        return None
    if question.kind is Kind.RATING:
        if said in _NUMBER_WORDS:
            return _NUMBER_WORDS[said]
        match = _RATING_DIGIT.match(said)
        return match.group(1) if match else None

    for value in question.values:
        if said in {_normalise(question.label(value, loc)) for loc in ("ru", "en")}:
            return value
    if said in _UNSURE:
        return Choice.UNSURE
    if question.bare_yes_no_ambiguous:
        return None
    if said in _YES:
        return Choice.YES
    if said in _NO:
        return Choice.NO
    return None


def parse_yes_no(text: str) -> bool | None:
    said = _normalise(text)
    if said in _YES:
        return True
    if said in _NO:
        return False
    return None
