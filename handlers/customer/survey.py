"""The customer's pass through the questionnaire: buttons, typed answers, comment, contact."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.settings import Settings
from handlers.outbound.outbox import Outbox
from handlers.views import survey as screens
from handlers.views.callbacks import AnswerCallback, SurveyAction, SurveyNavCallback
from storage.models import Case, Survey
from storage.uow import Repositories
from storage.workflows.escalate import escalate
from survey.dialogue import (
    COMMENT_STEP,
    NotYourSurvey,
    StaleStep,
    SurveyRun,
    SurveyStatus,
)
from survey.questionnaire import QUESTION_COUNT, Kind, question
from survey.typed_answers import parse_answer, parse_yes_no

Clock = Callable[[], datetime]


async def survey_on_screen(message: Message, db: Repositories) -> dict[str, Survey] | bool:
    """Filter: typed text goes to the survey in progress whose question is on screen in
    this chat. The survey row says so (its live message), so a press needs no FSM write
    and a restart or another process finds the same answer."""
    survey = await db.surveys.on_screen(message.chat.id)
    return {"survey": survey} if survey is not None else False


async def own_survey(db: Repositories, survey_id: int, user_id: int) -> Survey:
    survey = await db.surveys.get(survey_id)
    if survey is None or survey.visit.customer.telegram_user_id != user_id:
        raise NotYourSurvey
    return survey


def current_screen(
    survey: Survey, run: SurveyRun, settings: Settings, locale: str
) -> screens.Screen:
    if run.status is SurveyStatus.IN_PROGRESS:
        return screens.step_screen(run, locale)
    if run.status is SurveyStatus.COMPLETED:
        return screens.thanks(run)
    return screens.intro(run, screens.VisitCard.of(survey), settings.dealership_name)


async def show_survey(
    bot: Bot,
    chat_id: int,
    survey: Survey,
    db: Repositories,
    settings: Settings,
    locale: str,
) -> None:
    """Send the survey's current screen as a new message and make it the only live one."""
    run = db.surveys.run_of(survey)
    screen = current_screen(survey, run, settings, locale)
    await strip_keyboard(bot, survey.chat_id, survey.live_message_id)
    sent = await bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)
    db.surveys.set_live_message(survey, chat_id, sent.message_id)
    await db.commit()


async def strip_keyboard(bot: Bot, chat_id: int | None, message_id: int | None) -> None:
    if chat_id is None or message_id is None:
        return
    # Already without buttons, or deleted by the customer: nothing left to strip.
    with suppress(TelegramBadRequest):
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)


async def survey_started(
    query: CallbackQuery,
    callback_data: SurveyNavCallback,
    db: Repositories,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
) -> None:
    survey = await own_survey(db, callback_data.survey_id, query.from_user.id)
    run = db.surveys.run_of(survey)
    run.start()
    db.surveys.save_run(survey, run, clock())
    await _show_in_pressed_message(query, survey, run, db, settings, i18n.current_locale)


async def survey_declined(
    query: CallbackQuery,
    callback_data: SurveyNavCallback,
    db: Repositories,
    clock: Clock,
) -> None:
    survey = await own_survey(db, callback_data.survey_id, query.from_user.id)
    run = db.surveys.run_of(survey)
    run.decline()
    db.surveys.save_run(survey, run, clock())
    db.surveys.set_live_message(survey, query.from_user.id, None)
    await db.commit()
    await _edit(query, screens.declined())
    await query.answer()


async def answer_chosen(
    query: CallbackQuery,
    callback_data: AnswerCallback,
    db: Repositories,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    def move(run: SurveyRun) -> None:
        run.answer(callback_data.step, callback_data.value)

    await _apply_press(
        query,
        callback_data.survey_id,
        callback_data.step,
        move,
        db,
        settings,
        clock,
        i18n,
        outbox,
    )


async def navigation_pressed(
    query: CallbackQuery,
    callback_data: SurveyNavCallback,
    db: Repositories,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    def move(run: SurveyRun) -> None:
        match callback_data.action:
            case SurveyAction.BACK:
                run.back(callback_data.step)
            case SurveyAction.FORWARD:
                run.forward(callback_data.step)
            case SurveyAction.SKIP_COMMENT:
                run.skip_comment()
            case SurveyAction.CONTACT_YES | SurveyAction.CONTACT_NO:
                run.choose_contact(callback_data.action is SurveyAction.CONTACT_YES)
            case _:
                raise StaleStep

    await _apply_press(
        query,
        callback_data.survey_id,
        callback_data.step,
        move,
        db,
        settings,
        clock,
        i18n,
        outbox,
    )


async def _apply_press(
    query: CallbackQuery,
    survey_id: int,
    step: int,
    move: Callable[[SurveyRun], None],
    db: Repositories,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    """A button press on the survey: check it is the customer's and current, make the
    move, store it (opening or updating a case in the same transaction), show the result,
    then send any alert."""
    survey = await own_survey(db, survey_id, query.from_user.id)
    run = db.surveys.run_of(survey)
    if not await _pressed_on_current_step(query, step, survey, run, settings, i18n):
        return
    move(run)
    db.surveys.save_run(survey, run, clock())
    case = await escalate(db, survey, run, settings, clock(), details_changed=step >= COMMENT_STEP)
    await _show_in_pressed_message(
        query, survey, run, db, settings, i18n.current_locale, case, clock
    )
    await _alert(outbox, query.bot, case)


async def text_received(
    message: Message,
    survey: Survey,
    bot: Bot,
    db: Repositories,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    assert message.text is not None
    run = db.surveys.run_of(survey)
    step, locale = run.step, i18n.current_locale
    notice: str | None = None
    if step <= QUESTION_COUNT:
        value = parse_answer(question(step), message.text)
        if value is None:
            await message.answer(_typed_answer_hint(step))
            await show_survey(bot, message.chat.id, survey, db, settings, locale)
            return
        run.answer(step, value)
    elif step == COMMENT_STEP:
        outcome = run.leave_comment(message.text)
        if outcome.truncated:
            notice = _(
                "Your comment is longer than {limit} characters; we kept the first {limit}."
            ).format(limit=outcome.stored_chars)
    else:
        wants = parse_yes_no(message.text)
        if wants is None:
            await message.answer(_("Please answer “yes” or “no”, or press a button."))
            await show_survey(bot, message.chat.id, survey, db, settings, locale)
            return
        run.choose_contact(wants)

    db.surveys.save_run(survey, run, clock())
    case = await escalate(db, survey, run, settings, clock(), details_changed=step >= COMMENT_STEP)
    await db.commit()
    if survey.live_message_id is not None:
        try:
            await bot.edit_message_text(
                chat_id=message.chat.id,
                message_id=survey.live_message_id,
                text=screens.answered_echo(run, step, locale, message.text),
            )
        except TelegramBadRequest:
            await strip_keyboard(bot, message.chat.id, survey.live_message_id)
    if notice:
        await message.answer(notice)
    if run.is_completed:
        await _finish(message.chat.id, bot, survey, run, db, _thanks(run, case, settings, clock))
    else:
        await show_survey(bot, message.chat.id, survey, db, settings, locale)
    await _alert(outbox, bot, case)


async def non_text_received(message: Message) -> None:
    await message.answer(_("Please answer with the buttons under the question, or in words."))


def _typed_answer_hint(step: int) -> str:
    q = question(step)
    if q.kind is Kind.RATING:
        return _("Please rate from 1 to 5: send a digit or press a button.")
    if q.bare_yes_no_ambiguous:
        return _("Please choose one of the buttons under the question.")
    return _("Please answer “yes”, “no” or “don't remember”, or press a button.")


async def _pressed_on_current_step(
    query: CallbackQuery,
    step: int,
    survey: Survey,
    run: SurveyRun,
    settings: Settings,
    i18n: I18n,
) -> bool:
    """Refuse a press on an old message or an outdated step; never record it elsewhere."""
    message_id = query.message.message_id if query.message else None
    try:
        run.ensure_current(step, message_id)
    except StaleStep:
        if message_id is not None and message_id == survey.live_message_id and run.is_open:
            # The live message shows another step than the survey is on (an edit that
            # failed earlier): show the right step again instead of guessing.
            await _edit(query, current_screen(survey, run, settings, i18n.current_locale))
            await query.answer(_("The question has been updated."))
        else:
            await query.answer(
                _("This button is out of date: please answer the latest question below."),
                show_alert=True,
            )
            if query.message is not None:
                await strip_keyboard(query.bot, query.message.chat.id, message_id)  # type: ignore[arg-type]
        return False
    return True


async def _show_in_pressed_message(
    query: CallbackQuery,
    survey: Survey,
    run: SurveyRun,
    db: Repositories,
    settings: Settings,
    locale: str,
    case: Case | None = None,
    clock: Clock | None = None,
) -> None:
    chat_id = query.message.chat.id if query.message else query.from_user.id
    if run.status is SurveyStatus.COMPLETED:
        db.surveys.set_live_message(survey, chat_id, survey.live_message_id)
        await db.commit()
        assert clock is not None
        await _edit(query, _thanks(run, case, settings, clock))
        await query.answer()
        return
    if not isinstance(query.message, Message):
        # Too old to edit (Telegram hides messages older than 48 hours from bots).
        await db.commit()
        assert query.bot is not None
        await show_survey(query.bot, chat_id, survey, db, settings, locale)
        await query.answer()
        return
    if survey.live_message_id != query.message.message_id:
        assert query.bot is not None
        await strip_keyboard(query.bot, survey.chat_id, survey.live_message_id)
    db.surveys.set_live_message(survey, chat_id, query.message.message_id)
    await db.commit()
    await _edit(query, current_screen(survey, run, settings, locale))
    await query.answer()


async def _finish(
    chat_id: int,
    bot: Bot,
    survey: Survey,
    run: SurveyRun,
    db: Repositories,
    screen: screens.Screen,
) -> None:
    sent = await bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)
    db.surveys.set_live_message(survey, chat_id, sent.message_id)
    await db.commit()


def _thanks(run: SurveyRun, case: Case | None, settings: Settings, clock: Clock) -> screens.Screen:
    """The last screen; a customer who asked for a call also picks a convenient time."""
    if not run.wants_contact or case is None:
        return screens.thanks(run)
    now = clock()
    # "Today" only while at least an hour of the working day is left.
    today = settings.hours.contains(now) and settings.hours.contains(now + timedelta(hours=1))
    return screens.thanks(run, call_case_id=case.id, offer_today=today)


async def _alert(outbox: Outbox, bot: Bot | None, case: Case | None) -> None:
    """Send the case's alerts right away; whatever fails stays queued for the scheduler."""
    if case is not None and bot is not None:
        await outbox.deliver(bot, case.id)


async def _edit(query: CallbackQuery, screen: screens.Screen) -> None:
    if not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_text(screen.text, reply_markup=screen.keyboard)
    except TelegramBadRequest as error:
        # A double tap renders the same screen twice; Telegram refuses the no-op edit.
        if "message is not modified" not in error.message:
            raise


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.register(
        survey_started, SurveyNavCallback.filter(F.action == SurveyAction.START)
    )
    router.callback_query.register(
        survey_declined, SurveyNavCallback.filter(F.action == SurveyAction.DECLINE)
    )
    router.callback_query.register(answer_chosen, AnswerCallback.filter())
    router.callback_query.register(navigation_pressed, SurveyNavCallback.filter())
    # Only outside other dialogues: a manager typing a case note keeps their note.
    router.message.register(
        text_received, StateFilter(None), F.text, ~F.text.startswith("/"), survey_on_screen
    )
    router.message.register(non_text_received, StateFilter(None), ~F.text, survey_on_screen)
    return router
