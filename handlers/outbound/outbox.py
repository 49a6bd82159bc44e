"""Sending what the bot owes staff and customers, from rows saved beforehand.

Every alert and notice is a Delivery row written in the same transaction as the change
that caused it. Sending claims a row (a short lease), talks to Telegram, and records
the outcome; a failure leaves the row due again later, with backoff, so nothing is lost
and a permanent failure for one chat never stops the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from handlers.telegram import edit_text, in_locale, own_rate_limits
from handlers.views.alerts import alert_keyboard, alert_text
from storage.models import Case, Delivery
from storage.uow import Database, UnitOfWork
from storage.workflows import deliveries
from survey.clock import Clock
from survey.policy import Policies

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    delay: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(delay, LONGEST_RETRY)


@dataclass
class Outbox:
    database: Database
    policies: Policies
    clock: Clock
    i18n: I18n

    async def deliver(self, bot: Bot, case_id: int | None = None) -> int:
        """Send everything due (or everything due for one case); returns how many went out."""
        async with self.database.unit() as db:
            due = await db.cases.due_delivery_ids(self.clock(), case_id)
        sent = 0
        for delivery_id in due:
            sent += await self._deliver_one(bot, delivery_id)
        return sent

    async def _deliver_one(self, bot: Bot, delivery_id: int) -> int:
        async with self.database.unit() as db:
            now = self.clock()
            lease = self.policies.outreach.send_lease
            delivery = await deliveries.claim(db, delivery_id, now, lease)
            if delivery is None:
                return 0  # another worker has it
            try:
                with in_locale(self.i18n, self.policies.dealer.language), own_rate_limits():
                    await self._send(bot, db, delivery, now)
            except TelegramRetryAfter as error:
                retry_at = now + timedelta(seconds=error.retry_after)
                error_text = f"429: retry after {error.retry_after}s"
                await deliveries.not_delivered(db, delivery, error_text, retry_at)
                return 0
            except (TelegramAPIError, TelegramNetworkError) as error:
                if delivery.attempts >= MAX_ATTEMPTS:
                    log.warning(
                        "delivery %s to chat %s failed for good", delivery.id, delivery.chat_id
                    )
                    await deliveries.not_delivered(db, delivery, str(error), None)
                else:
                    retry_at = now + backoff(delivery.attempts)
                    await deliveries.not_delivered(db, delivery, str(error), retry_at)
                return 0
            await deliveries.delivered(db, delivery, now)
            return 1

    async def _send(self, bot: Bot, db: UnitOfWork, delivery: Delivery, now: datetime) -> None:
        if delivery.kind != "alert":
            markup = (
                InlineKeyboardMarkup.model_validate(delivery.reply_markup)
                if delivery.reply_markup
                else None
            )
            message = await bot.send_message(
                delivery.chat_id,
                delivery.text or "",
                reply_markup=markup,
                message_thread_id=delivery.thread_id,
            )
            delivery.message_id = message.message_id
            return
        assert delivery.case_id is not None
        case = await db.cases.get(delivery.case_id)
        assert case is not None
        await db.surveys.get(case.survey_id)  # load answers/comment fresh
        text = alert_text(case, self.policies.dealer.zone)
        keyboard = alert_keyboard(case)
        if delivery.message_id is None:
            thread_id = await self._topic_for(bot, case, delivery)
            message = await bot.send_message(
                delivery.chat_id, text, reply_markup=keyboard, message_thread_id=thread_id
            )
            delivery.message_id = message.message_id
            delivery.thread_id = thread_id
            db.cases.record(case, "alerted", now, text=str(delivery.chat_id))
        else:
            await edit_text(bot, delivery.chat_id, delivery.message_id, text, keyboard)
        delivery.rendered_version = case.version

    async def _topic_for(self, bot: Bot, case: Case, delivery: Delivery) -> int | None:
        """In a forum group every case gets its own topic, where staff talk to the customer."""
        if delivery.chat_id != self.policies.staffing.managers_chat_id:
            return None
        if case.topic_id is not None:
            return case.topic_id
        chat = await bot.get_chat(delivery.chat_id)
        if not chat.is_forum:
            return None
        name = f"#{case.id} {case.survey.visit.customer.name}"[:128]
        topic = await bot.create_forum_topic(delivery.chat_id, name=name)
        case.topic_id = topic.message_thread_id
        return case.topic_id
