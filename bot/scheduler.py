"""Background jobs. Due times live in the database; the jobs only wake up and process them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services import Services
from handlers.outbound.sla import check_sla
from storage.workflows.outreach import expire_surveys
from storage.workflows.updates import prune

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


def create_scheduler(services: Services, bot: Bot) -> AsyncIOScheduler:
    """The periodic chores; the sender itself runs as its own loop (see bot.cli)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    # One run at a time per job; a run missed while busy is merged, not queued up.
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    jobs = (
        (deliver_job, 20),
        (sla_job, 60),
        (progress_job, 3),
        (expiry_job, 60),
        (prune_job, 3600),
    )
    for job, seconds in jobs:
        # First run at start: whatever fell due while the bot was down goes out at once.
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            args=[services, bot],
            id=job.__name__,
            next_run_time=datetime.now(UTC),
            **options,
        )
    return scheduler
