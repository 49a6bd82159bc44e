"""Which answers open an escalation case for the client service, and how urgent it is.

Defaults follow the issue: Q6 not all works done, Q7 repeat repair, Q8 car not ready on
time, Q10 invoice above the agreed amount, Q11/Q12 rated 1-2, and a customer who asks
to be contacted. High severity: Q7, Q10 and a rating of 1. A TOML file can replace them
(see escalation.example.toml); a bad file is refused with a message naming the problem.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from survey.questionnaire import RATING_VALUES, Kind, question


class Severity(StrEnum):
    NORMAL = "normal"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return 1 if self is Severity.HIGH else 0


class RulesError(ValueError):
    """The escalation configuration cannot be used."""


@dataclass(frozen=True, slots=True)
class Trigger:
    question: int
    # answer code -> severity; e.g. {"yes": HIGH} or {"1": HIGH, "2": NORMAL}
    answers: Mapping[str, Severity]


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason for a case: a problem answer, or (question None) a request to be called."""

    question: int | None
    value: str | None
    severity: Severity


@dataclass(frozen=True, slots=True)
class EscalationRules:
    triggers: tuple[Trigger, ...]
    contact_request: Severity | None

    def problems(self, answers: Mapping[int, str], wants_contact: bool | None) -> list[Problem]:
        found = [
            Problem(trigger.question, answers[trigger.question], severity)
            for trigger in self.triggers
            if trigger.question in answers
            and (severity := trigger.answers.get(answers[trigger.question])) is not None
        ]
        if wants_contact and self.contact_request is not None:
            found.append(Problem(None, None, self.contact_request))
        return found


def severity_of(problems: list[Problem]) -> Severity:
    return max((p.severity for p in problems), key=lambda s: s.rank, default=Severity.NORMAL)


def _ratings(at_most: int, high_at_most: int) -> dict[str, Severity]:
    return {
        value: Severity.HIGH if int(value) <= high_at_most else Severity.NORMAL
        for value in RATING_VALUES
        if int(value) <= at_most
    }


DEFAULT_RULES = EscalationRules(
    triggers=(
        Trigger(6, {"no": Severity.NORMAL}),
        Trigger(7, {"yes": Severity.HIGH}),
        Trigger(8, {"no": Severity.NORMAL}),
        Trigger(10, {"yes": Severity.HIGH}),
        Trigger(11, _ratings(2, 1)),
        Trigger(12, _ratings(2, 1)),
    ),
    contact_request=Severity.NORMAL,
)


def parse_rules(text: str) -> EscalationRules:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"not valid TOML: {error}") from error
    _only_keys(document, {"trigger", "contact_request"}, "the file")
    triggers = tuple(
        _trigger(entry, index) for index, entry in enumerate(document.get("trigger", []), start=1)
    )
    numbers = [t.question for t in triggers]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise RulesError(f"question {duplicates[0]} has more than one [[trigger]]")
    contact = document.get("contact_request", {"severity": "normal"})
    _only_keys(contact, {"enabled", "severity"}, "[contact_request]")
    enabled = contact.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RulesError("[contact_request] enabled must be true or false")
    severity = _severity(contact.get("severity", "normal"), "[contact_request]")
    return EscalationRules(triggers=triggers, contact_request=severity if enabled else None)


def _trigger(entry: Any, index: int) -> Trigger:
    where = f"[[trigger]] #{index}"
    if not isinstance(entry, dict):
        raise RulesError(f"{where} must be a table")
    number = entry.get("question")
    if not isinstance(number, int) or not 1 <= number <= 12:
        raise RulesError(f"{where}: question must be a number from 1 to 12")
    q = question(number)
    if q.kind is Kind.RATING:
        _only_keys(entry, {"question", "rating_at_most", "high_at_most"}, where)
        at_most = entry.get("rating_at_most")
        high = entry.get("high_at_most", 0)
        if not isinstance(at_most, int) or not 1 <= at_most <= 5:
            raise RulesError(f"{where}: rating_at_most must be a rating from 1 to 5")
        if not isinstance(high, int) or not 0 <= high <= at_most:
            raise RulesError(f"{where}: high_at_most must be from 0 to rating_at_most")
        return Trigger(number, _ratings(at_most, high))
    _only_keys(entry, {"question", "answers", "severity"}, where)
    answers = entry.get("answers")
    if not isinstance(answers, list) or not answers:
        raise RulesError(f'{where}: answers must be a list such as ["no"]')
    for value in answers:
        if value not in q.values:
            allowed = ", ".join(q.values)
            raise RulesError(f"{where}: question {number} has no answer {value!r} ({allowed})")
    severity = _severity(entry.get("severity", "normal"), where)
    return Trigger(number, dict.fromkeys(answers, severity))


def _severity(value: Any, where: str) -> Severity:
    try:
        return Severity(value)
    except ValueError as error:
        raise RulesError(f'{where}: severity must be "high" or "normal"') from error


def _only_keys(table: Any, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise RulesError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RulesError(f"{where}: unknown key {unknown[0]!r}")
