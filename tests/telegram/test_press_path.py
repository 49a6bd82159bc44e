"""What one survey press costs the database: counted statements, not timings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event

from bot.playground import CONTENT_ANSWERS
from tests.conftest import App


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    """Every SQL statement and every commit ("COMMIT") the bot sends meanwhile."""
    seen: list[str] = []
    engine = app.sessions.kw["bind"].sync_engine

    def executed(_c: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()))

    def committed(_connection: object) -> None:
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", committed)


@contextmanager
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call handed to aiosqlite's thread meanwhile (SQLite only)."""
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, function: Any, *args: Any, **kwargs: Any) -> Any:
        # Our connection hands over its calls wrapped (to count the unfinished ones).
        inner = args[0].func if args and isinstance(args[0], partial) else function
        calls.append(getattr(inner, "__name__", type(inner).__name__))
        return await original(self, function, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield calls
    monkeypatch.setattr(aiosqlite.Connection, "_execute", original)


async def test_an_answer_is_one_transaction_of_four_statements(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click("Ответили быстро")  # the first press in the chat may fill caches

    with statements(app) as seen, hand_offs(monkeypatch) as handed:
        await customer.click("Да, предложили")

    assert "Вопрос 3 из 12" in customer.last["text"]
    writes = [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    reads = [s for s in seen if s.startswith("SELECT")]
    assert seen.count("COMMIT") == 1, seen
    assert len(reads) + len(writes) <= 4, seen
    # The survey row (with its visit and customer, for the owner check) is the only read:
    # no dialogue state, no language, no case, no update-id lookup.
    assert len(reads) == 1, reads
    assert "FROM surveys" in reads[0], reads
    assert not any(t in s for s in seen for t in ("fsm_records", "telegram_users", "cases"))
    assert [s.split()[:3] for s in writes] == [
        ["UPDATE", "surveys", "SET"],
        ["INSERT", "INTO", "answers"],
        ["INSERT", "INTO", "processed_updates"],
    ]
    # On SQLite no hand-off to its thread: the read, the writes and COMMIT run in the
    # event loop's thread (storage.sqlite_driver).
    if app.settings.database_url.startswith("sqlite"):
        assert handed == [], handed
    # The button's answer went back in the reply to Telegram's request, not as a request.
    assert customer.replies[-1:] == ["answerCallbackQuery"]


ANSWERS_BEFORE_Q7 = CONTENT_ANSWERS[:6]


async def test_a_problem_answer_looks_up_the_case_once_it_exists(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for label in ANSWERS_BEFORE_Q7:
        await customer.click(label)
    with statements(app) as opening:
        await customer.click("Да, повторный ремонт")  # a problem: the case opens
    assert any(s.startswith("INSERT INTO cases") for s in opening)
    with statements(app) as later:
        await customer.click("Да, вовремя")
    assert sum("FROM cases" in s for s in later) == 1
    assert later.count("COMMIT") == 1
