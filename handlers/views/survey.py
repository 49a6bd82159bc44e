"""Survey screens: each is a pure function of the survey's state and the locale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views.callbacks import (
    AnswerCallback,
    CallWindowCallback,
    SurveyAction,
    SurveyNavCallback,
    packed,
)
from handlers.views.dates import format_date
from handlers.views.text import fill
from storage.models import Survey
from storage.survey_rows import SurveyRow
from survey.dialogue import COMMENT_MAX_CHARS, COMMENT_STEP, CONTACT_STEP, SurveyRun, SurveyStatus
from survey.questionnaire import QUESTION_COUNT, Kind, question


@dataclass(frozen=True, slots=True)
class VisitCard:
    """What the customer is asked about, as shown in the survey's greeting."""

    customer_name: str
    order_no: str
    visit_date: date
    car: str
    customer_phone: str | None = None

    @classmethod
    def of(cls, survey: Survey | SurveyRow) -> VisitCard:
        if isinstance(survey, SurveyRow):
            return cls(
                survey.customer_name,
                survey.order_no,
                survey.visit_date,
                survey.car,
                survey.customer_phone,
            )
        visit = survey.visit
        customer = visit.customer
        return cls(customer.name, visit.order_no, visit.visit_date, visit.car, customer.phone)


@dataclass(frozen=True, slots=True)
class Screen:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def status_word(status: str) -> str:
    """A survey's state in words (never the stored "in_progress")."""
    return {
        SurveyStatus.INVITED: _("invited, not started"),
        SurveyStatus.IN_PROGRESS: _("started, not finished"),
        SurveyStatus.COMPLETED: _("completed"),
        SurveyStatus.DECLINED: _("declined"),
        SurveyStatus.EXPIRED: _("closed unanswered"),
    }.get(SurveyStatus(status), status)


def intro(run: SurveyRun, visit: VisitCard, dealership: str) -> Screen:
    text = fill(
        _(
            "Hello, {name}!\n\n"
            "This is the client service of {dealership}. Thank you for visiting us on {date} "
            "({car}, work order {order_no}).\n\n"
            "Please answer {count} short questions about the visit: it takes about two minutes, "
            "and you can stop and continue at any time."
        ),
        name=visit.customer_name,
        dealership=dealership,
        date=format_date(visit.visit_date),
        car=visit.car,
        order_no=visit.order_no,
        count=QUESTION_COUNT,
    )
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Start the survey"),
        callback_data=SurveyNavCallback(survey_id=run.id, step=0, action=SurveyAction.START),
    )
    builder.button(
        text=_("I don't want to take part"),
        callback_data=SurveyNavCallback(survey_id=run.id, step=0, action=SurveyAction.DECLINE),
    )
    builder.adjust(1)
    return Screen(text, builder.as_markup())


def step_screen(run: SurveyRun, locale: str) -> Screen:
    if run.step <= QUESTION_COUNT:
        return _question_screen(run, locale)
    if run.step == COMMENT_STEP:
        return _comment_screen(run)
    return _contact_screen(run)


def _progress(number: int) -> str:
    return fill(_("Question {number} of {count}"), number=number, count=QUESTION_COUNT)


def _question_screen(run: SurveyRun, locale: str) -> Screen:
    q = question(run.step)
    chosen = run.answers.get(q.number)
    lines = [f"<b>{_progress(q.number)}</b>", "", q.text.get(locale, q.text["ru"])]
    if q.kind is Kind.RATING:
        lines += ["", "<i>" + _("1 is very poor, 5 is excellent") + "</i>"]
    if chosen is not None:
        lines += ["", fill(_("Your answer: {answer}"), answer=q.label(chosen, locale))]

    answers = [
        InlineKeyboardButton(
            text=f"✓ {q.label(value, locale)}" if value == chosen else q.label(value, locale),
            callback_data=packed(AnswerCallback, survey_id=run.id, step=q.number, value=value),
        )
        for value in q.values
    ]
    rows = [answers] if q.kind is Kind.RATING else [[button] for button in answers]
    rows.append(_navigation(run, can_go_on=chosen is not None))
    return Screen("\n".join(lines), _markup(rows))


def _comment_screen(run: SurveyRun) -> Screen:
    lines = [
        "<b>" + _("Almost done") + "</b>",
        "",
        fill(
            _(
                "Would you like to add anything? Write a comment in one message "
                "(up to {limit} characters), or press the button below."
            ),
            limit=COMMENT_MAX_CHARS,
        ),
    ]
    if run.comment:
        lines += ["", fill(_("Your comment: {comment}"), comment=run.comment)]
    skip = _nav_button(_("No comment"), run.id, COMMENT_STEP, SurveyAction.SKIP_COMMENT)
    rows = [[skip], _navigation(run, can_go_on=run.comment is not None)]
    return Screen("\n".join(lines), _markup(rows))


def _contact_screen(run: SurveyRun) -> Screen:
    text = _("May a client-service manager contact you about this visit?")
    rows = [
        [_nav_button(_("Yes, please contact me"), run.id, CONTACT_STEP, SurveyAction.CONTACT_YES)],
        [_nav_button(_("No, thank you"), run.id, CONTACT_STEP, SurveyAction.CONTACT_NO)],
        _navigation(run, can_go_on=False),
    ]
    return Screen("<b>" + _("Last question") + "</b>\n\n" + text, _markup(rows))


def _navigation(run: SurveyRun, *, can_go_on: bool) -> list[InlineKeyboardButton]:
    buttons = []
    if run.step > 1:
        buttons.append(_nav_button(_("← Back"), run.id, run.step, SurveyAction.BACK))
    if can_go_on:
        buttons.append(_nav_button(_("Next →"), run.id, run.step, SurveyAction.FORWARD))
    return buttons


def _nav_button(
    text: str, survey_id: int, step: int, action: SurveyAction
) -> InlineKeyboardButton:
    data = packed(SurveyNavCallback, survey_id=survey_id, step=step, action=action)
    return InlineKeyboardButton(text=text, callback_data=data)


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """Built directly, not with InlineKeyboardBuilder, whose deep copies cost several per
    cent of a press's CPU: these screens are drawn on presses."""
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def answered_echo(run: SurveyRun, step: int, locale: str, typed: str) -> str:
    """What an old question message turns into once answered by typing: no live buttons."""
    if step <= QUESTION_COUNT:
        q = question(step)
        chosen = run.answers.get(step)
        answer = q.label(chosen, locale) if chosen else typed
        return "\n".join(
            [
                f"<b>{_progress(step)}</b>",
                "",
                q.text.get(locale, q.text["ru"]),
                "",
                fill(_("Your answer: {answer}"), answer=answer),
            ]
        )
    return fill(_("Your comment: {comment}"), comment=typed[:200])


def thanks(run: SurveyRun, call_case_id: int | None = None, offer_today: bool = False) -> Screen:
    lines = ["<b>" + _("Thank you for your answers!") + "</b>", ""]
    if not run.wants_contact:
        lines.append(_("Your opinion helps us make the service better."))
        return Screen("\n".join(lines))
    lines.append(_("A client-service manager will contact you soon."))
    if call_case_id is None:
        return Screen("\n".join(lines))
    lines += ["", _("When is it convenient for us to call?")]
    builder = InlineKeyboardBuilder()
    windows = [("today", _("Today"))] if offer_today else []
    windows += [
        ("morning", _("Tomorrow morning")),
        ("evening", _("Tomorrow evening")),
        ("any", _("Any time")),
    ]
    for window, label in windows:
        builder.button(
            text=label, callback_data=CallWindowCallback(case_id=call_case_id, window=window)
        )
    builder.adjust(1)
    return Screen("\n".join(lines), builder.as_markup())


def declined() -> Screen:
    return Screen(
        _(
            "Understood, we will not ask you about this visit. If you change your mind, "
            "open the invitation link again."
        )
    )


def invitation(
    run: SurveyRun, visit: VisitCard, dealership: str, privacy_url: str | None
) -> Screen:
    """The first message a customer gets from us: who writes, why, and their data rights."""
    screen = intro(run, visit, dealership)
    lines = [screen.text, ""]
    if privacy_url:
        lines.append(fill(_("How we handle your personal data: {url}"), url=privacy_url))
    lines.append(_("/stop: receive no more surveys, /mydata: what we store about you."))
    return Screen("\n".join(lines), screen.keyboard)


def reminder(run: SurveyRun, visit: VisitCard, dealership: str, locale: str) -> Screen:
    if run.answered_count:
        header: str = fill(
            _(
                "A reminder: you have answered {done} of {count} questions about your visit "
                "on {date}. Shall we finish?"
            ),
            done=run.answered_count,
            count=QUESTION_COUNT,
            date=format_date(visit.visit_date),
        )
        screen = step_screen(run, locale)
        return Screen(header + "\n\n" + screen.text, screen.keyboard)
    screen = intro(run, visit, dealership)
    header = _("A reminder about our short survey; it closes in a few days.")
    return Screen(header + "\n\n" + screen.text, screen.keyboard)
