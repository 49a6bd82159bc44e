"""The one sender of invitations and reminders, at Telegram's pace.

Overall it keeps to SEND_RATE messages a second (spaced turns, `Pacer`) and to one
message a second per chat. 429: everyone waits retry_after, and the message goes again.
403: the customer blocked the bot; recorded, goes to the call list. 5xx and a refused
connection: retried with backoff a bounded number of times.

Nothing twice, whatever is killed when: a send is claimed with a lease (two workers never
take the same one), then recorded `sending` in its own commit just before it leaves, and
its outcome right after. A send still `sending` after a crash, or one whose request may
have reached Telegram (a timeout), is `uncertain`: never sent again (an invitation's
reminder covers it). At most MAX_IN_FLIGHT messages are on their way at once, so a crash
leaves at most that many uncertain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
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

from handlers.telegram import in_locale, never_left, own_rate_limits, strip_keyboard
from handlers.views import survey as screens
from storage.models import Send
from storage.uow import Database, UnitOfWork
from storage.workflows import sends
from survey.clock import Clock
from survey.policy import Policies

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=10)
# One recorded step of a send, run in a unit of work of its own.
Step = Callable[[UnitOfWork, Send], Awaitable[None]]
MAX_IN_FLIGHT = 5
PER_CHAT_GAP = 1.0  # seconds between two messages to one chat
# How far behind its timeline the pacer may catch up (within the per-second cap).
CATCH_UP = 1.0
# A message leaves this long after its turn began: longer than a `sending` commit takes,
# so the commits' varying time does not reach Telegram as bunching (at 29/s it had meant
# 11-110 429s a broadcast); short, so a crash can catch few messages between the two.
DEPART_AFTER = 0.02
# Sends taken in one run: at its end the last ones finish before the next run claims
# more (about 0.15 s without a message); at 200 a run that cost 2% of the rate.
BATCH = 1000


@dataclass
class Sender:
    database: Database
    policies: Policies
    clock: Clock
    i18n: I18n
    limiter: Pacer = field(init=False)
    _resume_at: float = field(default=0.0, init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _last_to_chat: dict[int, float] = field(default_factory=dict, init=False)
    # Messages handed to Telegram at once: a crash leaves at most this many uncertain.
    _in_flight: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_IN_FLIGHT), init=False
    )

    def __post_init__(self) -> None:
        self.limiter = Pacer(self.policies.outreach.send_rate)

    async def run_once(self, bot: Bot, limit: int = BATCH) -> int:
        """Work through the sends due now, up to `limit`; returns how many were taken.

        SEND_RATE of them are in progress at a time, and the next one is fetched as soon as
        one ends: no pause at a batch's edge for the last ones to finish."""
        async with self.database.unit() as db:
            await sends.settle_uncertain(db, self.clock(), self.policies.outreach)
        workers = max(1, int(self.policies.outreach.send_rate))
        running: set[asyncio.Task[None]] = set()
        taken: set[int] = set()
        try:
            while True:
                room = min(workers - len(running), limit - len(taken))
                if room > 0:
                    async with self.database.unit() as db:
                        # Those just started may not have claimed theirs yet: skip them.
                        due = await db.outreach.due_ids(self.clock(), room + len(running))
                    for send_id in [i for i in due if i not in taken][:room]:
                        taken.add(send_id)
                        running.add(asyncio.create_task(self._process(bot, send_id)))
                if not running:
                    return len(taken)
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a failure ends the batch (after the others finish)
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)

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
                return
            if skip is not None:
                await sends.skip(db, send, skip)
                return
            letter = await self._letter(db, send)
        # No database connection is held while the message waits its turn or travels.
        await self._deliver(bot, send_id, letter, now)

    async def _letter(self, db: UnitOfWork, send: Send) -> _Letter:
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
        return _Letter(chat_id, screen, survey.chat_id, survey.live_message_id)

    async def _record(
        self, send_id: int, step: Callable[[UnitOfWork, Send], Awaitable[None]]
    ) -> None:
        """One step of a send, in a unit of work of its own."""
        async with self.database.unit() as db:
            send = await db.outreach.get(send_id)
            assert send is not None
            await step(db, send)

    async def _deliver(self, bot: Bot, send_id: int, letter: _Letter, now: datetime) -> None:
        await self._wait_for_chat(letter.chat_id)
        # The rate's turn before the message counts as `sending`: a crash then leaves
        # uncertain only those really on their way (at most MAX_IN_FLIGHT).
        slot = await self._wait_for_turn()
        if self._stop.is_set():
            await self._record(send_id, sends.release)
            return
        outreach = self.policies.outreach
        lease = outreach.send_lease
        async with self._in_flight:
            await self._record(send_id, lambda db, s: sends.sending(db, s, self.clock(), lease))
            # The request leaves a fixed DEPART_AFTER after its turn, not whenever the
            # commit ended: Telegram sees the pacer's even spacing, not the commits' jitter
            # (and a commit slower than that still never puts a rate's worth in a second).
            await self.limiter.leave(slot + DEPART_AFTER)
            try:
                with own_rate_limits():
                    message = await bot.send_message(
                        letter.chat_id, letter.screen.text, reply_markup=letter.screen.keyboard
                    )
                # Telegram counts one a second per chat as messages arrive: space the next
                # one from when this one was delivered, not from when it set off.
                self._last_to_chat[letter.chat_id] = time.monotonic()
            except TelegramRetryAfter as error:
                # Telegram says slow down: everybody waits, this one goes again afterwards.
                wait = error.retry_after
                self._resume_at = max(self._resume_at, time.monotonic() + wait)
                await self._record(send_id, lambda db, s: sends.rate_limited(db, s, now, wait))
                return
            except TelegramForbiddenError as error:
                blocked = error.message
                await self._record(send_id, lambda db, s: sends.blocked(db, s, blocked))
                return
            except TelegramBadRequest as error:
                refused = error.message
                await self._record(send_id, lambda db, s: sends.failed(db, s, refused))
                return
            except TelegramNetworkError as error:
                text = str(error)
                if never_left(error):
                    await self._record(send_id, lambda db, s: _retry_or_fail(db, s, now, text))
                else:
                    await self._record(
                        send_id, lambda db, s: sends.uncertain(db, s, now, text, outreach)
                    )
                return
            except TelegramServerError as error:
                text = str(error)
                await self._record(send_id, lambda db, s: _retry_or_fail(db, s, now, text))
                return
            message_id = message.message_id
            await self._record(
                send_id,
                lambda db, s: sends.sent(db, s, letter.chat_id, message_id, now, outreach),
            )
        if letter.old_live_id is not None and letter.old_chat_id is not None:
            await strip_keyboard(bot, letter.old_chat_id, letter.old_live_id)

    async def _wait_for_chat(self, chat_id: int) -> None:
        """A 429 pause, then one message a second to one chat."""
        await self._wait_out_pause()
        gap = self._last_to_chat.get(chat_id, 0.0) + PER_CHAT_GAP - time.monotonic()
        if gap > 0:
            await asyncio.sleep(gap)
        self._last_to_chat[chat_id] = time.monotonic()

    async def _wait_for_turn(self) -> float:
        """The send rate (and any 429 pause first); the turn's time, on time.monotonic()."""
        await self._wait_out_pause()
        return await self.limiter.turn()

    async def _wait_out_pause(self) -> None:
        # A 429 pause set while this task waited may extend it: check again after waking.
        while (wait := self._resume_at - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)


async def _retry_or_fail(db: UnitOfWork, send: Send, now: datetime, error: str) -> None:
    """Telegram took nothing: again later with backoff, a few times."""
    if send.attempts >= MAX_ATTEMPTS:
        await sends.failed(db, send, error)
    else:
        await sends.not_sent(db, send, now + FIRST_RETRY * 2 ** (send.attempts - 1), error)


class Pacer:
    """Turns at `rate` a second on a fixed timeline, as Telegram counts them.

    A turn that comes late (the loop was busy, or no message was ready yet) does not push
    the ones after it back: they keep to the timeline and catch up, so the rate is the
    rate asked for, not a few percent under it. Two limits keep that honest: no window of
    one second ever holds more than floor(rate) turns (eleven turns of a rate of ten
    squeezed into 0.95 s would get a 429), and a timeline more than a second behind (a
    quiet spell) starts afresh from now."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1 / rate
        self.per_second = max(1, math.floor(rate))
        self._next: float | None = None
        self._recent: deque[float] = deque(maxlen=self.per_second)
        self._left: deque[float] = deque(maxlen=self.per_second)
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._leaving = asyncio.Lock()

    async def turn(self) -> float:
        """Wait for the next turn; returns its time on the timeline (on `clock`)."""
        async with self._lock:
            now = self._clock()
            if self._next is None or self._next < now - CATCH_UP:
                self._next = now
            at = self._next
            if len(self._recent) == self.per_second:
                at = max(at, self._recent[0] + 1.0)
            if at > now:
                await self._sleep(at - now)
            self._recent.append(max(at, self._clock()))
            self._next = at + self.interval
            return at

    async def leave(self, at: float) -> None:
        """Wait until a message may really set off: not before `at` (on `clock`), and a
        second after the one floor(rate) messages before it set off.

        A turn is granted before the message's own commit; a commit that takes longer
        than usual makes that message leave late, and without this the eleventh turn,
        on time, could then follow it within the second. The time kept is the one the
        message set off at, after the wait (a late wake-up counts as it really was)."""
        async with self._leaving:
            if len(self._left) == self.per_second:
                at = max(at, self._left[0] + 1.0)
            now = self._clock()
            if at > now:
                await self._sleep(at - now)
            self._left.append(self._clock())


@dataclass(frozen=True, slots=True)
class _Letter:
    """A message ready to go, and the one whose buttons it replaces."""

    chat_id: int
    screen: screens.Screen
    old_chat_id: int | None
    old_live_id: int | None
