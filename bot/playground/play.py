"""`followup-bot try`: the real survey in a terminal.

The real Bot, Dispatcher, handlers and database run against the fake Bot API on
127.0.0.1; inline keyboards are printed as numbered choices. No token, no network.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.dispatcher import create_bot, create_dispatcher
from bot.playground import ChatClient, FakeTelegram
from bot.services import Services
from bot.settings import Settings
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Survey, Visit
from storage.uow import UnitOfWork
from storage.workflows.imports import add_visits
from survey.clock import utc_now
from survey.dialogue import SurveyStatus
from survey.questionnaire import decode_answers, question
from survey.visit_import import VisitRecord

PLAYER_ID = 1
_TAGS = re.compile(r"</?(b|i|u|s|code|pre)>")


async def play(settings: Settings, *, database_url: str | None, language: str) -> int:
    with tempfile.TemporaryDirectory(prefix="followup-try-") as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'try.db'}"
        return await _play(settings, url, language)


async def _play(settings: Settings, database_url: str, language: str) -> int:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    order_no = f"DEMO-{utc_now():%Y%m%d%H%M%S}"
    async with sessions() as session:
        await add_visits(UnitOfWork(session), [_demo_visit(order_no, language)], utc_now())
        token = await session.scalar(
            select(Survey.token).join(Survey.visit).where(Visit.order_no == order_no)
        )

    telegram = FakeTelegram()
    base_url = await telegram.start()
    local = settings.model_copy(update={"telegram_api_url": base_url})
    bot = create_bot(local, "1:TRY")
    dispatcher = create_dispatcher(Services.build(local, sessions))
    player = ChatClient(dispatcher, bot, telegram, user_id=PLAYER_ID, language_code=language)
    changed: dict[int, dict[str, Any]] = {}
    shown: dict[int, str] = {}
    telegram.listeners.append(lambda event, message: _remember(changed, shown, event, message))
    print("Follow-up survey, as a customer sees it. Type the number of a button or any text;")
    print("an empty line or Ctrl+D ends the session.\n")
    try:
        await player.send(f"/start {token}")
        while True:
            _show(changed)
            line = await asyncio.to_thread(_read_line)
            if line is None:
                break
            keyboard = player.live_keyboards()
            buttons = player.buttons(keyboard[-1]) if keyboard else []
            if line.isdigit() and 1 <= int(line) <= len(buttons):
                await player.click(buttons[int(line) - 1], keyboard[-1])
            else:
                await player.send(line)
            if await _completed(sessions, order_no):
                _show(changed)
                await _print_stored(sessions, order_no, language)
                break
    finally:
        await bot.session.close()
        await telegram.stop()
        await engine.dispose()
    return 0


def _demo_visit(order_no: str, language: str) -> VisitRecord:
    return VisitRecord(
        line=0,
        order_no=order_no,
        visit_date=date.today(),
        customer_name="Гость" if language == "ru" else "Guest",
        phone="+70000000001",
        car="Skoda Octavia, А001АА77",
        advisor="Демо Мастер",
        telegram_user_id=PLAYER_ID,
    )


def _remember(
    changed: dict[int, dict[str, Any]], shown: dict[int, str], event: str, message: dict[str, Any]
) -> None:
    """Queue a bot message for printing; a message that only lost its buttons is not news."""
    if event not in ("sent", "edited") or not message["from"]["is_bot"]:
        return
    if event == "edited" and shown.get(message["message_id"]) == message["text"]:
        return
    shown[message["message_id"]] = message["text"]
    changed[message["message_id"]] = message


def _show(changed: dict[int, dict[str, Any]]) -> None:
    for message in changed.values():
        print(_TAGS.sub("", message.get("text", "")))
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        labels = [button["text"] for row in rows for button in row]
        for number, label in enumerate(labels, start=1):
            print(f"  [{number}] {label}")
        print()
    changed.clear()


def _read_line() -> str | None:
    try:
        line = input("> ").strip()
    except EOFError:
        return None
    return line or None


async def _completed(sessions: Any, order_no: str) -> bool:
    async with sessions() as session:
        status = await session.scalar(
            select(Survey.status).join(Survey.visit).where(Visit.order_no == order_no)
        )
    return bool(status == SurveyStatus.COMPLETED)


async def _print_stored(sessions: Any, order_no: str, language: str) -> None:
    async with sessions() as session:
        survey = await session.scalar(
            select(Survey).join(Survey.visit).where(Visit.order_no == order_no)
        )
        assert survey is not None
        print("Stored in the database:")
        for number, value in decode_answers(survey.answer_codes).items():
            q = question(number)
            mark = "  problem" if q.is_problem(value) else ""
            label = q.label(value, language)
            print(f"  Q{number:>2} {q.short[language]}: {label}{mark}")
        print(f"  comment: {survey.comment or '-'}")
        print(f"  may contact: {'yes' if survey.wants_contact else 'no'}")
