"""Escalation cases: staff take, close and reopen them; customers answer about them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.settings import Settings
from handlers.filters import IsStaff, alert_chats
from handlers.outbound.outbox import Outbox
from handlers.views.alerts import (
    CAUSES,
    alert_keyboard,
    alert_text,
    case_list_line,
    cause_keyboard,
    cause_label,
    history,
    window_label,
)
from handlers.views.callbacks import (
    CallWindowCallback,
    CaseAction,
    CaseCallback,
    CauseCallback,
    FixedCallback,
)
from storage.cases import CaseStatus, DeliveryStatus
from storage.models import Case, Delivery
from storage.uow import Repositories

Clock = Callable[[], datetime]
NOTE_MAX_CHARS = 2000
WINDOWS = ("today", "morning", "evening", "any")


class CaseClosing(StatesGroup):
    note = State()


def _name(user: User) -> str:
    return user.full_name + (f" (@{user.username})" if user.username else "")


async def _case(db: Repositories, case_id: int) -> Case | None:
    case = await db.cases.get(case_id)
    if case is not None:
        await db.surveys.get(case.survey_id)
    return case


def reopen(db: Repositories, case: Case, settings: Settings, now: datetime) -> None:
    case.status = CaseStatus.OPEN
    case.assignee_id = case.assignee_name = None
    case.taken_at = case.resolved_at = None
    case.customer_confirmed = None
    case.take_due_at = settings.hours.add(now, settings.case_take_sla)
    case.take_reminded_at = case.resolve_due_at = case.resolve_reminded_at = None


# --- staff: buttons on the alert -------------------------------------------------------


async def case_taken(
    query: CallbackQuery,
    callback_data: CaseCallback,
    bot: Bot,
    db: Repositories,
    settings: Settings,
    clock: Clock,
    outbox: Outbox,
) -> None:
    case = await _case(db, callback_data.case_id)
    if case is None:
        await query.answer(_("There is no such case."), show_alert=True)
        return
    if case.status == CaseStatus.RESOLVED:
        await query.answer(_("This case is already closed."), show_alert=True)
        return
    if case.status == CaseStatus.TAKEN:
        if case.assignee_id == query.from_user.id:
            await query.answer(_("You have already taken this case."))
        else:
            await query.answer(
                _("{who} already took this case at {when}.").format(
                    who=case.assignee_name,
                    when=case.taken_at.astimezone(settings.zone).strftime("%d.%m %H:%M")
                    if case.taken_at
                    else "",
                ),
                show_alert=True,
            )
        return
    now = clock()
    case.status = CaseStatus.TAKEN
    case.assignee_id = query.from_user.id
    case.assignee_name = _name(query.from_user)
    case.taken_at = now
    case.resolve_due_at = now + settings.case_resolve_sla
    db.cases.record(case, "taken", now, actor_id=query.from_user.id, actor_name=case.assignee_name)
    await db.cases.touch(case, now)
    await db.commit()
    await query.answer(_("Case #{number} is yours.").format(number=case.id))
    await outbox.deliver(bot, case.id)


async def case_close_pressed(
    query: CallbackQuery, callback_data: CaseCallback, bot: Bot, db: Repositories
) -> None:
    case = await _case(db, callback_data.case_id)
    if case is None or case.status == CaseStatus.RESOLVED:
        await query.answer(_("This case is already closed."), show_alert=True)
        return
    try:
        await bot.send_message(
            query.from_user.id,
            _("Closing case #{number}. What was the cause?").format(number=case.id),
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
    query: CallbackQuery,
    callback_data: CauseCallback,
    db: Repositories,
    state: FSMContext,
) -> None:
    case = await _case(db, callback_data.case_id)
    if case is None or case.status == CaseStatus.RESOLVED or callback_data.cause not in CAUSES:
        await query.answer(_("This case is already closed."), show_alert=True)
        return
    await state.set_state(CaseClosing.note)
    await state.set_data({"case_id": case.id, "cause": callback_data.cause})
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _(
                "Case #{number}, cause: {cause}.\n\nWrite in one message what was done: "
                "this is the resolution note. /cancel keeps the case open."
            ).format(number=case.id, cause=cause_label(callback_data.cause))
        )
    await query.answer()


async def resolution_note_received(
    message: Message,
    bot: Bot,
    db: Repositories,
    state: FSMContext,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    assert message.from_user is not None
    note = (message.text or "").strip()
    if not note:
        await message.answer(_("Please write the resolution note as text."))
        return
    if len(note) > NOTE_MAX_CHARS:
        await message.answer(
            _("The note is longer than {limit} characters; please shorten it.").format(
                limit=NOTE_MAX_CHARS
            )
        )
        return
    data = await state.get_data()
    case = await _case(db, int(data.get("case_id", 0)))
    await state.clear()
    if case is None or case.status == CaseStatus.RESOLVED:
        await message.answer(_("This case is already closed."))
        return
    now = clock()
    actor = _name(message.from_user)
    case.status = CaseStatus.RESOLVED
    if case.assignee_id is None:
        case.assignee_id, case.assignee_name, case.taken_at = message.from_user.id, actor, now
    case.resolved_at = now
    case.cause = str(data.get("cause", "other"))
    case.resolution_note = note
    case.customer_confirmed = None
    db.cases.record(case, "note", now, actor_id=message.from_user.id, actor_name=actor, text=note)
    db.cases.record(
        case, "resolved", now, actor_id=message.from_user.id, actor_name=actor, text=case.cause
    )
    await db.cases.touch(case, now)
    await _ask_customer_if_fixed(db, case, settings, i18n, now)
    await db.commit()
    await message.answer(_("Case #{number} is closed. Thank you!").format(number=case.id))
    await outbox.deliver(bot, case.id)


async def _ask_customer_if_fixed(
    db: Repositories, case: Case, settings: Settings, i18n: I18n, now: datetime
) -> None:
    customer = case.survey.visit.customer
    if customer.telegram_user_id is None:
        return
    user = await db.users.get(customer.telegram_user_id)
    locale = (user.language if user else None) or settings.default_language
    with i18n.use_locale(locale):
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("Yes, it is solved"), callback_data=FixedCallback(case_id=case.id, fixed=True)
        )
        builder.button(
            text=_("No, it is not"), callback_data=FixedCallback(case_id=case.id, fixed=False)
        )
        text = _(
            "We have looked into what you told us about your visit on {date}. "
            "Is the problem solved?"
        ).format(date=case.survey.visit.visit_date.strftime("%d.%m.%Y"))
    db.cases.add_delivery(
        Delivery(
            case=case,
            kind="notice",
            chat_id=customer.telegram_user_id,
            text=text,
            reply_markup=builder.as_markup().model_dump(mode="json", exclude_none=True),
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
    )


async def case_reopened(
    query: CallbackQuery,
    callback_data: CaseCallback,
    bot: Bot,
    db: Repositories,
    settings: Settings,
    clock: Clock,
    outbox: Outbox,
) -> None:
    case = await _case(db, callback_data.case_id)
    if case is None or case.status != CaseStatus.RESOLVED:
        await query.answer(_("This case is open already."), show_alert=True)
        return
    now = clock()
    reopen(db, case, settings, now)
    db.cases.record(
        case, "reopened", now, actor_id=query.from_user.id, actor_name=_name(query.from_user)
    )
    await db.cases.touch(case, now)
    await db.commit()
    await query.answer(_("Case #{number} is open again.").format(number=case.id))
    await outbox.deliver(bot, case.id)


async def case_shown(
    query: CallbackQuery, callback_data: CaseCallback, db: Repositories, settings: Settings
) -> None:
    case = await _case(db, callback_data.case_id)
    if case is None or query.message is None:
        await query.answer(_("There is no such case."), show_alert=True)
        return
    await query.message.answer(
        _card_with_history(case, settings), reply_markup=alert_keyboard(case)
    )
    await query.answer()


async def not_staff(query: CallbackQuery) -> None:
    await query.answer(_("Only client-service staff can do this."), show_alert=True)


async def cancel_closing(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("The case stays open."))


# --- staff: commands ---------------------------------------------------------------------


def _card_with_history(case: Case, settings: Settings) -> str:
    return (
        alert_text(case, settings.zone)
        + "\n\n<b>"
        + _("History")
        + "</b>\n"
        + history(case.events, settings.zone)
    )[:4000]


async def cmd_cases(message: Message, db: Repositories, settings: Settings) -> None:
    await _send_case_list(message, await db.cases.active(), settings, _("Open cases"))


async def cmd_my(message: Message, db: Repositories, settings: Settings) -> None:
    assert message.from_user is not None
    cases = await db.cases.active(assignee_id=message.from_user.id)
    await _send_case_list(message, cases, settings, _("My cases"))


async def _send_case_list(
    message: Message, cases: Sequence[Case], settings: Settings, title: str
) -> None:
    items = list(cases)
    if not items:
        await message.answer(_("No open cases. 🎉"))
        return
    builder = InlineKeyboardBuilder()
    lines = [f"<b>{title}: {len(items)}</b>", ""]
    for case in items:
        lines.append(case_list_line(case, settings.zone))
        builder.button(
            text=f"#{case.id}", callback_data=CaseCallback(case_id=case.id, action=CaseAction.SHOW)
        )
    builder.adjust(5)
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


async def cmd_case(
    message: Message, command: CommandObject, db: Repositories, settings: Settings
) -> None:
    number = (command.args or "").strip().lstrip("#")
    if not number.isdigit():
        await message.answer(_("Send the case number, for example: /case 12"))
        return
    case = await _case(db, int(number))
    if case is None:
        await message.answer(_("There is no case #{number}.").format(number=number))
        return
    await message.answer(_card_with_history(case, settings), reply_markup=alert_keyboard(case))


# --- customers: call window and "is it fixed?" ---------------------------------------------


async def _customer_case(db: Repositories, case_id: int, user_id: int) -> Case | None:
    case = await _case(db, case_id)
    if case is None or case.survey.visit.customer.telegram_user_id != user_id:
        return None
    return case


async def call_window_chosen(
    query: CallbackQuery,
    callback_data: CallWindowCallback,
    bot: Bot,
    db: Repositories,
    settings: Settings,
    clock: Clock,
    outbox: Outbox,
) -> None:
    case = await _customer_case(db, callback_data.case_id, query.from_user.id)
    if case is None or callback_data.window not in WINDOWS:
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    now = clock()
    local_today = now.astimezone(settings.zone).date()
    case.call_window = callback_data.window
    case.call_window_date = (
        local_today if callback_data.window == "today" else local_today + timedelta(days=1)
    )
    if callback_data.window == "any":
        case.call_window_date = None
    label = window_label(case.call_window, case.call_window_date)
    db.cases.record(case, "call_window", now, text=case.call_window)
    await db.cases.touch(case, now)
    await db.commit()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Thank you! A client-service manager will call you {when}.").format(when=label)
        )
    await query.answer()
    await outbox.deliver(bot, case.id)


async def fixed_answered(
    query: CallbackQuery,
    callback_data: FixedCallback,
    bot: Bot,
    db: Repositories,
    settings: Settings,
    clock: Clock,
    outbox: Outbox,
) -> None:
    case = await _customer_case(db, callback_data.case_id, query.from_user.id)
    if case is None or case.status != CaseStatus.RESOLVED or case.customer_confirmed is not None:
        await query.answer(_("Thank you, we already have your answer."), show_alert=True)
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        return
    now = clock()
    case.customer_confirmed = callback_data.fixed
    if callback_data.fixed:
        db.cases.record(case, "customer_fixed", now)
        reply = _("Thank you! We are glad the problem is solved.")
    else:
        db.cases.record(case, "customer_not_fixed", now)
        reopen(db, case, settings, now)
        case.customer_confirmed = False
        db.cases.record(case, "reopened", now, text="customer")
        for chat_id in await alert_chats(settings, db):
            db.cases.add_delivery(
                Delivery(
                    case=case,
                    kind="notice",
                    chat_id=chat_id,
                    thread_id=case.topic_id if chat_id == settings.managers_chat_id else None,
                    text="👎 "
                    + _(
                        "The customer says the problem is not solved: "
                        "case #{number} is open again."
                    ).format(number=case.id),
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        reply = _("We are sorry. The case is open again, and a manager will contact you.")
    await db.cases.touch(case, now)
    await db.commit()
    if isinstance(query.message, Message):
        await query.message.edit_text(reply)
    await query.answer()
    await outbox.deliver(bot, case.id)


def create_router() -> Router:
    router = Router(name=__name__)
    staff = IsStaff()
    router.callback_query.register(
        case_taken, CaseCallback.filter(F.action == CaseAction.TAKE), staff
    )
    router.callback_query.register(
        case_close_pressed, CaseCallback.filter(F.action == CaseAction.CLOSE), staff
    )
    router.callback_query.register(
        case_reopened, CaseCallback.filter(F.action == CaseAction.REOPEN), staff
    )
    router.callback_query.register(
        case_shown, CaseCallback.filter(F.action == CaseAction.SHOW), staff
    )
    router.callback_query.register(cause_chosen, CauseCallback.filter(), staff)
    router.callback_query.register(not_staff, CaseCallback.filter())
    router.callback_query.register(not_staff, CauseCallback.filter())
    router.callback_query.register(call_window_chosen, CallWindowCallback.filter())
    router.callback_query.register(fixed_answered, FixedCallback.filter())

    private = F.chat.type == ChatType.PRIVATE
    router.message.register(cancel_closing, CaseClosing.note, Command("cancel"), private)
    router.message.register(
        resolution_note_received, CaseClosing.note, private, staff, ~F.text.startswith("/")
    )
    router.message.register(cmd_cases, Command("cases"), staff)
    router.message.register(cmd_my, Command("my"), staff)
    router.message.register(cmd_case, Command("case"), staff)
    return router
