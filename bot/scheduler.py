"""Background jobs. Due times live in the database; the jobs only wake up and process them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.outbound.outbox import Outbox
from handlers.outbound.progress import ProgressReporter
from handlers.outbound.sender import Sender, expire_surveys
from handlers.outbound.sla import check_sla
from storage.updates import UpdateLog


async def deliver_job(outbox: Outbox, bot: Bot) -> None:
    await outbox.deliver(bot)


async def sla_job(outbox: Outbox, bot: Bot) -> None:
    await check_sla(outbox, bot)


async def progress_job(progress: ProgressReporter, bot: Bot) -> None:
    await progress.report(bot)


async def expiry_job(sender: Sender) -> None:
    await expire_surveys(sender.sessions, sender.clock())


# Telegram re-delivers an update within minutes; a day of ids is plenty to recognise one.
KEEP_UPDATE_IDS = timedelta(days=1)


async def prune_job(sender: Sender) -> int:
    async with sender.sessions() as session:
        removed = await UpdateLog(session).prune(sender.clock() - KEEP_UPDATE_IDS)
        await session.commit()
    return removed


def create_scheduler(
    outbox: Outbox, sender: Sender, progress: ProgressReporter, bot: Bot
) -> AsyncIOScheduler:
    """The periodic chores; the sender itself runs as its own loop (see bot.cli)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    # One run at a time per job; a run missed while busy is merged, not queued up.
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    jobs = (
        (deliver_job, 20, [outbox, bot]),
        (sla_job, 60, [outbox, bot]),
        (progress_job, 3, [progress, bot]),
        (expiry_job, 60, [sender]),
        (prune_job, 3600, [sender]),
    )
    for job, seconds, args in jobs:
        # First run at start: whatever fell due while the bot was down goes out at once.
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            args=args,
            id=job.__name__,
            next_run_time=datetime.now(UTC),
            **options,
        )
    return scheduler
