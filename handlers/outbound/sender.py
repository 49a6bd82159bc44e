"""The one sender of invitations and reminders, at Telegram's pace.

Overall it keeps to SEND_RATE messages a second (a leaky bucket, aiolimiter) and to one
message a second per chat. 429: everyone waits retry_after, and the message goes again.
403: the customer blocked the bot; recorded, goes to the call list. Network errors and
5xx: retried with backoff a bounded number of times. Each outcome is committed the moment
it is known, and a send is claimed with a lease first, so a restart resumes with the
sends not yet out and two workers never send the same one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.utils.i18n import I18n
from aiolimiter import AsyncLimiter

from handlers.telegram import in_locale, own_rate_limits, strip_keyboard
from handlers.views import survey as screens
from storage.models import Send
from storage.uow import Database, UnitOfWork
from storage.workflows import sends
from survey.clock import Clock
from survey.policy import Policies

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=10)
PER_CHAT_GAP = 1.0  # seconds between two messages to one chat


@dataclass
class Sender:
    database: Database
    policies: Policies
    clock: Clock
    i18n: I18n
    limiter: AsyncLimiter = field(init=False)
    _resume_at: float = field(default=0.0, init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _last_to_chat: dict[int, float] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        # A bucket of one, refilled every 1/SEND_RATE s: evenly spaced messages. A bucket of
        # a whole second's worth would allow up to twice the rate across a window's edge.
        self.limiter = AsyncLimiter(1, 1 / self.policies.outreach.send_rate)

    async def run_once(self, bot: Bot, limit: int = 200) -> int:
        """Work through the sends due now; returns how many were taken."""
        async with self.database.unit() as db:
            due = await db.outreach.due_ids(self.clock(), limit)
        if not due:
            return 0
        gate = asyncio.Semaphore(max(1, int(self.policies.outreach.send_rate)))

        async def one(send_id: int) -> None:
            async with gate:
                await self._process(bot, send_id)

        await asyncio.gather(*(one(send_id) for send_id in due))
        return len(due)

    async def run_until_stopped(self, bot: Bot, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Keep sending until `stop` is set.

        A message already handed to Telegram is recorded; the ones of the batch not yet
        started are released at once for the next run, so stopping never loses or doubles one.
        """
        self._stop = stop
        while not stop.is_set():
            try:
                taken = await self.run_once(bot)
            except Exception:  # a database hiccup must not kill the sender for good
                log.exception("sender batch failed")
                taken = 0
            if not taken:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle)

    async def _process(self, bot: Bot, send_id: int) -> None:
        policy = self.policies.outreach
        async with self.database.unit() as db:
            now = self.clock()
            send = await sends.claim(db, send_id, now, policy.send_lease)
            if send is None:
                return
            skip = await sends.reason_to_skip(db, send, now, policy)
            if skip == sends.LATER:
                await sends.postpone(db, send, policy.send_hours.next_open(now))
            elif skip is not None:
                await sends.skip(db, send, skip)
            else:
                await self._deliver(bot, db, send, now)

    async def _deliver(self, bot: Bot, db: UnitOfWork, send: Send, now: datetime) -> None:
        survey = send.survey
        chat_id = survey.visit.customer.telegram_user_id
        assert chat_id is not None
        user = await db.users.get(chat_id)
        locale = (user.language if user else None) or self.policies.dealer.language
        run = db.surveys.run_of(survey)
        card = screens.VisitCard.of(survey)
        dealer = self.policies.dealer
        with in_locale(self.i18n, locale):
            if send.kind == "invitation":
                screen = screens.invitation(run, card, dealer.name, dealer.privacy_url)
            else:
                screen = screens.reminder(run, card, dealer.name, locale)
        await self._pace(chat_id)
        if self._stop.is_set():
            await sends.release(db, send)
            return
        send.attempts += 1
        old_chat, old_live = survey.chat_id, survey.live_message_id
        try:
            with own_rate_limits():
                message = await bot.send_message(
                    chat_id, screen.text, reply_markup=screen.keyboard
                )
            # Telegram counts one a second per chat as messages arrive: space the next one
            # from when this one was delivered, not from when it set off.
            self._last_to_chat[chat_id] = time.monotonic()
        except TelegramRetryAfter as error:
            # Telegram says slow down: everybody waits, this one goes again afterwards.
            self._resume_at = max(self._resume_at, time.monotonic() + error.retry_after)
            send.attempts -= 1
            await sends.rate_limited(db, send, now, error.retry_after)
            return
        except TelegramForbiddenError as error:
            await sends.blocked(db, send, error.message)
            return
        except TelegramBadRequest as error:
            await sends.failed(db, send, error.message, None)
            return
        except (TelegramNetworkError, TelegramServerError) as error:
            retry_at = None
            if send.attempts < MAX_ATTEMPTS:
                retry_at = now + FIRST_RETRY * 2 ** (send.attempts - 1)
            await sends.failed(db, send, str(error), retry_at)
            return
        await sends.sent(db, send, chat_id, message.message_id, now, self.policies.outreach)
        if old_live is not None and old_chat is not None:
            await strip_keyboard(bot, old_chat, old_live)

    async def _pace(self, chat_id: int) -> None:
        # A 429 pause set while this task waited may extend it: check again after waking.
        while (wait := self._resume_at - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        gap = self._last_to_chat.get(chat_id, 0.0) + PER_CHAT_GAP - time.monotonic()
        if gap > 0:
            await asyncio.sleep(gap)
        await self.limiter.acquire()
        self._last_to_chat[chat_id] = time.monotonic()
