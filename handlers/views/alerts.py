"""What client-service staff see: the case card, its buttons, reminders and case lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views.callbacks import CaseAction, CaseCallback, CauseCallback, FixedCallback
from handlers.views.dates import format_date
from handlers.views.feedback import feedback_lines, media_words, topic_label
from handlers.views.text import Html, bold, fill, quote
from storage.models import Case, CaseEvent, Visit
from survey.cases import ACTIVE, CAUSES, CaseStatus
from survey.feedback import CALL, TOPICS
from survey.questionnaire import QUESTION_COUNT, Kind, question

# Telegram's limit is 4096 characters of text; HTML tags do not count, so this is safe.
MESSAGE_LIMIT = 4000


def cause_label(cause: str) -> str:
    return {
        "advisor": _("Service advisor"),
        "workshop": _("Workshop"),
        "parts": _("Parts"),
        "billing": _("Billing"),
        "waiting": _("Waiting time"),
        "other": _("Other"),
    }.get(cause, cause)


def window_label(window: str | None, day: date | None) -> str:
    labels = {
        "today": _("today"),
        "morning": _("in the morning"),
        "evening": _("in the evening"),
        "any": _("at any time"),
    }
    text = labels.get(window or "", "")
    if day is not None and window in ("morning", "evening"):
        text = f"{text} {format_date(day)}"
    return text


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d.%m %H:%M") if moment else ""


def severity_line(case: Case) -> str:
    if case.severity == "high":
        return "🔴 " + fill(_("Case #{number}, high severity"), number=case.id)
    return "🟡 " + fill(_("Case #{number}"), number=case.id)


def status_line(case: Case, zone: ZoneInfo) -> str:
    if case.status == CaseStatus.RESOLVED:
        text: str = fill(
            _("Resolved {when} by {who}"),
            when=_when(case.resolved_at, zone),
            who=case.assignee_name or "",
        )
        if case.cause:
            text += " · " + cause_label(case.cause)
        return "✅ " + text
    if case.status == CaseStatus.TAKEN:
        return "🛠 " + fill(
            _("Taken {when} by {who}"),
            when=_when(case.taken_at, zone),
            who=case.assignee_name or "",
        )
    return "🆕 " + _("New, nobody has taken it yet")


def _locale() -> str:
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else "ru"


def answer_words(number: int, value: str) -> str:
    """One answer as staff read it: the question's short title and the button's words."""
    q = question(number)
    locale = _locale()
    answer = q.label(value, locale)
    if q.kind is Kind.RATING:
        answer = fill(_("{rating} of 5"), rating=answer)
    return f"{q.short.get(locale, q.short['ru'])}: {answer}"


def problem_lines(case: Case) -> list[str]:
    lines = []
    for problem in case.problems:
        number = problem.get("question")
        if number is None:
            continue
        marker = "‼️" if problem.get("severity") == "high" else "•"
        lines.append(f"{marker} {quote(answer_words(int(number), str(problem['value'])))}")
    return lines


def visit_summary(visit: Visit) -> str:
    """One line about a visit: the car, the work order and its date, the advisor."""
    return fill(
        _("{car}, work order {order_no} of {date}, advisor {advisor}"),
        car=visit.car,
        order_no=visit.order_no,
        date=format_date(visit.visit_date),
        advisor=visit.advisor,
    )


def customer_facts(case: Case) -> list[str]:
    """Who the customer is and the visit the case is about (when there is one), as plain
    text: the card quotes it, the case board shows it as text."""
    visit = case.visit
    if visit is None:
        return [_("Customer: {name} (no visit on record)").format(name=case.customer_name)]
    phone = visit.customer.phone or ""
    return [
        _("Customer: {name}, {phone}").format(name=case.customer_name, phone=phone),
        *visit_facts(visit),
    ]


def visit_facts(visit: Visit) -> list[str]:
    """The car, the work order and its date, the advisor: two lines of plain text."""
    return [
        _("Car: {car}, work order {order_no} of {date}").format(
            car=visit.car, order_no=visit.order_no, date=format_date(visit.visit_date)
        ),
        _("Service advisor: {advisor}").format(advisor=visit.advisor),
    ]


def visit_lines(case: Case) -> list[str]:
    return [Html(quote(line)) for line in customer_facts(case)]


def visit_details(visit: Visit) -> list[str]:
    return [Html(quote(line)) for line in visit_facts(visit)]


def call_wish(case: Case) -> str | None:
    """Whether to call the customer (and when), in words; None when they did not say."""
    survey = case.survey
    if (survey is None and case.topic == CALL) or (survey is not None and survey.wants_contact):
        call = "📞 " + _("The customer asks to be contacted")
        if case.call_window:
            call += ": " + window_label(case.call_window, case.call_window_date)
        return call
    if survey is not None and survey.wants_contact is False:
        return _("The customer does not want to be called.")
    return None


def confirmation(case: Case) -> str | None:
    """The customer's answer to "is it solved?", once given."""
    if case.customer_confirmed is True:
        return "👍 " + _("The customer confirmed the problem is solved.")
    if case.customer_confirmed is False:
        return "👎 " + _("The customer says the problem is not solved.")
    return None


def alert_text(case: Case, zone: ZoneInfo) -> str:
    lines = [
        "<b>" + severity_line(case) + "</b>",
        status_line(case, zone),
        "",
        *visit_lines(case),
        "",
    ]
    survey = case.survey
    if survey is None:
        lines += feedback_lines(case)
    else:
        problems = problem_lines(case)
        lines += problems or [_("No problem answers any more (the customer changed them).")]
        if survey.comment:
            lines += ["", fill(_("Comment: {comment}"), comment=survey.comment[:1500])]
        if survey.comment_media:
            media = media_words(survey.comment_media)
            lines.append("📎 " + fill(_("Attached: {media}"), media=media))
    wish = call_wish(case)
    if wish is not None:
        lines += ["", wish]
    answered = confirmation(case)
    if answered is not None:
        lines.append(answered)
    return "\n".join(lines)


def alert_keyboard(case: Case) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if case.status == CaseStatus.OPEN:
        builder.button(
            text=_("Take it"), callback_data=CaseCallback(case_id=case.id, action=CaseAction.TAKE)
        )
    if case.status in ACTIVE:
        builder.button(
            text=_("Close"), callback_data=CaseCallback(case_id=case.id, action=CaseAction.CLOSE)
        )
    if case.status == CaseStatus.RESOLVED:
        builder.button(
            text=_("Reopen"),
            callback_data=CaseCallback(case_id=case.id, action=CaseAction.REOPEN),
        )
    return builder.as_markup()


def cause_keyboard(case_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for cause in CAUSES:
        builder.button(
            text=cause_label(cause), callback_data=CauseCallback(case_id=case_id, cause=cause)
        )
    builder.adjust(2)
    return builder.as_markup()


def take_reminder(case: Case, zone: ZoneInfo) -> str:
    return (
        "⏰ "
        + _("Nobody has taken this case within the agreed time.")
        + "\n\n"
        + alert_text(case, zone)
    )


def resolve_reminder(case: Case, zone: ZoneInfo) -> str:
    return (
        "⏰ "
        + fill(
            _("Case #{number} is still not resolved: the agreed time has passed."), number=case.id
        )
        + "\n\n"
        + alert_text(case, zone)
    )


EVENT_ICONS = {
    "created": "🆕",
    "updated": "✏️",
    "alerted": "📨",
    "taken": "🛠",
    "note": "📝",
    "resolved": "✅",
    "reopened": "↩️",
    "reminder_sent": "⏰",
    "relay_out": "➡️",
    "relay_in": "⬅️",
    "customer_fixed": "👍",
    "customer_not_fixed": "👎",
    "call_window": "📞",
}


def event_words() -> dict[str, str]:
    return {
        "created": _("case opened"),
        "updated": _("answers changed"),
        "alerted": _("alert sent to"),
        "taken": _("taken"),
        "note": _("resolution note"),
        "resolved": _("closed, cause"),
        "reopened": _("reopened"),
        "reminder_sent": _("reminder"),
        "relay_out": _("to the customer"),
        "relay_in": _("from the customer"),
        "customer_fixed": _("the customer confirmed it is solved"),
        "customer_not_fixed": _("the customer says it is not solved"),
        "call_window": _("call the customer"),
    }


_ANSWER = re.compile(r"^Q(\d+)=(\w+)$")


def _problems_words(summary: str) -> str:
    """A stored summary ("Q7=yes, contact") in words."""
    words = []
    for part in summary.split(", "):
        match = _ANSWER.match(part)
        if match and 1 <= int(match.group(1)) <= QUESTION_COUNT:
            words.append(answer_words(int(match.group(1)), match.group(2)))
        elif part == "contact":
            words.append(_("asks to be called"))
        else:
            words.append(part)
    return "; ".join(words)


def event_detail(event: CaseEvent, group_id: int | None) -> str:
    text = event.text or ""
    match event.kind:
        case "created" | "updated" if text in TOPICS:
            return topic_label(text)
        case "created" | "updated":
            return _problems_words(text)
        case "alerted" if text.lstrip("-").isdigit():
            # Older rows kept the chat's id; the group has a name in every language.
            return _("the managers' group") if int(text) == group_id else text
        case "resolved":
            return cause_label(text)
        case "reopened":
            return _("by the customer") if text == "customer" else ""
        case "reminder_sent":
            return {
                "take SLA": _("nobody took it in time"),
                "resolve SLA": _("not resolved in time"),
            }.get(text, text)
        case "call_window":
            return window_label(text, None)
    return text[:200]


def history(events: Sequence[CaseEvent], zone: ZoneInfo, group_id: int | None = None) -> str:
    words = event_words()
    lines = []
    for event in events[-25:]:
        line = f"{EVENT_ICONS.get(event.kind, '•')} {_when(event.created_at, zone)} "
        line += quote(words.get(event.kind, event.kind))
        if event.actor_name:
            line += f" ({quote(event.actor_name)})"
        detail = event_detail(event, group_id)
        if detail:
            line += f": {quote(detail)}"
        lines.append(line)
    return "\n".join(lines)


def case_list_line(case: Case, zone: ZoneInfo) -> str:
    icon = "🔴" if case.severity == "high" else "🟡"
    state = (
        fill(_("taken by {who}"), who=case.assignee_name)
        if case.assignee_name and case.status == CaseStatus.TAKEN
        else _("new")
    )
    if case.customer_confirmed is False:
        state = "↩️ " + _("reopened by the customer") + ", " + state
    customer = quote(case.customer_name)
    if case.kind == "feedback":
        customer = "✉️ " + customer
    return f"{icon} #{case.id} {customer} · {_when(case.created_at, zone)} · {quote(state)}"


def card_with_history(case: Case, zone: ZoneInfo, group_id: int | None = None) -> str:
    """The card and as much of its history as fits a message, newest events kept (cut by
    whole events: cutting the HTML itself could split a tag or an entity)."""
    events = list(case.events)
    while True:
        text = (
            alert_text(case, zone)
            + "\n\n"
            + bold(_("History"))
            + "\n"
            + history(events, zone, group_id)
        )
        if len(text) <= MESSAGE_LIMIT or not events:
            return text
        events = events[1:]


def list_title(mine: bool) -> str:
    return _("My cases") if mine else _("Open cases")


def case_list(
    cases: Sequence[Case], zone: ZoneInfo, title: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not cases:
        return _("No open cases. 🎉"), None
    builder = InlineKeyboardBuilder()
    lines = [f"<b>{title}: {len(cases)}</b>", ""]
    for case in cases:
        lines.append(case_list_line(case, zone))
        builder.button(
            text=f"#{case.id}", callback_data=CaseCallback(case_id=case.id, action=CaseAction.SHOW)
        )
    builder.adjust(5)
    return "\n".join(lines), builder.as_markup()


def fixed_question(case: Case) -> tuple[str, dict[str, object]]:
    """Asked of the customer once the case is closed; stored as a notice, sent by the outbox."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Yes, it is solved"), callback_data=FixedCallback(case_id=case.id, fixed=True)
    )
    builder.button(
        text=_("No, it is not"), callback_data=FixedCallback(case_id=case.id, fixed=False)
    )
    if case.survey is not None:
        text = fill(
            _(
                "We have looked into what you told us about your visit on {date}. "
                "Is the problem solved?"
            ),
            date=case.survey.visit.visit_date.strftime("%d.%m.%Y"),
        )
    else:
        text = fill(
            _("We have looked into your message of {date}. Is the question settled?"),
            date=case.created_at.strftime("%d.%m.%Y"),
        )
    return text, builder.as_markup().model_dump(mode="json", exclude_none=True)


def reopened_by_customer(case: Case) -> str:
    return "👎 " + fill(
        _("The customer says the problem is not solved: case #{number} is open again."),
        number=case.id,
    )
