"""Talking to the customer from the case: staff write in the case's topic (or reply to its
alert) and the bot passes it on. The customer's side is handlers/customer/relay.py.

The message is kept in the case's history once Telegram has taken it: what is recorded is
what the customer got.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.views.relay import content_of, to_customer
from handlers.views.text import fill
from storage.models import Case
from storage.uow import UnitOfWork
from storage.workflows import cases as use_cases
from survey.clock import Clock


async def staff_wrote(message: Message, bot: Bot, db: UnitOfWork, clock: Clock) -> None:
    """A staff message in a case topic, or a reply to an alert: relay it to the customer."""
    assert message.from_user is not None
    case: Case | None = None
    if message.is_topic_message and message.message_thread_id is not None:
        case = await db.cases.by_topic(message.message_thread_id)
    if case is None and message.reply_to_message is not None:
        case = await db.cases.by_alert_message(
            message.chat.id, message.reply_to_message.message_id
        )
    if case is None:
        return  # ordinary staff chatter in the group
    if case.survey_id is not None:
        await db.surveys.get(case.survey_id)
    customer_chat = case.customer_chat_id
    if customer_chat is None:
        await message.reply(_("This customer has no Telegram chat with us; call them instead."))
        return
    try:
        if message.text:
            await bot.send_message(customer_chat, to_customer(message))
        else:
            await bot.copy_message(customer_chat, message.chat.id, message.message_id)
    except TelegramAPIError as error:
        await message.reply(fill(_("Not delivered to the customer: {error}"), error=error.message))
        return
    await use_cases.record_relay(
        db,
        case,
        "relay_out",
        clock(),
        actor_id=message.from_user.id,
        actor=message.from_user.full_name,
        text=content_of(message),
    )


def create_router() -> Router:
    """Inside the staff router (role checked there)."""
    router = Router(name=__name__)
    group = F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP})
    private = F.chat.type == ChatType.PRIVATE
    # Service messages (topic created, members joined) carry no content to relay.
    content = F.text | F.caption | F.photo | F.document | F.voice | F.video | F.sticker
    not_command = ~F.text.startswith("/")
    router.message.register(staff_wrote, group, content, not_command)
    router.message.register(staff_wrote, private, F.reply_to_message, content, not_command)
    return router
