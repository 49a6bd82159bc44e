"""`followup-bot try`: the real survey in a terminal.

The real Bot, Dispatcher, handlers and database run against the fake Bot API on
127.0.0.1; inline keyboards are printed as numbered choices. No token, no network.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import gettext as _
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

PLAYER_ID, MANAGER_ID = 1, 2
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Emphasis on a terminal; nothing where the output goes to a file or a pipe.
_STYLE = {"bold": ("\033[1m", "\033[0m"), "italic": ("\033[3m", "\033[0m")}


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
    # A manager of the demo dealership gets the alerts privately: shown under the chat.
    local = settings.model_copy(
        update={
            "telegram_api_url": base_url,
            "manager_ids": [MANAGER_ID],
            "admin_ids": [],
            "managers_chat_id": None,
            "alert_to": "managers",
        }
    )
    bot = create_bot(local, "1:TRY")
    services = Services.build(local, sessions)
    dispatcher = create_dispatcher(services)
    player = ChatClient(dispatcher, bot, telegram, user_id=PLAYER_ID, language_code=language)
    changed: dict[tuple[int, int], dict[str, Any]] = {}
    shown: dict[tuple[int, int], str] = {}
    telegram.listeners.append(lambda event, message: _remember(changed, shown, event, message))
    i18n = services.i18n
    with i18n.context(), i18n.use_locale(language):
        print(_("Follow-up survey, as a customer sees it. Press a button by its letter (a, b, …)"))
        print(_("or type an answer or any text; Ctrl+D or /exit ends the session.") + "\n")
        try:
            await player.send(f"/start {token}")
            while True:
                _show(changed)
                if await _completed(sessions, order_no) and not player.live_keyboards():
                    break  # answered, and nothing left to press (the call time included)
                line = await asyncio.to_thread(_read_line)
                if line is None or line == "/exit":
                    break
                if not line:
                    continue  # an empty line is not an answer, nor the end
                keyboard = player.live_keyboards()
                buttons = player.buttons(keyboard[-1]) if keyboard else []
                chosen = _LETTERS.find(line.lower()) if len(line) == 1 else -1
                if 0 <= chosen < len(buttons):
                    await player.click(buttons[chosen], keyboard[-1])
                else:
                    await player.send(line)  # typed: "5" on a rating is the rating 5
            _show(changed)
            await _print_stored(sessions, order_no, language)
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
    changed: dict[tuple[int, int], dict[str, Any]],
    shown: dict[tuple[int, int], str],
    event: str,
    message: dict[str, Any],
) -> None:
    """Queue a bot message for printing; a message that only lost its buttons is not news."""
    if event not in ("sent", "edited") or not message["from"]["is_bot"]:
        return
    key = (message["chat"]["id"], message["message_id"])
    if event == "edited" and shown.get(key) == message.get("text"):
        return
    shown[key] = message.get("text", "")
    changed[key] = message


def _show(changed: dict[tuple[int, int], dict[str, Any]]) -> None:
    for (chat_id, _message_id), message in changed.items():
        if chat_id == MANAGER_ID:
            print("    ┌─ " + _("what a client-service manager gets:"))
            for line in _rendered(message).splitlines():
                print(f"    │ {line}")
            labels = [button["text"] for row in _rows(message) for button in row]
            print("    └─ " + " · ".join(f"[{label}]" for label in labels) + "\n")
            continue
        print(_rendered(message))
        labels = [button["text"] for row in _rows(message) for button in row]
        for letter, label in zip(_LETTERS, labels, strict=False):
            print(f"  [{letter}] {label}")
        print()
    changed.clear()


def _rows(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = message.get("reply_markup", {}).get("inline_keyboard", [])
    return rows


def _rendered(message: dict[str, Any]) -> str:
    """The text as the app shows it: the entities Telegram parsed from our HTML become
    emphasis on a terminal (the text itself is plain already: "<b>" a customer typed
    stays "<b>")."""
    text: str = message.get("text", "")
    if not sys.stdout.isatty():
        return text
    # Offsets count UTF-16 code units, as Telegram counts them.
    units = text.encode("utf-16-le")
    inserts: list[tuple[int, str]] = []
    for entity in message.get("entities", []):
        style = _STYLE.get(entity["type"])
        if style:
            inserts += [
                (entity["offset"], style[0]),
                (entity["offset"] + entity["length"], style[1]),
            ]
    for offset, mark in sorted(inserts, reverse=True):
        units = units[: offset * 2] + mark.encode("utf-16-le") + units[offset * 2 :]
    return units.decode("utf-16-le")


def _read_line() -> str | None:
    try:
        return input("> ").strip()
    except EOFError:
        return None


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
        print(_("Stored in the database:"))
        for number, value in decode_answers(survey.answer_codes).items():
            q = question(number)
            mark = " ⚠ " + _("problem") if q.is_problem(value) else ""
            label = q.label(value, language)
            print(f"  {number:>2}. {q.short[language]}: {label}{mark}")
        print("  " + _("Comment: {comment}").format(comment=survey.comment or "—"))
        if survey.wants_contact is not None:
            call = _("yes") if survey.wants_contact else _("no")
            print("  " + _("May we call: {answer}").format(answer=call))
