"""Talking to the customer from the case: staff write in the case's topic (or reply to
its alert), the customer's answers come back to the same place. Every message is kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.settings import Settings
from handlers.filters import IsStaff
from storage.cases import CaseStatus
from storage.models import Case
from storage.uow import Repositories

Clock = Callable[[], datetime]
# A customer may still answer a manager for a while after the case was closed.
RELAY_AFTER_RESOLVED = timedelta(days=3)


def _content(message: Message) -> str:
    return message.text or message.caption or f"[{message.content_type}]"


async def staff_wrote(
    message: Message, bot: Bot, db: Repositories, settings: Settings, clock: Clock
) -> None:
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
    await db.surveys.get(case.survey_id)
    customer_chat = case.survey.visit.customer.telegram_user_id
    if customer_chat is None:
        await message.reply(_("This customer has no Telegram chat with us; call them instead."))
        return
    try:
        if message.text:
            await bot.send_message(
                customer_chat, "💬 " + _("Client service:") + "\n" + message.html_text
            )
        else:
            await bot.copy_message(customer_chat, message.chat.id, message.message_id)
    except TelegramAPIError as error:
        await message.reply(
            _("Not delivered to the customer: {error}").format(error=error.message)
        )
        return
    actor = message.from_user.full_name
    db.cases.record(
        case,
        "relay_out",
        clock(),
        actor_id=message.from_user.id,
        actor_name=actor,
        text=_content(message),
    )
    await db.commit()


async def customer_wrote(
    message: Message, bot: Bot, db: Repositories, settings: Settings, clock: Clock
) -> None:
    """What a customer with a live case writes goes to the case's conversation."""
    assert message.from_user is not None
    case = await db.cases.latest_for_customer_chat(message.from_user.id)
    now = clock()
    live = case is not None and (
        case.status in CaseStatus.ACTIVE
        or (case.resolved_at is not None and now - case.resolved_at < RELAY_AFTER_RESOLVED)
    )
    if case is None or not live:
        raise SkipHandler  # nothing to relay: the fallback answers
    await db.surveys.get(case.survey_id)
    header = "💬 " + _("Customer {name}, case #{number}:").format(
        name=case.survey.visit.customer.name, number=case.id
    )
    targets: list[tuple[int, int | None, int | None]] = []  # chat, thread, reply-to
    for delivery in await db.cases.alert_deliveries(case.id):
        if delivery.message_id is None:
            continue
        if case.topic_id is not None and delivery.chat_id == settings.managers_chat_id:
            targets.append((delivery.chat_id, case.topic_id, None))
        else:
            targets.append((delivery.chat_id, None, delivery.message_id))
    delivered = 0
    for chat_id, thread_id, reply_to in targets:
        try:
            if message.text:
                await bot.send_message(
                    chat_id,
                    header + "\n" + message.html_text,
                    message_thread_id=thread_id,
                    reply_to_message_id=reply_to,
                )
            else:
                await bot.send_message(
                    chat_id, header, message_thread_id=thread_id, reply_to_message_id=reply_to
                )
                await bot.copy_message(
                    chat_id, message.chat.id, message.message_id, message_thread_id=thread_id
                )
            delivered += 1
        except TelegramAPIError:
            continue  # that chat is unreachable; the others still get it
    db.cases.record(case, "relay_in", now, actor_id=message.from_user.id, text=_content(message))
    await db.commit()
    if delivered:
        await message.answer(_("✓ Passed on to the client service."))
    else:
        await message.answer(_("We could not pass this on right now; a manager will call you."))


def create_router() -> Router:
    router = Router(name=__name__)
    staff = IsStaff()
    group = F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP})
    private = F.chat.type == ChatType.PRIVATE
    # Service messages (topic created, members joined) carry no content to relay.
    content = F.text | F.caption | F.photo | F.document | F.voice | F.video | F.sticker
    not_command = ~F.text.startswith("/")
    router.message.register(staff_wrote, group, staff, content, not_command)
    router.message.register(staff_wrote, private, staff, F.reply_to_message, content, not_command)
    router.message.register(customer_wrote, private, ~staff, content, not_command)
    return router
