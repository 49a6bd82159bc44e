"""What the case board (the Mini App) shows, as JSON for its page: the page's words, a
case's row and its whole card, and the period's figures from the same report as /stats.

Everything here is plain text: the page puts it in with textContent, never as markup, so
a customer's "<b>" or a staff name with "&" reads exactly as typed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views.alerts import (
    answer_words,
    call_wish,
    cause_label,
    confirmation,
    customer_facts,
    event_detail,
    event_words,
)
from handlers.views.dates import format_moment, period_title
from handlers.views.feedback import media_words, topic_label
from handlers.views.stats import channel_name, figure, in_hours, percent
from storage.models import Case
from survey.cases import CAUSES, NOTE_MAX_CHARS, CaseStatus
from survey.questionnaire import decode_answers, question
from survey.report import Report

Json = dict[str, Any]


def page_words() -> dict[str, str]:
    """Every fixed word on the page, in the reader's language."""
    return {
        "title": _("Cases board"),
        "cases": _("Cases"),
        "figures": _("Figures"),
        "all": _("All"),
        "mine": _("Mine"),
        "unassigned": _("Not taken"),
        "overdue": _("Overdue"),
        "any_advisor": _("Any advisor"),
        "none": _("No open cases. 🎉"),
        "none_here": _("No cases match the filter."),
        "take_by": _("take within"),
        "resolve_by": _("resolve within"),
        "late_by": _("overdue by"),
        "back": _("Back"),
        "take": _("Take it"),
        "close": _("Close the case"),
        "cause": _("Cause"),
        "note": _("What was done (the resolution note)"),
        "save": _("Close"),
        "answers": _("Answers"),
        "comment": _("Comment"),
        "history": _("History"),
        "period": _("Period"),
        "no_data": _("No surveys were completed in this period."),
        "failed": _("Something went wrong; try again."),
        "days7": _("7 days"),
        "days30": _("30 days"),
        "days90": _("90 days"),
        "all_time": _("All time"),
        "d": _("d"),
    }


def closing_problem(cause: object, note: object) -> Callable[[], str] | None:
    """What is wrong with a close request from the page (said when called), or None."""
    if cause not in CAUSES:
        return lambda: _("Choose the cause.")
    if not isinstance(note, str) or not note.strip():
        return lambda: _("Please write the resolution note as text.")
    if len(note) > NOTE_MAX_CHARS:
        return lambda: _("The note is longer than {limit} characters; please shorten it.").format(
            limit=NOTE_MAX_CHARS
        )
    return None


def causes() -> list[Json]:
    return [{"code": cause, "label": cause_label(cause)} for cause in CAUSES]


def _due(case: Case) -> datetime | None:
    return case.take_due_at if case.status == CaseStatus.OPEN else case.resolve_due_at


def sort_key(case: Case) -> tuple[int, datetime, int]:
    """Most severe first, then the SLA that runs out first."""
    due = _due(case) or case.created_at
    return (0 if case.severity == "high" else 1, due, case.id)


def _summary(case: Case) -> str:
    if case.survey is None:
        return topic_label(case.topic) + (f": {case.message[:120]}" if case.message else "")
    words = [
        answer_words(int(problem["question"]), str(problem["value"]))
        for problem in case.problems
        if problem.get("question") is not None
    ]
    return "; ".join(words)


def case_row(case: Case, zone: ZoneInfo, now: datetime) -> Json:
    """One line of the board: who, what, whose, and the SLA that runs."""
    visit = case.visit
    due = _due(case)
    if case.status == CaseStatus.RESOLVED:
        state = _("Resolved {when} by {who}").format(
            when=format_moment(case.resolved_at, zone), who=case.assignee_name or ""
        )
        if case.cause:
            state += " · " + cause_label(case.cause)
    elif case.status == CaseStatus.TAKEN:
        state = _("taken by {who}").format(who=case.assignee_name or "")
    else:
        state = _("new")
    if case.customer_confirmed is False and case.status != CaseStatus.RESOLVED:
        state = _("reopened by the customer") + ", " + state
    return {
        "id": case.id,
        "severity": case.severity,
        "status": case.status,
        "state": state,
        "feedback": case.kind == "feedback",
        "customer": case.customer_name,
        "car": visit.car if visit else "",
        "order_no": visit.order_no if visit else "",
        "advisor": visit.advisor if visit else "",
        "opened": format_moment(case.created_at, zone),
        "due": due.isoformat() if due else None,
        "overdue": due is not None and due <= now,
        "assignee_id": case.assignee_id,
        "summary": _summary(case),
    }


def _answers(case: Case, locale: str) -> list[Json]:
    survey = case.survey
    if survey is None:
        return []
    flagged = {int(p["question"]) for p in case.problems if p.get("question") is not None}
    rows = []
    for number, value in sorted(decode_answers(survey.answer_codes).items()):
        q = question(number)
        rows.append(
            {
                "question": f"{number}. {q.short.get(locale, q.short['ru'])}",
                "answer": answer_words(number, value).split(": ", 1)[-1],
                "problem": number in flagged,
            }
        )
    return rows


def _facts(case: Case) -> list[str]:
    """The lines under the title: the customer, the visit, the wish to be called."""
    extra = [call_wish(case), confirmation(case)]
    return customer_facts(case) + [line for line in extra if line is not None]


def case_card(case: Case, zone: ZoneInfo, now: datetime, locale: str, group: int | None) -> Json:
    """A case as the board opens it: its row, answers, comment, history and what can be done."""
    survey = case.survey
    media = (survey.comment_media if survey else case.media) or []
    words = event_words()
    history = []
    for event in case.events[-50:]:
        line = words.get(event.kind, event.kind)
        if event.actor_name:
            line += f" ({event.actor_name})"
        detail = event_detail(event, group)
        if detail:
            line += f": {detail}"
        history.append({"when": format_moment(event.created_at, zone), "text": line})
    comment = survey.comment if survey else case.message
    return {
        **case_row(case, zone, now),
        "title": (
            _("Case #{number}, high severity") if case.severity == "high" else _("Case #{number}")
        ).format(number=case.id),
        "facts": _facts(case),
        "topic": topic_label(case.topic) if survey is None else None,
        "answers": _answers(case, locale),
        "comment": comment or "",
        "media": media_words(media) if media else "",
        "history": history,
        "can_take": case.status == CaseStatus.OPEN,
        "can_close": case.status != CaseStatus.RESOLVED,
    }


def figures(report: Report, locale: str) -> Json:
    """The period's figures: the same report object /stats sends as text."""
    funnel, cases = report.funnel, report.escalations
    tiles = [
        (_("Invited"), str(funnel.invited)),
        (_("Completed"), f"{funnel.completed} ({percent(funnel.response_rate)})"),
        (_("CSI"), figure(report.csi)),
        (_("Median time to answer"), in_hours(report.median_completion_seconds)),
        (_("Cases opened"), str(cases.opened)),
        (_("Taken within SLA"), f"{cases.taken_within_sla} / {cases.taken}"),
        (_("Median time to take"), in_hours(cases.median_take_seconds)),
        (_("Median time to resolve"), in_hours(cases.median_resolve_seconds)),
    ]
    questions = []
    for q in report.questions:
        short = question(q.question).short
        questions.append(
            {
                "question": f"{q.question}. {short.get(locale, short['ru'])}",
                "share": percent(q.problem_share),
                "value": q.problem_share or 0.0,
                "answered": q.answered,
            }
        )
    advisors = [
        {
            "advisor": row.advisor,
            "csi": figure(None if row.csi_mean_score is None else row.csi_mean_score * 100, 0),
            "surveys": row.completed,
        }
        for row in report.advisors
        if row.completed
    ]
    channels = [
        {
            "channel": channel_name(name),
            "invited": counts.invited,
            "completed": counts.completed,
            "rate": percent(counts.response_rate),
        }
        for name, counts in report.channels.items()
    ]
    return {
        "title": _("Statistics for {period}").format(period=period_title(report.period)),
        "tiles": [{"label": label, "value": value} for label, value in tiles],
        "questions_title": _('Problem answers ("not sure" not counted)'),
        "advisors_title": _("Service advisors (CSI, surveys)"),
        "questions": questions,
        "advisors": advisors,
        "channels": channels,
        "has_data": funnel.completed > 0,
    }


def board_keyboard(url: str) -> InlineKeyboardMarkup:
    """The button that opens the board inside Telegram (private chats only)."""
    builder = InlineKeyboardBuilder()
    builder.button(text="📋 " + _("Open the cases board"), web_app=WebAppInfo(url=url))
    return builder.as_markup()


def board_invitation() -> str:
    return _(
        "Every open case, its countdown and the figures on one screen. The same board "
        "opens from the “Cases” button beside the message field."
    )


def board_in_private(bot_username: str) -> tuple[str, InlineKeyboardMarkup]:
    """In a group: Telegram opens a Mini App only from a private chat."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Open a private chat"), url=f"https://t.me/{bot_username}")
    text = _(
        "The board opens in a private chat with me: the “Cases” button beside the message "
        "field, or /board there."
    )
    return text, builder.as_markup()


def board_not_set_up() -> str:
    return _(
        "The cases board is not set up: it needs the bot's web server with an HTTPS "
        "address (WEBHOOK_URL, or BOARD_URL with API_LISTEN)."
    )
