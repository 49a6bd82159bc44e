"""Two bot processes on one database: every invitation, alert and reminder goes out once."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.playground import FakeTelegram
from storage.models import Case, Delivery
from storage.uow import UnitOfWork
from storage.workflows.imports import import_visits
from survey.digest import WEEKDAYS
from survey.visit_import import ParsedVisits, VisitRecord
from tests.conftest import PG_URL, App
from tests.processes import eventually, finish, midday_zone, spawn

CUSTOMERS = 30
MANAGER, ADMIN = 2, 1


@pytest.mark.skipif(
    PG_URL is None,
    reason="several bots share a server database; a second bot on one SQLite file is "
    "refused (tests/process/test_one_sqlite_file.py); this runs in the PostgreSQL pass",
)
async def test_two_processes_send_everything_exactly_once(
    app: App, telegram: FakeTelegram, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    records = [
        VisitRecord(
            n + 2,
            f"M-{n:03d}",
            date.today() - timedelta(days=2),
            f"Клиент {n}",
            f"+7966{n:07d}",
            "Kia",
            "Смирнов",
            50_000 + n,
        )
        for n in range(CUSTOMERS)
    ]
    async with app.sessions() as session:
        db = UnitOfWork(session)
        # Invitations fell due yesterday; one case waits for its alert and is past its take SLA.
        await import_visits(
            db,
            ParsedVisits(records),
            app.settings.model_copy(update={"survey_ttl": timedelta(days=30)}).policies(),
            now,
        )
        survey = await db.outreach.by_order("M-000")
        assert survey is not None
        case = Case(
            survey_id=survey.id,
            severity="high",
            status="open",
            problems=[{"question": 7, "value": "yes", "severity": "high"}],
            version=1,
            created_at=now - timedelta(hours=3),
            updated_at=now,
            take_due_at=now - timedelta(hours=1),
        )
        session.add(case)
        await session.flush()
        session.add(
            Delivery(
                case_id=case.id,
                kind="alert",
                chat_id=MANAGER,
                status="pending",
                next_attempt_at=now,
                created_at=now,
            )
        )
        await session.commit()

    env = {
        **os.environ,
        "BOT_TOKEN": "4242:TEST-token",
        "TELEGRAM_API_URL": telegram.base_url,
        "DATABASE_URL": app.settings.database_url,
        "TIMEZONE": midday_zone(),
        "MANAGER_IDS": str(MANAGER),
        "ADMIN_IDS": str(ADMIN),
        "WORK_HOURS": "00:00-23:59",
        # The weekly report is due since midnight today: both instances race to send it.
        "DIGEST_AT": WEEKDAYS[datetime.now(ZoneInfo(midday_zone())).weekday()] + " 00:00",
    }
    if app.settings.redis_url:
        env["REDIS_URL"] = app.settings.redis_url
    processes = [await spawn("run", "--jobs-only", env=env, cwd=tmp_path) for _ in range(2)]

    def everything_sent() -> bool:
        customers = sum(1 for n in range(CUSTOMERS) if telegram.bot_messages(50_000 + n))
        # The admin: the take-SLA reminder and the weekly report (text, chart, file).
        return customers == CUSTOMERS and len(telegram.bot_messages(ADMIN)) >= 4

    await eventually(everything_sent, what="every invitation, alert and reminder")
    await asyncio.sleep(3)  # room for a late duplicate to show up
    outputs = [await finish(process) for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "Traceback" not in output
    assert [len(telegram.bot_messages(50_000 + n)) for n in range(CUSTOMERS)] == [1] * CUSTOMERS
    manager = [m["text"] for m in telegram.bot_messages(MANAGER)]
    assert sum("Кейс №" in text and "⏰" not in text for text in manager) == 1  # the alert
    assert sum("⏰" in text for text in manager) == 1  # the take-SLA reminder
    admin = telegram.bot_messages(ADMIN)
    assert sum("⏰" in m.get("text", "") for m in admin) == 1
    assert sum(m.get("text", "").startswith("Отчёт за неделю") for m in admin) == 1
    assert sum("photo" in m for m in admin) == 1
    assert sum("document" in m for m in admin) == 1
    assert len(admin) == 4
