"""Sending what the bot owes staff and customers, from rows saved beforehand.

Every alert and notice is a Delivery row written in the same transaction as the change
that caused it. Sending claims a row (a short lease), talks to Telegram, and records
the outcome; a failure leaves the row due again later, with backoff, so nothing is lost
and a permanent failure for one chat never stops the others.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from handlers.outbound.digest import send_part
from handlers.telegram import chat_name, edit_text, in_locale, own_rate_limits
from handlers.views.alerts import (
    alert_keyboard,
    alert_text,
    card_with_history,
    case_list,
    list_title,
)
from storage.cases import DeliveryStatus
from storage.models import Case, Delivery
from storage.uow import Database, UnitOfWork
from storage.workflows import deliveries
from storage.workflows.digest import DIGEST_PARTS
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

    async def deliver(
        self, bot: Bot, case_id: int | None = None, *, kind: str | None = None
    ) -> int:
        """Send everything due (or what is due for one case, or of one kind); returns how
        many went out. A handler sends only what its update caused; the scheduler the rest
        (a weekly report's file is never built inside a customer's press)."""
        async with self.database.unit() as db:
            due = await db.cases.due_delivery_ids(self.clock(), case_id, kind=kind)
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
        if delivery.kind == "notice":
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
        if delivery.kind in DIGEST_PARTS:
            language = await self._language(db, delivery.chat_id)
            with in_locale(self.i18n, language):
                await send_part(bot, db, delivery, self.policies, language, now)
            return
        # A live copy (alert, card, list): drawn now, in its reader's language.
        with in_locale(self.i18n, await self._language(db, delivery.chat_id)):
            text, keyboard, case = await self._draw(db, delivery)
        if delivery.message_id is not None:
            await edit_text(bot, delivery.chat_id, delivery.message_id, text, keyboard)
        else:
            thread_id = delivery.thread_id
            if delivery.kind == "alert" and case is not None:
                thread_id = await self._topic_for(bot, case, delivery)
            message = await bot.send_message(
                delivery.chat_id, text, reply_markup=keyboard, message_thread_id=thread_id
            )
            delivery.message_id = message.message_id
            delivery.thread_id = thread_id
            if delivery.kind == "alert" and case is not None:
                db.cases.record(case, "alerted", now, text=chat_name(message.chat))
                await self._copy_media(bot, case, delivery)
            if delivery.kind == "list":
                await self._replace_older_lists(bot, db, delivery)
        if case is not None:
            delivery.rendered_version = case.version

    @staticmethod
    async def _copy_media(bot: Bot, case: Case, delivery: Delivery) -> None:
        """The customer's photos, voice messages and files, right under a new alert. Best
        effort: a copy Telegram refuses (the customer deleted it) leaves the alert sent."""
        source = case.customer_chat_id
        if not case.media or source is None:
            return
        for item in case.media:
            try:
                await bot.copy_message(
                    delivery.chat_id,
                    source,
                    item["message_id"],
                    message_thread_id=delivery.thread_id,
                    reply_to_message_id=delivery.message_id
                    if delivery.thread_id is None
                    else None,
                )
            except (TelegramBadRequest, TelegramForbiddenError) as error:
                log.warning("case %s: an attachment was not copied: %s", case.id, error.message)

    async def _language(self, db: UnitOfWork, chat_id: int) -> str:
        """A person's chosen language in their private chat; a group's is the dealer's."""
        if chat_id > 0:
            return await db.users.language(chat_id) or self.policies.dealer.language
        return self.policies.dealer.language

    async def _draw(
        self, db: UnitOfWork, delivery: Delivery
    ) -> tuple[str, InlineKeyboardMarkup | None, Case | None]:
        zone = self.policies.dealer.zone
        if delivery.kind == "list":
            assignee = list_assignee(delivery.text or ALL_CASES)
            cases = await db.cases.active(assignee_id=assignee)
            text, keyboard = case_list(cases, zone, list_title(assignee is not None))
            return text, keyboard, None
        assert delivery.case_id is not None
        case = await db.cases.get(delivery.case_id)
        assert case is not None
        if case.survey_id is not None:  # load answers/comment fresh
            await db.surveys.get(case.survey_id)
        if delivery.kind == "card":
            group = self.policies.staffing.managers_chat_id
            return card_with_history(case, zone, group), alert_keyboard(case), case
        return alert_text(case, zone), alert_keyboard(case), case

    @staticmethod
    async def _replace_older_lists(bot: Bot, db: UnitOfWork, delivery: Delivery) -> None:
        """The newest list takes the place of the older ones of the same cases in that
        chat: those are deleted (or, past Telegram's 48 hours, left as they are) and no
        longer redrawn, so a chat never shows two lists that disagree."""
        for older in await db.cases.older_lists(delivery):
            older.status = DeliveryStatus.REPLACED
            if older.message_id is not None:
                with suppress(TelegramBadRequest, TelegramForbiddenError):
                    await bot.delete_message(older.chat_id, older.message_id)

    async def _topic_for(self, bot: Bot, case: Case, delivery: Delivery) -> int | None:
        """In a forum group every case gets its own topic, where staff talk to the customer."""
        if delivery.chat_id != self.policies.staffing.managers_chat_id:
            return None
        if case.topic_id is not None:
            return case.topic_id
        chat = await bot.get_chat(delivery.chat_id)
        if not chat.is_forum:
            return None
        name = f"#{case.id} {case.customer_name}"[:128]
        topic = await bot.create_forum_topic(delivery.chat_id, name=name)
        case.topic_id = topic.message_thread_id
        return case.topic_id


ALL_CASES = "all"


def mine(user_id: int) -> str:
    """The scope of one person's /my list."""
    return f"mine:{user_id}"


def list_assignee(scope: str) -> int | None:
    kind, _sep, user_id = scope.partition(":")
    return int(user_id) if kind == "mine" and user_id.isdigit() else None
