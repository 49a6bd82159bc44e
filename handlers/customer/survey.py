"""The customer's pass through the questionnaire: buttons, typed answers, comment, contact."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.customer.survey_row import afresh, as_read, own_survey
from handlers.outbound.outbox import Outbox
from handlers.telegram import edit_text, strip_keyboard
from handlers.views import survey as screens
from handlers.views.callbacks import AnswerCallback, SurveyAction, SurveyNavCallback
from handlers.views.phone import phone_header
from handlers.views.text import fill
from storage.models import Case, Survey
from storage.survey_rows import SurveyRow
from storage.uow import UnitOfWork
from storage.workflows import answers
from survey.calls import PHONE
from survey.clock import Clock
from survey.dialogue import (
    COMMENT_STEP,
    StaleStep,
    SurveyRun,
    SurveyStatus,
)
from survey.policy import Policies
from survey.questionnaire import QUESTION_COUNT, Kind, question
from survey.typed_answers import parse_answer, parse_yes_no


async def survey_on_screen(message: Message, db: UnitOfWork) -> dict[str, Survey] | bool:
    """Filter: typed text goes to the survey in progress whose question is on screen in
    this chat. The survey row says so (its live message), so a press needs no FSM write
    and a restart or another process finds the same answer."""
    survey = await db.surveys.on_screen(message.chat.id)
    return {"survey": survey} if survey is not None else False


def current_screen(
    survey: Survey | SurveyRow, run: SurveyRun, policies: Policies, locale: str
) -> screens.Screen:
    if run.status is SurveyStatus.IN_PROGRESS:
        screen = screens.step_screen(run, locale)
        if survey.channel == PHONE:  # the operator reads it out to the customer
            card = screens.VisitCard.of(survey)
            header = phone_header(card.customer_name, card.customer_phone)
            return screens.Screen(header + "\n\n" + screen.text, screen.keyboard)
        return screen
    if run.status is SurveyStatus.COMPLETED:
        return screens.thanks(run)
    # However they arrived (our message, an SMS link, /start), the first screen says who
    # writes and why, and how to stop or see their data.
    dealer = policies.dealer
    return screens.invitation(run, screens.VisitCard.of(survey), dealer.name, dealer.privacy_url)


async def show_survey(
    bot: Bot,
    chat_id: int,
    survey: Survey | SurveyRow,
    db: UnitOfWork,
    policies: Policies,
    locale: str,
) -> None:
    """Send the survey's current screen as a new message and make it the only live one."""
    run = db.surveys.run_of(survey)
    screen = current_screen(survey, run, policies, locale)
    await strip_keyboard(bot, survey.chat_id, survey.live_message_id)
    sent = await bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)
    await answers.remember_live(db, survey, chat_id, sent.message_id)


async def survey_started(
    query: CallbackQuery,
    callback_data: SurveyNavCallback,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> AnswerCallbackQuery:
    async def decide(read: bool) -> tuple[SurveyRow, SurveyRun, _Shown]:
        survey = await own_survey(db, callback_data.survey_id, query.from_user.id, read=read)
        run = db.surveys.run_of(survey)
        with as_read(survey):
            run.start()
        shown = _Shown.of(query, survey)
        await answers.save_move(
            db, survey, run, policies, clock(), live=shown.live_after(run), may_escalate=False
        )
        return survey, run, shown

    survey, run, shown = await afresh(db, decide)
    return await _show_in_pressed_message(
        query, survey, run, shown, db, policies, i18n.current_locale
    )


async def survey_declined(
    query: CallbackQuery,
    callback_data: SurveyNavCallback,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
) -> None:
    async def decide(read: bool) -> None:
        survey = await own_survey(db, callback_data.survey_id, query.from_user.id, read=read)
        run = db.surveys.run_of(survey)
        with as_read(survey):
            run.decline()
        live = (query.from_user.id, None)
        await answers.save_move(db, survey, run, policies, clock(), live=live, may_escalate=False)

    await afresh(db, decide)
    await _edit(query, screens.declined())
    await query.answer()


async def answer_chosen(
    query: CallbackQuery,
    callback_data: AnswerCallback,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> AnswerCallbackQuery | None:
    def move(run: SurveyRun) -> None:
        run.answer(callback_data.step, callback_data.value)

    return await _apply_press(
        query,
        callback_data.survey_id,
        callback_data.step,
        move,
        db,
        policies,
        clock,
        i18n,
        outbox,
    )


async def navigation_pressed(
    query: CallbackQuery,
    callback_data: SurveyNavCallback,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> AnswerCallbackQuery | None:
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

    return await _apply_press(
        query,
        callback_data.survey_id,
        callback_data.step,
        move,
        db,
        policies,
        clock,
        i18n,
        outbox,
    )


async def _apply_press(
    query: CallbackQuery,
    survey_id: int,
    step: int,
    move: Callable[[SurveyRun], None],
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> AnswerCallbackQuery | None:
    """A button press on the survey: check it is the customer's and current, make the
    move, store it (opening or updating a case in the same transaction), show the result,
    then send any alert. Returns the callback's answer: in webhook mode it rides in the
    reply to Telegram's request instead of a request of its own (aiogram sends it
    itself when polling)."""

    async def decide(read: bool) -> tuple[SurveyRow, SurveyRun, _Shown, Case | None] | None:
        survey = await own_survey(db, survey_id, query.from_user.id, read=read)
        run = db.surveys.run_of(survey)
        if not await _pressed_on_current_step(query, step, survey, run, policies, i18n):
            return None
        with as_read(survey):
            move(run)
        shown = _Shown.of(query, survey)
        case = await answers.save_move(
            db,
            survey,
            run,
            policies,
            clock(),
            details_changed=step >= COMMENT_STEP,
            live=shown.live_after(run),
        )
        return survey, run, shown, case

    decided = await afresh(db, decide)
    if decided is None:
        return None
    survey, run, shown, case = decided
    answer = await _show_in_pressed_message(
        query, survey, run, shown, db, policies, i18n.current_locale, case, clock
    )
    await alert_managers(outbox, query.bot, case)
    return answer


async def text_received(
    message: Message,
    survey: Survey,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
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
            await show_survey(bot, message.chat.id, survey, db, policies, locale)
            return
        run.answer(step, value)
    elif step == COMMENT_STEP:
        outcome = run.leave_comment(message.text)
        if outcome.truncated:
            notice = fill(
                _("Your comment is longer than {limit} characters; we kept the first {limit}."),
                limit=outcome.stored_chars,
            )
    else:
        wants = parse_yes_no(message.text)
        if wants is None:
            await message.answer(_("Please answer “yes” or “no”, or press a button."))
            await show_survey(bot, message.chat.id, survey, db, policies, locale)
            return
        run.choose_contact(wants)

    case = await answers.save_move(
        db, survey, run, policies, clock(), details_changed=step >= COMMENT_STEP
    )
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
        await _finish(message.chat.id, bot, survey, run, db, _thanks(run, case, policies, clock))
    else:
        await show_survey(bot, message.chat.id, survey, db, policies, locale)
    await alert_managers(outbox, bot, case)


def _typed_answer_hint(step: int) -> str:
    q = question(step)
    if q.kind is Kind.RATING:
        return _("Please rate from 1 to 5: send a digit or press a button.")
    if q.bare_yes_no_ambiguous:
        return _("Please choose one of the buttons under the question.")
    return _("Please answer “yes”, “no” or “not sure”, or press a button.")


async def _pressed_on_current_step(
    query: CallbackQuery,
    step: int,
    survey: Survey | SurveyRow,
    run: SurveyRun,
    policies: Policies,
    i18n: I18n,
) -> bool:
    """Refuse a press on an old message or an outdated step; never record it elsewhere.
    StaleRow when a row this process kept says so: the database's row decides."""
    message_id = query.message.message_id if query.message else None
    try:
        with as_read(survey) if isinstance(survey, SurveyRow) else nullcontext():
            run.ensure_current(step, message_id)
    except StaleStep:
        if message_id is not None and message_id == survey.live_message_id and run.is_open:
            # The live message shows another step than the survey is on (an edit that
            # failed earlier): show the right step again instead of guessing.
            await _edit(query, current_screen(survey, run, policies, i18n.current_locale))
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


@dataclass(frozen=True, slots=True)
class _Shown:
    """Where a pressed screen is: the chat, the pressed message (None when Telegram no
    longer lets the bot edit it) and the message whose buttons were live before."""

    chat_id: int
    pressed_id: int | None
    old_chat_id: int | None
    old_live_id: int | None

    @classmethod
    def of(cls, query: CallbackQuery, survey: Survey | SurveyRow) -> _Shown:
        message = query.message if isinstance(query.message, Message) else None
        chat_id = query.message.chat.id if query.message else query.from_user.id
        pressed = message.message_id if message is not None else None
        return cls(chat_id, pressed, survey.chat_id, survey.live_message_id)

    def live_after(self, run: SurveyRun) -> tuple[int, int | None] | None:
        if run.status is SurveyStatus.COMPLETED:
            return self.chat_id, self.old_live_id
        if self.pressed_id is None:
            return None  # a new message will carry the buttons (show_survey)
        return self.chat_id, self.pressed_id


async def _show_in_pressed_message(
    query: CallbackQuery,
    survey: Survey | SurveyRow,
    run: SurveyRun,
    shown: _Shown,
    db: UnitOfWork,
    policies: Policies,
    locale: str,
    case: Case | None = None,
    clock: Clock | None = None,
) -> AnswerCallbackQuery:
    """After the move was committed: show its result where the customer pressed; the
    callback's answer is returned for the caller to hand back."""
    if run.status is SurveyStatus.COMPLETED:
        assert clock is not None
        await _edit(query, _thanks(run, case, policies, clock))
        return query.answer()
    if shown.pressed_id is None:
        # Too old to edit (Telegram hides messages older than 48 hours from bots).
        assert query.bot is not None
        await show_survey(query.bot, shown.chat_id, survey, db, policies, locale)
        return query.answer()
    if shown.old_live_id != shown.pressed_id:
        assert query.bot is not None
        await strip_keyboard(query.bot, shown.old_chat_id, shown.old_live_id)
    await _edit(query, current_screen(survey, run, policies, locale))
    return query.answer()


async def _finish(
    chat_id: int,
    bot: Bot,
    survey: Survey | SurveyRow,
    run: SurveyRun,
    db: UnitOfWork,
    screen: screens.Screen,
) -> None:
    sent = await bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)
    await answers.remember_live(db, survey, chat_id, sent.message_id)


def _thanks(run: SurveyRun, case: Case | None, policies: Policies, clock: Clock) -> screens.Screen:
    """The last screen; a customer who asked for a call also picks a convenient time."""
    if not run.wants_contact or case is None:
        return screens.thanks(run)
    now = clock()
    # "Today" only while at least an hour of the working day is left.
    today = policies.cases.hours.contains(now) and policies.cases.hours.contains(
        now + timedelta(hours=1)
    )
    return screens.thanks(run, call_case_id=case.id, offer_today=today)


async def alert_managers(outbox: Outbox, bot: Bot | None, case: Case | None) -> None:
    """Send the case's alerts right away; whatever fails stays queued for the scheduler."""
    if case is not None and bot is not None:
        await outbox.deliver(bot, case.id)


async def _edit(query: CallbackQuery, screen: screens.Screen) -> None:
    """The pressed message shows the screen (a double tap draws the same one twice, an
    edit Telegram refuses as a no-op: not an error)."""
    if isinstance(query.message, Message) and query.bot is not None:
        message = query.message
        await edit_text(
            query.bot, message.chat.id, message.message_id, screen.text, screen.keyboard
        )


def register(router: Router) -> None:
    """The survey's handlers, on the customers' router itself (private chats only), not on
    a router of their own below it: a button press, the most frequent update, finds its
    handler one router level sooner (aiogram wraps the middlewares again at each level:
    10-16 µs of a press's 1.3 ms, a `/tmp` script taking turns)."""
    # The most frequent press first: each filter tried unpacks the callback data.
    router.callback_query.register(answer_chosen, AnswerCallback.filter())
    router.callback_query.register(
        survey_started, SurveyNavCallback.filter(F.action == SurveyAction.START)
    )
    router.callback_query.register(
        survey_declined, SurveyNavCallback.filter(F.action == SurveyAction.DECLINE)
    )
    router.callback_query.register(navigation_pressed, SurveyNavCallback.filter())
    # Only outside other dialogues: a manager typing a case note keeps their note.
    router.message.register(
        text_received, StateFilter(None), F.text, ~F.text.startswith("/"), survey_on_screen
    )
