"""What a call-centre operator sees: the call list, a call card, the survey's header."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views.alerts import visit_details
from handlers.views.callbacks import PhoneCallback
from handlers.views.dates import format_date, format_moment
from handlers.views.text import Html, fill
from storage.models import Survey
from survey.calls import ANSWERED, LATER, NO_ANSWER, REFUSED

FILE = "file"


def phone_header(name: str, phone: str | None) -> Html:
    return fill("📞 " + _("Phone survey: {name}, {phone}"), name=name, phone=phone or "—")


def reason_words(reason: str) -> str:
    return {
        "no_telegram": _("no Telegram"),
        "blocked": _("blocked the bot"),
        "expired": _("did not answer the survey"),
        "uncertain": _("the invitation may not have arrived"),
    }.get(reason, reason)


def call_list(rows: Sequence[dict[str, Any]], attempts: int) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    lines = ["<b>" + fill(_("To phone: {count}"), count=len(rows)) + "</b>", ""]
    for row in rows:
        lines.append(
            fill(
                _(
                    "{name}, {phone} · {car}, {order_no} of {date} · {reason} · "
                    "calls {made} of {most}"
                ),
                name=row["name"],
                phone=row["phone"],
                car=row["car"],
                order_no=row["order_no"],
                date=format_date(row["visit_date"]),
                reason=reason_words(row["reason"]),
                made=row["attempts"],
                most=attempts,
            )
        )
        builder.button(
            text=f"📞 {row['name']}"[:60],
            callback_data=PhoneCallback(survey_id=row["survey_id"], action="open"),
        )
    builder.button(
        text=_("The whole list as a file"), callback_data=PhoneCallback(survey_id=0, action=FILE)
    )
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


def call_card(survey: Survey, attempts: int) -> tuple[str, InlineKeyboardMarkup]:
    visit = survey.visit
    lines = [
        "<b>" + phone_header(visit.customer.name, visit.customer.phone) + "</b>",
        *visit_details(visit),
        fill(_("Calls so far: {made} of {most}"), made=survey.call_attempts, most=attempts),
        "",
        _(
            "Greet the customer, say who is calling and why, and ask whether they have two "
            "minutes for twelve short questions."
        ),
    ]
    builder = InlineKeyboardBuilder()
    for action, label in (
        (ANSWERED, _("On the line: start the survey")),
        (NO_ANSWER, _("No answer")),
        (LATER, _("Call later")),
        (REFUSED, _("Refused")),
    ):
        builder.button(text=label, callback_data=PhoneCallback(survey_id=survey.id, action=action))
    builder.adjust(1, 3)
    return "\n".join(lines), builder.as_markup()


def call_recorded(survey: Survey, outcome: str, zone: ZoneInfo, next_call: datetime | None) -> str:
    name = survey.visit.customer.name
    if outcome == REFUSED:
        return fill(_("{name} refused the survey: off the call list."), name=name)
    if next_call is None:
        return fill(_("{name}: no more calls (the attempts ran out)."), name=name)
    return fill(_("{name}: the next call {when}."), name=name, when=format_moment(next_call, zone))


def not_callable() -> str:
    return _("This survey is completed or refused: nothing to call about.")
