"""The periodic jobs stop gracefully: a job in flight when the bot stops finishes its work
(it is not cancelled half-way through a transaction), and a database outage in a job is
one warning line, not a traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiogram import Bot
from sqlalchemy.exc import OperationalError

from bot.scheduler import Chores
from bot.services import Services
from tests.conftest import App


async def test_stop_lets_the_job_in_flight_finish(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    started, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow_job(services: Services, bot: Bot) -> None:
        started.set()
        await release.wait()
        async with services.database.unit() as db:
            await db.updates.seen(bot.id, 1)  # the database is still there
        finished.set()

    class Slow(Chores):
        JOBS = ((slow_job, 3600),)

    chores = Slow(app.services, app.bot)
    chores.start()
    await asyncio.wait_for(started.wait(), 120)
    stopping = asyncio.create_task(chores.stop())
    await asyncio.sleep(0)
    assert not stopping.done(), "stop waits for the job in flight"
    release.set()
    await asyncio.wait_for(stopping, 120)
    assert finished.is_set()
    assert not chores.running
    assert "Traceback" not in caplog.text
    assert "CancelledError" not in caplog.text


async def test_a_database_outage_in_a_job_is_one_warning(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    ran = asyncio.Event()

    async def broken_job(services: Services, bot: Bot) -> None:
        ran.set()
        raise OperationalError("SELECT 1", {}, Exception("unable to open database file"))

    class Broken(Chores):
        JOBS = ((broken_job, 3600),)

    chores = Broken(app.services, app.bot)
    with caplog.at_level(logging.WARNING):
        chores.start()
        await asyncio.wait_for(ran.wait(), 120)
        await chores.stop()
    assert "broken_job: database unavailable (OperationalError)" in caplog.text
    assert all(record.exc_info is None for record in caplog.records)
