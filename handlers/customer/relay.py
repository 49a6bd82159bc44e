"""What a customer with a live case writes goes to the case's conversation with the client
service: its topic in the managers' forum group, or a reply to each alert."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.filters import IsStaff
from handlers.views.relay import content_of, customer_header
from storage.uow import UnitOfWork
from storage.workflows import cases as use_cases
from survey.cases import ACTIVE
from survey.clock import Clock
from survey.policy import Policies

# A customer may still answer a manager for a while after the case was closed.
RELAY_AFTER_RESOLVED = timedelta(days=3)


async def customer_wrote(
    message: Message, bot: Bot, db: UnitOfWork, policies: Policies, clock: Clock
) -> None:
    assert message.from_user is not None
    case = await db.cases.latest_for_customer_chat(message.from_user.id)
    now = clock()
    live = case is not None and (
        case.status in ACTIVE
        or (case.resolved_at is not None and now - case.resolved_at < RELAY_AFTER_RESOLVED)
    )
    if case is None or not live:
        raise SkipHandler  # nothing to relay: the fallback answers
    if case.survey_id is not None:
        await db.surveys.get(case.survey_id)
    header = customer_header(case.customer_name, case.id)
    targets: list[tuple[int, int | None, int | None]] = []  # chat, thread, reply-to
    for delivery in await db.cases.alert_deliveries(case.id):
        if delivery.message_id is None:
            continue
        if case.topic_id is not None and delivery.chat_id == policies.staffing.managers_chat_id:
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
    await use_cases.record_relay(
        db, case, "relay_in", now, actor_id=message.from_user.id, text=content_of(message)
    )
    if delivered:
        await message.answer(_("✓ Passed on to the client service."))
    else:
        await message.answer(_("We could not pass this on right now; a manager will call you."))


def create_router() -> Router:
    router = Router(name=__name__)
    content = F.text | F.caption | F.photo | F.document | F.voice | F.video | F.sticker
    router.message.register(customer_wrote, ~IsStaff(), content, ~F.text.startswith("/"))
    return router
