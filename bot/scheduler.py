"""Background jobs. Due times live in the database; the jobs only wake up and process them."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services import Services
from handlers.outbound.sla import check_sla
from storage.database import DATABASE_UNAVAILABLE
from storage.workflows.digest import claim_week
from storage.workflows.outreach import expire_surveys
from storage.workflows.updates import prune
from survey.digest import due_week, week_label

log = logging.getLogger(__name__)
Job = Callable[[Services, Bot], Awaitable[Any]]

# Telegram re-delivers an update within minutes; a day of ids is plenty to recognise one.
KEEP_UPDATE_IDS = timedelta(days=1)


async def deliver_job(services: Services, bot: Bot) -> None:
    await services.outbox.deliver(bot)


async def sla_job(services: Services, bot: Bot) -> None:
    await check_sla(services.outbox, bot)


async def progress_job(services: Services, bot: Bot) -> None:
    await services.progress.report(bot)


async def expiry_job(services: Services, bot: Bot) -> None:
    async with services.database.unit() as db:
        await expire_surveys(db, services.clock())


async def prune_job(services: Services, bot: Bot) -> int:
    async with services.database.unit() as db:
        return await prune(db, services.clock() - KEEP_UPDATE_IDS)


# Per running program: the last week whose report this program saw settled (sent by it or
# claimed by another), so the job does not ask the database every minute of the week.
# Keyed by the services' id, checked against a weak reference (an id may be reused).
_SETTLED: dict[int, tuple[weakref.ref[Services], str]] = {}


def _settled(services: Services) -> str | None:
    entry = _SETTLED.get(id(services))
    return entry[1] if entry is not None and entry[0]() is services else None


async def digest_job(services: Services, bot: Bot) -> bool:
    """The week's report to management, once its time has come; claimed in the database,
    so one instance of several sends it, and a restart does not send it again."""
    policies = services.policies
    now = services.clock()
    week = due_week(now.astimezone(policies.dealer.zone), policies.digest)
    if week is None or _settled(services) == week_label(week):
        return False
    async with services.database.unit() as db:
        claimed = await claim_week(db, week, policies.digest, policies.staffing, now)
    _SETTLED[id(services)] = (weakref.ref(services), week_label(week))
    if claimed:
        log.info("the weekly report %s is queued", week_label(week))
        await services.outbox.deliver(bot)
    return claimed


class Chores:
    """The periodic jobs on APScheduler, stopped gracefully: no new runs, the ones in flight
    finish (within a grace period), and a database outage is one warning line, not a
    traceback."""

    JOBS = (
        (deliver_job, 20),
        (sla_job, 60),
        (progress_job, 3),
        (expiry_job, 60),
        (prune_job, 3600),
        (digest_job, 60),
    )

    def __init__(self, services: Services, bot: Bot) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[Any]] = set()
        # One run at a time per job; a run missed while busy is merged, not queued up.
        options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
        for job, seconds in self.JOBS:
            # First run at start: whatever fell due while the bot was down goes out at once.
            self._scheduler.add_job(
                self._guarded(job),
                "interval",
                seconds=seconds,
                args=[services, bot],
                id=job.__name__,
                name=job.__name__,
                next_run_time=datetime.now(UTC),
                **options,
            )

    def _guarded(self, job: Job) -> Job:
        async def run(services: Services, bot: Bot) -> Any:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                return await job(services, bot)
            except DATABASE_UNAVAILABLE as error:
                log.warning("%s: database unavailable (%s)", job.__name__, type(error).__name__)
            finally:
                self._running.discard(task)
            return None

        return run

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self, grace: float = 30) -> None:
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace)
        self._scheduler.shutdown(wait=False)
