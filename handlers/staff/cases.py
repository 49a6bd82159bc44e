"""Escalation cases for staff: take, close with a cause and a note, reopen; /cases, /my,
/case N. The staff router's filter (handlers/__init__.py) lets only staff in here."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InaccessibleMessage, Message, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.outbound.outbox import ALL_CASES, Outbox, mine
from handlers.telegram import in_locale
from handlers.views.alerts import (
    cause_keyboard,
    cause_label,
    fixed_question,
)
from handlers.views.callbacks import CaseAction, CaseCallback, CauseCallback
from handlers.views.text import fill
from storage.cases import state_of
from storage.models import Case
from storage.uow import UnitOfWork
from storage.workflows import cases as use_cases
from survey import cases
from survey.clock import Clock
from survey.policy import Policies


class CaseClosing(StatesGroup):
    note = State()


def _name(user: User) -> str:
    return user.full_name + (f" (@{user.username})" if user.username else "")


def refusal(error: cases.CaseRefused, policies: Policies) -> str:
    match error:
        case cases.NoSuchCase():
            return _("There is no such case.")
        case cases.AlreadyClosed() | cases.NotAllowed():
            return _("This case is already closed.")
        case cases.AlreadyOpen():
            return _("This case is open already.")
        case cases.TakenByYou():
            return _("You have already taken this case.")
        case cases.TakenByOther(who=who, at=at):
            when = at.astimezone(policies.dealer.zone).strftime("%d.%m %H:%M") if at else ""
            return _("{who} already took this case at {when}.").format(who=who, when=when)
    return _("This button no longer works.")


# --- buttons on the alert ---------------------------------------------------------------


async def case_taken(
    query: CallbackQuery,
    callback_data: CaseCallback,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    outbox: Outbox,
) -> None:
    user = query.from_user
    try:
        case = await use_cases.take(
            db, callback_data.case_id, user.id, _name(user), clock(), policies
        )
    except cases.TakenByYou as error:
        await query.answer(refusal(error, policies))
        return
    except cases.CaseRefused as error:
        await query.answer(refusal(error, policies), show_alert=True)
        return
    await query.answer(_("Case #{number} is yours.").format(number=case.id))
    await outbox.deliver(bot, case.id)


async def case_close_pressed(
    query: CallbackQuery, callback_data: CaseCallback, bot: Bot, db: UnitOfWork
) -> None:
    case = await db.cases.get(callback_data.case_id)
    if case is None or case.status == cases.CaseStatus.RESOLVED:
        await query.answer(_("This case is already closed."), show_alert=True)
        return
    try:
        await bot.send_message(
            query.from_user.id,
            fill(_("Closing case #{number}. What was the cause?"), number=case.id),
            reply_markup=cause_keyboard(case.id),
        )
    except (TelegramForbiddenError, TelegramBadRequest):
        await query.answer(
            _("Open a private chat with me (send /start), then press “Close” again."),
            show_alert=True,
        )
        return
    in_private = query.message is not None and query.message.chat.type == ChatType.PRIVATE
    await query.answer(None if in_private else _("I have written to you in a private chat."))


async def cause_chosen(
    query: CallbackQuery, callback_data: CauseCallback, db: UnitOfWork, state: FSMContext
) -> None:
    case = await db.cases.get(callback_data.case_id)
    try:
        if case is None:
            raise cases.AlreadyClosed
        cases.check_cause(state_of(case), callback_data.cause)
    except cases.CaseRefused:
        await query.answer(_("This case is already closed."), show_alert=True)
        return
    await state.set_state(CaseClosing.note)
    await state.set_data({"case_id": case.id, "cause": callback_data.cause})
    if isinstance(query.message, Message):
        await query.message.edit_text(
            fill(
                _(
                    "Case #{number}, cause: {cause}.\n\nWrite in one message what was done: "
                    "this is the resolution note. /cancel keeps the case open."
                ),
                number=case.id,
                cause=cause_label(callback_data.cause),
            )
        )
    await query.answer()


async def resolution_note_received(
    message: Message,
    bot: Bot,
    db: UnitOfWork,
    state: FSMContext,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    assert message.from_user is not None
    note = (message.text or "").strip()
    if not note:
        await message.answer(_("Please write the resolution note as text."))
        return
    if len(note) > cases.NOTE_MAX_CHARS:
        await message.answer(
            fill(
                _("The note is longer than {limit} characters; please shorten it."),
                limit=cases.NOTE_MAX_CHARS,
            )
        )
        return
    data = await state.get_data()
    await state.clear()

    def ask_customer(case: Case, language: str | None) -> use_cases.Notice:
        with in_locale(i18n, language or policies.dealer.language):
            return fixed_question(case)

    try:
        case = await use_cases.resolve(
            db,
            int(data.get("case_id", 0)),
            message.from_user.id,
            _name(message.from_user),
            str(data.get("cause", "other")),
            note,
            clock(),
            ask_customer,
        )
    except cases.CaseRefused:
        await message.answer(_("This case is already closed."))
        return
    await message.answer(fill(_("Case #{number} is closed. Thank you!"), number=case.id))
    await outbox.deliver(bot, case.id)


async def case_reopened(
    query: CallbackQuery,
    callback_data: CaseCallback,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    outbox: Outbox,
) -> None:
    user = query.from_user
    try:
        case = await use_cases.reopen(
            db, callback_data.case_id, user.id, _name(user), clock(), policies
        )
    except cases.CaseRefused:
        await query.answer(_("This case is open already."), show_alert=True)
        return
    await query.answer(_("Case #{number} is open again.").format(number=case.id))
    await outbox.deliver(bot, case.id)


async def case_shown(
    query: CallbackQuery,
    callback_data: CaseCallback,
    bot: Bot,
    db: UnitOfWork,
    clock: Clock,
    outbox: Outbox,
) -> None:
    if query.message is None:
        await query.answer(_("There is no such case."), show_alert=True)
        return
    try:
        case = await use_cases.show_card(
            db, callback_data.case_id, query.message.chat.id, clock(), _thread(query.message)
        )
    except cases.NoSuchCase:
        await query.answer(_("There is no such case."), show_alert=True)
        return
    await query.answer()
    await outbox.deliver(bot, case.id)


async def cancel_closing(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("The case stays open."))


# --- commands ------------------------------------------------------------------------------


def _thread(message: Message | InaccessibleMessage) -> int | None:
    """Inside a forum topic, the answer stays in that topic."""
    return message.message_thread_id if isinstance(message, Message) else None


async def cmd_cases(
    message: Message, bot: Bot, db: UnitOfWork, clock: Clock, outbox: Outbox
) -> None:
    """The open cases, as a list that stays true (redrawn on every change)."""
    await use_cases.show_list(db, message.chat.id, ALL_CASES, clock())
    await outbox.deliver(bot, kind="list")


async def cmd_my(message: Message, bot: Bot, db: UnitOfWork, clock: Clock, outbox: Outbox) -> None:
    assert message.from_user is not None
    await use_cases.show_list(db, message.chat.id, mine(message.from_user.id), clock())
    await outbox.deliver(bot, kind="list")


async def cmd_case(
    message: Message,
    command: CommandObject,
    bot: Bot,
    db: UnitOfWork,
    clock: Clock,
    outbox: Outbox,
) -> None:
    number = (command.args or "").strip().lstrip("#")
    if not number.isdigit():
        await message.answer(_("Send the case number, for example: /case 12"))
        return
    try:
        case = await use_cases.show_card(
            db, int(number), message.chat.id, clock(), _thread(message)
        )
    except cases.NoSuchCase:
        await message.answer(fill(_("There is no case #{number}."), number=number))
        return
    await outbox.deliver(bot, case.id)


def create_router() -> Router:
    """Registered inside the staff router, which checks the role once for all of these."""
    router = Router(name=__name__)
    router.callback_query.register(case_taken, CaseCallback.filter(F.action == CaseAction.TAKE))
    router.callback_query.register(
        case_close_pressed, CaseCallback.filter(F.action == CaseAction.CLOSE)
    )
    router.callback_query.register(
        case_reopened, CaseCallback.filter(F.action == CaseAction.REOPEN)
    )
    router.callback_query.register(case_shown, CaseCallback.filter(F.action == CaseAction.SHOW))
    router.callback_query.register(cause_chosen, CauseCallback.filter())

    private = F.chat.type == ChatType.PRIVATE
    router.message.register(cancel_closing, CaseClosing.note, Command("cancel"), private)
    router.message.register(
        resolution_note_received, CaseClosing.note, private, ~F.text.startswith("/")
    )
    router.message.register(cmd_cases, Command("cases"))
    router.message.register(cmd_my, Command("my"))
    router.message.register(cmd_case, Command("case"))
    return router
