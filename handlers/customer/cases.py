"""A customer's side of their case: when to call, and whether the problem is solved."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.outbound.outbox import Outbox
from handlers.telegram import strip_keyboard
from handlers.views.alerts import reopened_by_customer, window_label
from handlers.views.callbacks import CallWindowCallback, FixedCallback
from handlers.views.text import fill
from storage.uow import UnitOfWork
from storage.workflows import cases as use_cases
from survey import cases
from survey.clock import Clock
from survey.policy import Policies


async def call_window_chosen(
    query: CallbackQuery,
    callback_data: CallWindowCallback,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    outbox: Outbox,
) -> None:
    try:
        case = await use_cases.choose_call_window(
            db, callback_data.case_id, query.from_user.id, callback_data.window, clock(), policies
        )
    except cases.CaseRefused:
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    label = window_label(case.call_window, case.call_window_date)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            fill(_("Thank you! A client-service manager will call you {when}."), when=label)
        )
    await query.answer()
    await outbox.deliver(bot, case.id)


async def fixed_answered(
    query: CallbackQuery,
    callback_data: FixedCallback,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    outbox: Outbox,
) -> None:
    try:
        case = await use_cases.customer_says_fixed(
            db,
            callback_data.case_id,
            query.from_user.id,
            callback_data.fixed,
            clock(),
            policies,
            reopened_by_customer,
        )
    except cases.CaseRefused:
        await query.answer(_("Thank you, we already have your answer."), show_alert=True)
        if query.message is not None:
            await strip_keyboard(bot, query.message.chat.id, query.message.message_id)
        return
    if callback_data.fixed:
        reply = _("Thank you! We are glad the problem is solved.")
    else:
        reply = _("We are sorry. The case is open again, and a manager will contact you.")
    if isinstance(query.message, Message):
        await query.message.edit_text(reply)
    await query.answer()
    await outbox.deliver(bot, case.id)


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(call_window_chosen, CallWindowCallback.filter())
    router.callback_query.register(fixed_answered, FixedCallback.filter())
    return router
