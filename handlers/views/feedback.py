"""What feedback looks like: the topic question, the case card's part, the praise notice."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views.callbacks import FeedbackCallback
from handlers.views.text import Html, fill
from storage.models import Case
from survey.feedback import CALL, COMPLAINT, PRAISE, QUESTION, TOPICS


def topic_label(topic: str | None) -> str:
    return {
        COMPLAINT: _("Complaint"),
        QUESTION: _("Question"),
        CALL: _("Please call me"),
        PRAISE: _("Praise"),
    }.get(topic or "", topic or "")


def topic_question(survey_waiting: bool = False) -> str:
    text = _("Thank you for writing. So that the right person answers: what is it about?")
    if survey_waiting:
        text += "\n\n" + _("If you meant to go on with the survey, send /start instead.")
    return text


def topic_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for topic in TOPICS:
        builder.button(text=topic_label(topic), callback_data=FeedbackCallback(topic=topic))
    builder.button(text=_("Cancel"), callback_data=FeedbackCallback(topic="cancel"))
    builder.adjust(2, 2, 1)
    return builder.as_markup()


def media_words(media: list[dict[str, Any]] | None) -> str:
    counts = Counter(item["type"] for item in media or [])
    names = {
        "photo": _("photo"),
        "voice": _("voice message"),
        "video": _("video"),
        "video_note": _("video message"),
        "audio": _("audio"),
        "document": _("file"),
    }
    return ", ".join(f"{names.get(kind, kind)} ×{count}" for kind, count in counts.items())


def feedback_lines(case: Case) -> list[str]:
    lines = ["✉️ " + fill(_("Feedback: {topic}"), topic=topic_label(case.topic))]
    if case.message:
        lines.append(fill(_("Message: {text}"), text=case.message[:1500]))
    if case.media:
        lines.append("📎 " + fill(_("Attached: {media}"), media=media_words(case.media)))
    return lines


def received(topic: str, number: int | None) -> str:
    if number is None:
        return _("Thank you! We have passed your kind words on to the team.")
    if topic == CALL:
        return fill(
            _("Thank you! Request #{number} is with the client service; a manager will call you."),
            number=number,
        )
    return fill(
        _("Thank you! Your message is case #{number}; a manager will answer you here."),
        number=number,
    )


def praise_notice(name: str, visit: str | None, text: str | None, media: str) -> Html:
    lines = ["💐 " + fill(_("Praise from {name}"), name=name)]
    if visit:
        lines.append(visit)
    if text:
        lines.append(fill("«{text}»", text=text[:1500]))
    if media:
        lines.append("📎 " + fill(_("Attached: {media}"), media=media))
    return Html("\n".join(lines))
