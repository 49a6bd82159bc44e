"""No customer ever gets the same message twice, whatever is killed when: a 300-recipient
broadcast whose sender is killed (SIGKILL) at random points 20 times, then finished."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from handlers.outbound.sender import MAX_IN_FLIGHT
from storage.models import BroadcastRecipient, Send
from storage.uow import UnitOfWork
from storage.workflows import outreach
from storage.workflows.imports import add_visits
from survey.outreach import Audience, SendStatus
from survey.periods import Period
from survey.visit_import import VisitRecord
from tests.conftest import App
from tests.fakes import FaultyTelegram
from tests.processes import CEILING, bot_env, eventually, finish, killed, spawn

RECIPIENTS = 300
KILLS = 20
FIRST_CHAT = 70_000


async def statuses(app: App) -> Counter[str]:
    async with app.sessions() as session:
        rows = await session.execute(
            select(Send.status, func.count())
            .join(BroadcastRecipient, BroadcastRecipient.send_id == Send.id)
            .group_by(Send.status)
        )
        return Counter({status: count for status, count in rows.all()})


async def test_a_broadcast_killed_20_times_messages_no_one_twice(
    app: App, telegram: FaultyTelegram, tmp_path: Path
) -> None:
    day = date.today() - timedelta(days=1)
    records = [
        VisitRecord(n + 2, f"B-{n:03d}", day, f"К{n}", f"+7966{n:07d}", "Kia", "А", FIRST_CHAT + n)
        for n in range(RECIPIENTS)
    ]
    async with app.sessions() as session:
        db = UnitOfWork(session)
        await add_visits(db, records, datetime.now(UTC))
        plan = await outreach.preview(
            db, Audience.PERIOD, datetime.now(UTC), period=Period(day, day)
        )
        await outreach.start(db, plan, datetime.now(UTC), created_by=None)
    assert plan.reach == RECIPIENTS

    env = bot_env(telegram, app.settings.database_url, SEND_LEASE="1s", SEND_RATE="30")
    rng = random.Random(20261127)

    def sent() -> int:
        return len(telegram.calls_of("sendMessage"))

    for _ in range(KILLS):
        process = await spawn("run", "--jobs-only", env=env, cwd=tmp_path)
        target = sent() + rng.randint(1, 12)
        await eventually(lambda t=target: sent() >= t, what="some invitations to go out")
        await killed(process)  # SIGKILL wherever the sender is: claiming, sending, recording

    final = await spawn("run", "--jobs-only", env=env, cwd=tmp_path)
    try:
        # Every recipient settled (none pending or in flight), with a ceiling of minutes.
        deadline = asyncio.get_running_loop().time() + CEILING
        while (counts := await statuses(app))[SendStatus.PENDING] + counts[SendStatus.SENDING]:
            assert asyncio.get_running_loop().time() < deadline, f"not settled: {counts}"
            await asyncio.sleep(0.5)
    finally:
        output = await finish(final)
    assert final.returncode == 0, output[-3000:]

    per_chat = Counter(int(call.params["chat_id"]) for call in telegram.calls_of("sendMessage"))
    delivered = {chat: len(telegram.bot_messages(chat)) for chat in per_chat}
    duplicates = sum(count - 1 for count in delivered.values() if count > 1)
    outcomes = await statuses(app)
    print(
        f"kills: {KILLS}, recipients: {RECIPIENTS}, delivered: {sum(delivered.values())}, "
        f"duplicates: {duplicates}, outcomes: {dict(outcomes)}"
    )
    assert duplicates == 0
    assert sum(outcomes.values()) == RECIPIENTS
    assert set(outcomes) <= {SendStatus.SENT, SendStatus.UNCERTAIN}, outcomes
    assert outcomes[SendStatus.UNCERTAIN] <= KILLS * MAX_IN_FLIGHT
    # Every message Telegram delivered is recorded as sent, or uncertain: none is lost.
    assert sum(delivered.values()) >= outcomes[SendStatus.SENT]
