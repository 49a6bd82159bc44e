"""The call centre: the call list with a button per customer, a call card with the call's
outcome, and the questionnaire walked on the customer's behalf in the operator's chat.
The router's filter (handlers/__init__.py) lets in any staff: operators, managers, admins."""

from __future__ import annotations

import asyncio

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.customer.survey import show_survey
from handlers.views import phone as views
from handlers.views.callbacks import PhoneCallback
from handlers.views.text import fill
from storage.uow import UnitOfWork
from storage.workflows.phone import NotCallable, callable_survey, record_call
from survey.calls import OUTCOMES
from survey.clock import Clock
from survey.dialogue import SurveyClosed
from survey.exports import as_xlsx
from survey.policy import Policies

SHOWN = 10


async def cmd_call_list(
    message: Message, db: UnitOfWork, policies: Policies, clock: Clock
) -> None:
    attempts = policies.calls.attempts
    rows = await db.outreach.call_list(clock(), attempts, limit=SHOWN)
    if not rows:
        await message.answer(_("The call list is empty: every customer is reachable in Telegram."))
        return
    text, keyboard = views.call_list(rows, attempts)
    await message.answer(text, reply_markup=keyboard)


async def cmd_phone(
    message: Message, command: CommandObject, db: UnitOfWork, policies: Policies
) -> None:
    order_no = (command.args or "").strip()
    survey = await db.outreach.by_order(order_no) if order_no else None
    if survey is None:
        await message.answer(_("Send the work order number, for example: /phone ZN-1"))
        return
    await _show_card(message, db, survey.id, policies)


async def _show_card(message: Message, db: UnitOfWork, survey_id: int, policies: Policies) -> None:
    try:
        survey = await callable_survey(db, survey_id)
    except NotCallable:
        await message.answer(views.not_callable())
        return
    text, keyboard = views.call_card(survey, policies.calls.attempts)
    await message.answer(text, reply_markup=keyboard)


async def phone_pressed(
    query: CallbackQuery,
    callback_data: PhoneCallback,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    action = callback_data.action
    if action == views.FILE:
        rows = await db.outreach.call_list(clock(), policies.calls.attempts)
        data = await asyncio.to_thread(as_xlsx, rows, i18n.current_locale)
        name = f"call-list-{clock():%Y-%m-%d}.xlsx"
        await query.message.answer_document(
            BufferedInputFile(data, filename=name),
            caption=fill(_("Customers to phone: {count}"), count=len(rows)),
        )
        await query.answer()
        return
    if action == "open":
        await query.answer()
        await _show_card(query.message, db, callback_data.survey_id, policies)
        return
    if action not in OUTCOMES:
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    try:
        survey = await callable_survey(db, callback_data.survey_id)
        on_the_line = await record_call(db, survey, action, query.from_user.id, clock(), policies)
    except (NotCallable, SurveyClosed):
        await query.answer(views.not_callable(), show_alert=True)
        return
    if not on_the_line:
        zone = policies.dealer.zone
        await query.message.edit_text(
            views.call_recorded(survey, action, zone, survey.next_call_at)
        )
        await query.answer()
        return
    await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    await show_survey(bot, query.message.chat.id, survey, db, policies, i18n.current_locale)


def create_router() -> Router:
    """Inside the phone router (any staff); the survey's own buttons are the customer
    router's, which lets the operator of a phone survey press them."""
    router = Router(name=__name__)
    private = F.chat.type == ChatType.PRIVATE
    router.message.register(cmd_call_list, Command("calllist"), private)
    router.message.register(cmd_phone, Command("phone"), private)
    router.callback_query.register(phone_pressed, PhoneCallback.filter())
    return router
