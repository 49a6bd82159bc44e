"""Phone surveys by the call centre: who is on the call list, and what a call's outcome
means for the next one.

A survey whose customer the bot cannot reach (no Telegram, blocked, the invitation may not
have arrived, or it closed unanswered) is on the call list until it is completed, the
customer refuses, or CALL_ATTEMPTS calls went unanswered. An operator walks the same
questionnaire on the customer's behalf (channel "phone"); a call nobody answered comes
back after CallPolicy.retry_after, "call me later" after CallPolicy.later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ANSWERED, NO_ANSWER, LATER, REFUSED = "answered", "no_answer", "later", "refused"
OUTCOMES = (ANSWERED, NO_ANSWER, LATER, REFUSED)
TELEGRAM, PHONE = "telegram", "phone"
CHANNELS = (TELEGRAM, PHONE)


@dataclass(frozen=True, slots=True)
class CallPolicy:
    attempts: int = 3
    retry_after: timedelta = timedelta(hours=2)
    later: timedelta = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CallResult:
    attempts: int
    next_call_at: datetime | None
    # No more calls: the customer refused, or the attempts ran out.
    done: bool


class UnknownOutcome(ValueError):
    pass


def after_call(outcome: str, attempts: int, now: datetime, policy: CallPolicy) -> CallResult:
    """The call just made, counted; when (whether) to call again."""
    if outcome not in OUTCOMES:
        raise UnknownOutcome(outcome)
    made = attempts + 1
    if outcome == ANSWERED:
        return CallResult(made, None, done=False)
    if outcome == REFUSED:
        return CallResult(made, None, done=True)
    if made >= policy.attempts:
        return CallResult(made, None, done=True)
    wait = policy.later if outcome == LATER else policy.retry_after
    return CallResult(made, now + wait, done=False)
