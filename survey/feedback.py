"""Feedback at any time: what a customer's message outside a survey becomes.

The customer says what it is with a button: a complaint, a question, a request to be
called, or praise. The first three become a case of kind "feedback" (the same take /
talk / close / "is it solved?" loop and SLAs as a survey's case); praise goes to the
managers as a notice, or a case too when FeedbackPolicy.praise_is_case is set.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPLAINT, QUESTION, CALL, PRAISE = "complaint", "question", "call", "praise"
TOPICS = (COMPLAINT, QUESTION, CALL, PRAISE)
# What Telegram calls the media a customer may send, and where its file id is.
MEDIA_KINDS = ("photo", "voice", "video", "video_note", "audio", "document")
MESSAGE_MAX_CHARS = 4000
MAX_MEDIA = 10


@dataclass(frozen=True, slots=True)
class FeedbackPolicy:
    praise_is_case: bool = False


class UnknownTopic(ValueError):
    """A topic no button offers (forged button data)."""


def becomes_case(topic: str, policy: FeedbackPolicy) -> bool:
    if topic not in TOPICS:
        raise UnknownTopic(topic)
    return topic != PRAISE or policy.praise_is_case


def severity(topic: str) -> str:
    """A complaint is urgent; a question, a call request or praise is normal."""
    return "high" if topic == COMPLAINT else "normal"
