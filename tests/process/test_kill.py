"""A bot killed with SIGKILL mid-survey, mid-alert or mid-broadcast resumes with nothing
lost and nothing doubled."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.models import Answer, Case, Delivery, Send
from storage.uow import UnitOfWork
from storage.workflows.imports import import_visits
from survey.visit_import import ParsedVisits, VisitRecord
from tests.conftest import CUSTOMER_ID, App
from tests.fakes import FaultyTelegram
from tests.processes import CEILING, bot_env, eventually, finish, killed, spawn

USER = {"id": CUSTOMER_ID, "is_bot": False, "first_name": "Иван", "language_code": "ru"}


async def stop(process: asyncio.subprocess.Process) -> bytes:
    return (await finish(process)).encode()


async def test_killed_mid_broadcast(app: App, telegram: FaultyTelegram, tmp_path: Path) -> None:
    customers = 20
    records = [
        VisitRecord(
            n + 2,
            f"K-{n:03d}",
            date.today() - timedelta(days=2),
            f"К{n}",
            f"+7977{n:07d}",
            "Kia",
            "Смирнов",
            60_000 + n,
        )
        for n in range(customers)
    ]
    async with app.sessions() as session:
        settings = app.settings.model_copy(update={"survey_ttl": timedelta(days=30)})
        await import_visits(
            UnitOfWork(session), ParsedVisits(records), settings.policies(), datetime.now(UTC)
        )
        await session.commit()
    telegram.hold("sendMessage", after=7)  # the 8th invitation is in flight when it dies
    env = bot_env(telegram, app.settings.database_url, SEND_LEASE="2s", SEND_RATE="10")

    first = await spawn("run", "--jobs-only", env=env, cwd=tmp_path)
    await asyncio.wait_for(telegram.holding.wait(), CEILING)
    await killed(first)
    messaged = [n for n in range(customers) if telegram.bot_messages(60_000 + n)]
    assert len(messaged) == 7

    # The 8th was on its way when the bot died: maybe delivered, so it is never sent again
    # (uncertain) and its reminder covers it. Everyone else gets exactly one invitation.
    async with app.sessions() as session:
        held = await session.scalar(select(Send.survey_id).where(Send.status == "sending"))
    assert held is not None
    second = await spawn("run", "--jobs-only", env=env, cwd=tmp_path)
    try:
        await eventually(
            lambda: (
                sum(1 for n in range(customers) if telegram.bot_messages(60_000 + n))
                == customers - 1
            ),
            what="every other invitation",
        )
        await asyncio.sleep(3)  # room for a duplicate (or a resent 8th) to show up
    finally:
        output = await stop(second)
    assert second.returncode == 0, output.decode()
    counts = sorted(len(telegram.bot_messages(60_000 + n)) for n in range(customers))
    assert counts == [0] + [1] * (customers - 1)
    async with app.sessions() as session:
        sends = dict(
            (
                await session.execute(select(Send.kind, Send.status).where(Send.survey_id == held))
            ).all()
        )
    assert sends == {"invitation": "uncertain", "reminder": "pending"}


async def test_killed_mid_alert(app: App, telegram: FaultyTelegram, tmp_path: Path) -> None:
    survey = await app.add_visit()
    now = datetime.now(UTC)
    managers = (2, 3, 4)
    async with app.sessions() as session:
        case = Case(
            survey_id=survey.id,
            severity="high",
            status="open",
            problems=[{"question": 10, "value": "yes", "severity": "high"}],
            version=1,
            created_at=now,
            updated_at=now,
            take_due_at=now + timedelta(hours=2),
        )
        session.add(case)
        await session.flush()
        for chat in managers:
            session.add(
                Delivery(
                    case_id=case.id,
                    kind="alert",
                    chat_id=chat,
                    status="pending",
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        await session.commit()
    telegram.hold("sendMessage", after=1)
    env = bot_env(telegram, app.settings.database_url, SEND_LEASE="2s")

    first = await spawn("run", "--jobs-only", env=env, cwd=tmp_path)
    await asyncio.wait_for(telegram.holding.wait(), CEILING)
    await killed(first)
    assert sum(len(telegram.bot_messages(chat)) for chat in managers) == 1

    second = await spawn("run", "--jobs-only", env=env, cwd=tmp_path)
    try:
        await eventually(
            lambda: all(telegram.bot_messages(chat) for chat in managers), what="every alert"
        )
        await asyncio.sleep(2)
    finally:
        output = await stop(second)
    assert second.returncode == 0, output.decode()
    assert [len(telegram.bot_messages(chat)) for chat in managers] == [1, 1, 1]
    async with app.sessions() as session:
        statuses = (await session.scalars(select(Delivery.status))).all()
    assert statuses == ["sent", "sent", "sent"]


def text_update(telegram: FaultyTelegram, text: str) -> dict[str, Any]:
    message = telegram.user_message(CUSTOMER_ID, USER, text)
    if text.startswith("/"):
        message["entities"] = [
            {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        ]
    return {"message": message}


def last_text(telegram: FaultyTelegram) -> str:
    messages = telegram.bot_messages(CUSTOMER_ID)
    return str(messages[-1]["text"]) if messages else ""


async def test_killed_mid_survey(app: App, telegram: FaultyTelegram, tmp_path: Path) -> None:
    survey = await app.add_visit()
    env = bot_env(telegram, app.settings.database_url)
    first = await spawn("run", env=env, cwd=tmp_path)
    try:
        telegram.queue_update(text_update(telegram, f"/start {survey.token}"))
        await eventually(lambda: "Здравствуйте" in last_text(telegram), what="the intro")
        intro = telegram.bot_messages(CUSTOMER_ID)[-1]
        telegram.queue_update(
            {
                "callback_query": {
                    "id": "1",
                    "from": USER,
                    "chat_instance": "1",
                    "message": intro,
                    "data": intro["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
                }
            }
        )
        await eventually(
            lambda: "Вопрос 1 из 12" in str(telegram.bot_messages(CUSTOMER_ID)[-1]["text"])
        )
        answer_update = text_update(telegram, "ответили быстро")
        answered_id = telegram.queue_update(answer_update)
        await eventually(lambda: "Вопрос 2 из 12" in last_text(telegram), what="question 2")
    finally:
        await killed(first)

    second = await spawn("run", env=env, cwd=tmp_path)
    try:
        # Telegram delivers the last update again (the kill came before it was confirmed).
        telegram.queue_update(answer_update, update_id=answered_id)
        telegram.queue_update(text_update(telegram, "да"))
        await eventually(lambda: "Вопрос 3 из 12" in last_text(telegram), what="question 3")
    finally:
        output = await stop(second)
    assert second.returncode == 0, output.decode()
    async with app.sessions() as session:
        answers = {a.question: a.value for a in (await session.scalars(select(Answer))).all()}
    assert answers == {1: "no", 2: "yes"}
    # The re-delivered answer was not applied again: no second "question 2", no hint.
    sent = [str(c.params["text"]) for c in telegram.calls_of("sendMessage")]
    assert sum("Вопрос 2 из 12" in text for text in sent) == 1, sent
    assert not any(text.startswith("Пожалуйста") for text in sent), sent
