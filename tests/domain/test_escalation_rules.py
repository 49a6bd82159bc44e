"""Escalation rules and working hours as pure functions; a bad rules file stops the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from survey.escalation import DEFAULT_RULES, RulesError, Severity, parse_rules, severity_of
from survey.working_hours import WorkingHours

ROOT = Path(__file__).resolve().parents[2]
MOSCOW = ZoneInfo("Europe/Moscow")


def good() -> dict[int, str]:
    return {n: "yes" for n in range(1, 11)} | {1: "no", 7: "no", 10: "no", 11: "5", 12: "5"}


def test_the_example_file_is_exactly_the_defaults() -> None:
    assert (
        parse_rules((ROOT / "escalation.example.toml").read_text(encoding="utf-8"))
        == DEFAULT_RULES
    )


def test_default_triggers_and_severities() -> None:
    assert DEFAULT_RULES.problems(good(), wants_contact=False) == []
    cases = {
        6: ("no", Severity.NORMAL),
        7: ("yes", Severity.HIGH),
        8: ("no", Severity.NORMAL),
        10: ("yes", Severity.HIGH),
    }
    for number, (value, severity) in cases.items():
        [problem] = DEFAULT_RULES.problems(good() | {number: value}, wants_contact=False)
        assert (problem.question, problem.severity) == (number, severity)
    for rating, severity in (("1", Severity.HIGH), ("2", Severity.NORMAL)):
        for number in (11, 12):
            [problem] = DEFAULT_RULES.problems(good() | {number: rating}, wants_contact=None)
            assert problem.severity is severity
    assert DEFAULT_RULES.problems(good() | {11: "3"}, wants_contact=False) == []
    # "Don't remember" and untouched questions are not problems; a call request is.
    assert DEFAULT_RULES.problems({6: "unsure", 7: "unsure"}, wants_contact=None) == []
    [call] = DEFAULT_RULES.problems(good(), wants_contact=True)
    assert call.question is None
    assert call.severity is Severity.NORMAL


def test_case_severity_is_the_worst_problem() -> None:
    problems = DEFAULT_RULES.problems(good() | {8: "no", 10: "yes"}, wants_contact=True)
    assert severity_of(problems) is Severity.HIGH
    assert (
        severity_of(DEFAULT_RULES.problems(good() | {8: "no"}, wants_contact=False))
        is Severity.NORMAL
    )


def test_custom_rules() -> None:
    rules = parse_rules(
        """
        [[trigger]]
        question = 2
        answers = ["no", "unsure"]
        severity = "high"
        [[trigger]]
        question = 11
        rating_at_most = 3
        [contact_request]
        enabled = false
        """
    )
    assert [p.question for p in rules.problems(good() | {2: "unsure", 11: "3"}, True)] == [2, 11]
    assert rules.problems(good(), wants_contact=True) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[trigger]]\nquestion = 13\nanswers=['no']", "question must be a number from 1 to 12"),
        ("[[trigger]]\nquestion = 6\nanswers=['nope']", "question 6 has no answer 'nope'"),
        (
            "[[trigger]]\nquestion = 6\nanswers=['no']\nseverity='urgent'",
            'severity must be "high"',
        ),
        ("[[trigger]]\nquestion = 11\nanswers=['1']", "unknown key 'answers'"),
        ("[[trigger]]\nquestion = 11\nrating_at_most = 7", "rating_at_most must be a rating"),
        (
            "[[trigger]]\nquestion = 6\nanswers=['no']\n[[trigger]]\nquestion = 6\nanswers=['no']",
            "more than one",
        ),
        ("[trigers]", "unknown key 'trigers'"),
        ("question = ", "not valid TOML"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules(text)


def test_a_bad_rules_file_stops_any_command_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules.toml"
    rules.write_text("[[trigger]]\nquestion = 6\nanswers = ['maybe']\n", encoding="utf-8")
    monkeypatch.setenv("ESCALATION_RULES", str(rules))
    monkeypatch.setenv("BOT_TOKEN", "1:x")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("followup-bot: bad configuration: ESCALATION_RULES")
    assert "question 6 has no answer 'maybe'" in err
    assert err.count("\n") == 1


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=MOSCOW)


def test_working_hours_skip_the_night() -> None:
    hours = WorkingHours.parse("09:00-20:00", MOSCOW)
    assert hours.add(at(20, 12), timedelta(hours=2)) == at(20, 14)
    assert hours.add(at(20, 19), timedelta(hours=2)) == at(21, 10)
    assert hours.add(at(20, 22), timedelta(hours=2)) == at(21, 11)
    assert hours.add(at(20, 6), timedelta(hours=2)) == at(20, 11)
    assert hours.add(at(20, 12), timedelta(hours=24)) == at(22, 14)
    utc = at(20, 19).astimezone(UTC)
    assert hours.add(utc, timedelta(hours=2)).tzinfo is UTC
    assert hours.contains(at(20, 9))
    assert not hours.contains(at(20, 20))
    with pytest.raises(ValueError, match="not like 09:00-20:00"):
        WorkingHours.parse("9-20", MOSCOW)
    with pytest.raises(ValueError, match="end before they start"):
        WorkingHours.parse("20:00-09:00", MOSCOW)
