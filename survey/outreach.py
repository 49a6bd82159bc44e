"""Outreach as the domain sees it: whom a broadcast addresses, what became of each send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

# The progress message is edited at most this often: Telegram limits edits too.
PROGRESS_EVERY = timedelta(seconds=3)


class SendStatus(StrEnum):
    PENDING = "pending"
    # Recorded (committed) just before the message leaves; the outcome replaces it right
    # after. Found after a crash it is UNCERTAIN: maybe delivered, so never sent again.
    SENDING = "sending"
    UNCERTAIN = "uncertain"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Audience(StrEnum):
    PERIOD = "period"
    NOT_COMPLETED = "not_completed"
    ORDER = "order"


@dataclass(frozen=True, slots=True)
class Progress:
    sent: int
    failed: int
    blocked: int
    skipped: int
    remaining: int
    cancelled: int
    uncertain: int = 0

    @classmethod
    def of(cls, counts: dict[str, int]) -> Progress:
        return cls(
            sent=counts.get(SendStatus.SENT, 0),
            failed=counts.get(SendStatus.FAILED, 0),
            blocked=counts.get(SendStatus.BLOCKED, 0),
            skipped=counts.get(SendStatus.SKIPPED, 0),
            remaining=counts.get(SendStatus.PENDING, 0) + counts.get(SendStatus.SENDING, 0),
            cancelled=counts.get(SendStatus.CANCELLED, 0),
            uncertain=counts.get(SendStatus.UNCERTAIN, 0),
        )
