"""Callback data of every inline button. Telegram allows 64 bytes; prefixes stay short."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData


class SurveyAction(StrEnum):
    START = "s"
    DECLINE = "d"
    BACK = "b"
    FORWARD = "f"
    SKIP_COMMENT = "c"
    CONTACT_YES = "y"
    CONTACT_NO = "n"


class AnswerCallback(CallbackData, prefix="ans"):
    survey_id: int
    step: int
    value: str


class SurveyNavCallback(CallbackData, prefix="nav"):
    survey_id: int
    step: int
    action: SurveyAction


def packed(kind: type[CallbackData], **values: int | str) -> str:
    """`kind(**values).pack()` without building the model to dump it again: the survey
    draws up to seven buttons a screen on every press, and aiogram's pack costs several
    microseconds a button. The same string for ints and strings (a StrEnum as its value)
    given for every field; anything else, a separator in a value or data longer than
    Telegram's 64 bytes goes to aiogram's pack, which refuses what it cannot pack."""
    separator = kind.__separator__
    parts = [kind.__prefix__]
    for name in kind.model_fields:
        value = values.get(name)
        text = value.value if isinstance(value, StrEnum) else value
        if type(text) is int:
            parts.append(str(text))
        elif type(text) is str and separator not in text:
            parts.append(text)
        else:
            return kind(**values).pack()
    data = separator.join(parts)
    if len(values) != len(kind.model_fields) or len(data.encode()) > MAX_CALLBACK_LENGTH:
        return kind(**values).pack()
    return data


class LanguageCallback(CallbackData, prefix="lang"):
    code: str


class OptInCallback(CallbackData, prefix="optin"):
    """Undo /stop from the button under its confirmation."""


class CaseAction(StrEnum):
    TAKE = "t"
    CLOSE = "c"
    REOPEN = "r"
    SHOW = "s"


class CaseCallback(CallbackData, prefix="case"):
    case_id: int
    action: CaseAction


class CauseCallback(CallbackData, prefix="cause"):
    case_id: int
    cause: str


class CallWindowCallback(CallbackData, prefix="win"):
    case_id: int
    window: str


class FixedCallback(CallbackData, prefix="fixed"):
    case_id: int
    fixed: bool


class BroadcastCallback(CallbackData, prefix="bc"):
    broadcast_id: int
    action: str


class AudienceCallback(CallbackData, prefix="aud"):
    audience: str


class ConfirmCallback(CallbackData, prefix="ok"):
    """Start the broadcast previewed in this admin's dialogue (the plan is in FSM data)."""

    go: bool


class StaffCallback(CallbackData, prefix="staff"):
    user_id: int


class ForgetCallback(CallbackData, prefix="forget"):
    confirmed: bool


class SegmentCallback(CallbackData, prefix="seg"):
    segment: str


class FeedbackCallback(CallbackData, prefix="fb"):
    """The topic of the message a customer just wrote ("cancel": it was nothing)."""

    topic: str


class PhoneCallback(CallbackData, prefix="ph"):
    """An operator's button: open a call card, a call's outcome, or the list as a file."""

    survey_id: int
    action: str
