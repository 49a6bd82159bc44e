"""Background jobs. Due times live in the database; the jobs only wake up and process them."""

from __future__ import annotations

from datetime import UTC

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from casework.outbox import Outbox
from casework.sla import check_sla


async def deliver_job(outbox: Outbox, bot: Bot) -> None:
    await outbox.deliver(bot)


async def sla_job(outbox: Outbox, bot: Bot) -> None:
    await check_sla(outbox, bot)


def create_scheduler(outbox: Outbox, bot: Bot) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    # One run at a time per job; a run missed while busy is merged, not queued up.
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    scheduler.add_job(
        deliver_job, "interval", seconds=20, args=[outbox, bot], id="deliver", **options
    )
    scheduler.add_job(sla_job, "interval", seconds=60, args=[outbox, bot], id="sla", **options)
    return scheduler
