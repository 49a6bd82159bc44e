"""What one survey press costs the database: counted statements, not timings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import aiosqlite
import asyncpg
import pytest
from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.compiler import SQLCompiler

from bot.playground import CONTENT_ANSWERS
from storage.database import create_engine, create_session_factory
from storage.direct import alone
from storage.models import Answer, ProcessedUpdate, Survey
from storage.survey_rows import SurveyRow
from storage.uow import UnitOfWork
from survey.dialogue import SurveyRun
from survey.questionnaire import question
from tests.conftest import CUSTOMER_ID, App


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


@contextmanager
def transactions_begun(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every BEGIN asyncpg sends meanwhile (PostgreSQL only)."""
    begun: list[str] = []
    original = asyncpg.transaction.Transaction.start

    async def counted(self: asyncpg.transaction.Transaction) -> None:
        begun.append("BEGIN")
        await original(self)

    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", counted)
    yield begun
    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", original)


async def test_an_answer_is_one_transaction_of_at_most_four_statements(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click("Ответили быстро")  # the first press in the chat may fill caches

    with (
        statements(app) as seen,
        hand_offs(monkeypatch) as handed,
        transactions_begun(monkeypatch) as begun,
    ):
        await customer.click("Да, предложили")

    assert "Вопрос 3 из 12" in customer.last["text"]
    sent = [s for s in seen if s != "COMMIT"]
    assert len(sent) <= 4, seen
    # No read at all: the survey row is the one this process committed with the last
    # press (storage.survey_rows.SurveyRows), and the UPDATE checks the database still has
    # it. No dialogue state, no language, no case, no update-id lookup either.
    assert not any(s.startswith("SELECT") for s in sent), sent
    assert not any(t in s for s in seen for t in ("fsm_records", "telegram_users", "cases"))
    if app.settings.database_url.startswith("sqlite"):
        assert seen.count("COMMIT") == 1, seen
        assert seen[-1] == "COMMIT", seen
        assert [s.split()[:3] for s in sent] == [
            ["UPDATE", "surveys", "SET"],
            ["INSERT", "INTO", "answers"],
            ["INSERT", "INTO", "processed_updates"],
        ]
        assert "surveys.step IS ?" in sent[0], sent[0]
        # Only what the answer changed is set: an index on a column in SET is rewritten
        # whether its value changed or not (status, chat, completion, the report's).
        set_part = sent[0].split(" WHERE ")[0]
        assert "step=?" in set_part, set_part
        assert "answer_codes=?" in set_part, set_part
        assert not any(f" {c}=?" in set_part for c in ("status", "chat_id", "score")), set_part
        assert "EXISTS (SELECT" in sent[0], sent[0]
        # No hand-off to SQLite's thread: the writes and COMMIT run in the event loop's
        # thread (storage.sqlite_driver).
        assert handed == [], handed
    else:
        # PostgreSQL: the writes and the update's id are one statement, the writes as
        # data-modifying CTEs of the id's insert (storage.batch, `merged`), the id taken
        # through the survey's checked UPDATE (none when the row changed: the statement
        # fails whole).
        assert len(sent) == 1, sent
        merged = sent[0]
        assert merged.startswith("WITH write_0 AS (UPDATE surveys SET"), merged
        assert "IS NOT DISTINCT FROM" in merged, merged
        set_part = merged.split(" WHERE ")[0]
        assert "answer_codes=" in set_part, set_part
        assert not any(f" {c}=" in set_part for c in ("status", "chat_id", "score")), set_part
        assert "RETURNING surveys.id" in merged, merged
        assert "write_1 AS (INSERT INTO answers" in merged, merged
        assert ") INSERT INTO processed_updates" in merged, merged
        assert "FROM write_0)" in merged, merged
        # One round trip: that statement as a transaction of its own (read committed:
        # storage.direct, `alone`), with no BEGIN or COMMIT around it, sent by asyncpg
        # itself on a connection of the unit's own (`send_alone`).
        assert begun == [], begun
        assert "COMMIT" not in seen, seen
        assert await _stored(app) == (3, {1: "no", 2: "yes"})
    # The button's answer went back in the reply to Telegram's request, not as a request.
    assert customer.replies[-1:] == ["answerCallbackQuery"]


async def test_a_press_reads_its_row_once_when_this_process_kept_none(app: App) -> None:
    """After a restart (or in another process) the first press reads the survey row,
    with its visit and customer for the owner check: one read, then the writes (the
    process's first update also loads what it keeps for all: the newest update id...)."""
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    restarted = app.restarted()
    customer = restarted.customer()
    with statements(restarted) as seen:
        await customer.click("Ответили быстро")
    assert "Вопрос 2 из 12" in customer.last["text"]
    sent = [s for s in seen if s != "COMMIT"]
    reads = [s for s in sent if s.startswith("SELECT") and "surveys" in s]
    assert len(reads) == 1, reads
    assert "FROM surveys JOIN visits" in reads[0], reads
    writes = [s for s in sent if not s.startswith("SELECT")]
    assert len(writes) <= 3, writes
    assert not any("IS NOT DISTINCT FROM" in s or "IS ?" in s for s in writes), writes


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


async def _answered_two(app: App) -> tuple[Any, int]:
    """A customer on question 3; returns them and the id of their next update."""
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click("Ответили быстро")
    await customer.click("Да, предложили")
    assert customer.last_update is not None
    return customer, customer.last_update.update_id + 1


async def _stored(app: App) -> tuple[int, dict[int, str]]:
    async with app.sessions() as session:
        survey = (await session.scalars(select(Survey))).one()
        answers = {a.question: a.value for a in (await session.scalars(select(Answer))).all()}
        return survey.step, answers


async def test_a_press_whose_update_another_process_claimed_writes_nothing(app: App) -> None:
    """Two processes handed the same update (a re-delivery racing the first delivery):
    the one whose commit finds the id recorded keeps none of the press, on PostgreSQL
    where the writes and the id's claim are one statement too."""
    customer, next_id = await _answered_two(app)
    async with app.sessions() as session:
        session.add(
            ProcessedUpdate(bot_id=app.bot.id, update_id=next_id, processed_at=app.clock())
        )
        await session.commit()

    with statements(app) as seen:
        await customer.click("Да, у автомобиля")
    assert customer.last_update is not None
    assert customer.last_update.update_id == next_id
    assert "COMMIT" not in seen, seen
    assert await _stored(app) == (3, {1: "no", 2: "yes"})
    assert "Вопрос 3 из 12" in customer.last["text"]  # the screen was not moved on either


async def test_a_press_whose_id_an_old_sequence_recorded_is_applied(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """The update ids started again and the press's id is in the log from before: the
    press is stored once, with the id, after the old ids are forgotten."""
    customer, next_id = await _answered_two(app)
    async with app.sessions() as session:
        session.add_all(
            ProcessedUpdate(bot_id=app.bot.id, update_id=n, processed_at=app.clock())
            for n in range(next_id, next_id + 2000)
        )
        await session.commit()

    await customer.click("Да, у автомобиля")
    assert caplog.text.count("update ids started again") == 1
    step, answers = await _stored(app)
    assert (step, answers) == (4, {1: "no", 2: "yes", 3: "yes"})
    assert "Вопрос 4 из 12" in customer.last["text"]
    async with app.sessions() as session:
        newest = await session.scalar(
            select(func.max(ProcessedUpdate.update_id)).where(ProcessedUpdate.bot_id == app.bot.id)
        )
    assert newest == next_id  # the old sequence's ids from there up are forgotten


async def _started_in(db: UnitOfWork, app: App, survey_id: int) -> tuple[SurveyRow, SurveyRun]:
    """In `db`, a press (update 10**9) that starts the survey, not saved yet."""
    db.record_update_on_commit(app.bot.id, 10**9, app.clock())
    row = await db.surveys.pressed(survey_id)
    assert row is not None
    run = db.surveys.run_of(row)
    run.start()
    return row, run


async def test_two_writes_of_one_row_go_as_statements_of_their_own(app: App) -> None:
    """One statement changes a row once (PostgreSQL keeps one of two changes): a unit
    whose deferred writes touch the same survey row sends them one after another."""
    survey = await app.add_visit()
    async with app.sessions() as session:
        db = UnitOfWork(session)
        row, run = await _started_in(db, app, survey.id)
        db.surveys.save_run(row, run, app.clock(), live=(CUSTOMER_ID, 5))
        db.surveys.set_live_message(row, CUSTOMER_ID, 7)
        with statements(app) as seen:
            await db.commit()
    assert not any(s.startswith("WITH") for s in seen), seen
    async with app.sessions() as session:
        stored = await session.get(Survey, survey.id)
        assert stored is not None
        assert (stored.status, stored.live_message_id) == ("in_progress", 7)


async def test_a_press_whose_writes_fail_keeps_nothing_and_raises(app: App) -> None:
    """The press's writes and id go as one statement, on PostgreSQL as a transaction of
    its own: an error other than a recorded id (here the survey erased meanwhile, so its
    answer has nothing to belong to) is raised as it is, and nothing is kept, the id
    included."""
    survey = await app.add_visit()
    async with app.sessions() as session:
        db = UnitOfWork(session)
        row, run = await _started_in(db, app, survey.id)
        run.answer(1, question(1).values[0])
        db.surveys.save_run(row, run, app.clock(), live=(CUSTOMER_ID, 5))
        async with app.sessions() as other:
            await other.execute(delete(Survey).where(Survey.id == survey.id))
            await other.commit()
        with pytest.raises(IntegrityError, match="answers"):
            await db.commit()
    async with app.sessions() as session:
        assert await session.get(ProcessedUpdate, (app.bot.id, 10**9)) is None
        assert (await session.scalars(select(Answer))).all() == []


async def test_statements_go_alone_only_where_read_committed_makes_it_safe(
    database_url: str,
) -> None:
    """`alone` (storage.batch): on PostgreSQL at its default isolation, read committed, a
    unit's first statements run as transactions of their own; not once the unit's
    transaction has begun, not where the server's default is stricter (a read and a write
    then belong to one snapshot), and never on SQLite."""

    async def alone_before_and_after_a_statement(**options: Any) -> list[bool]:
        engine = create_engine(database_url, **options)
        try:
            async with create_session_factory(engine)() as session:
                connection = await session.connection()
                went: list[bool] = []
                with alone(connection.sync_connection) as first:  # type: ignore[arg-type]
                    went.append(first)
                await session.execute(select(1))
                with alone(connection.sync_connection) as later:  # type: ignore[arg-type]
                    went.append(later)
                return went
        finally:
            await engine.dispose()

    if not database_url.startswith("postgresql"):
        assert await alone_before_and_after_a_statement() == [False, False]
        return
    assert await alone_before_and_after_a_statement() == [True, False]
    strict = {"server_settings": {"default_transaction_isolation": "serializable"}}
    assert await alone_before_and_after_a_statement(connect_args=strict) == [False, False]


async def test_a_unit_of_work_gives_its_connection_back_however_it_ends(app: App) -> None:
    """A committed press's session holds no connection and is let go at once; one that
    fails after its read (a press on somebody else's survey) is rolled back and gives
    its connection back to the pool too."""
    pool = app.sessions.kw["bind"].sync_engine.pool
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click("Ответили быстро")
    assert pool.checkedout() == 0

    question = customer.last
    button = question["reply_markup"]["inline_keyboard"][0][0]
    stranger = app.customer(user_id=CUSTOMER_ID + 1)
    await stranger.press(button["callback_data"], question)
    assert pool.checkedout() == 0
    assert "Вопрос 2 из 12" in customer.last["text"]  # the stranger's press changed nothing
    await customer.click("Да, предложили")
    assert "Вопрос 3 из 12" in customer.last["text"]
    assert pool.checkedout() == 0


async def test_a_press_compiles_no_statement_once_its_statements_are_known(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiling SQL costs more than a press's statements: each is compiled once per
    process (storage.direct), never again for a press, nor for a log line or a message."""
    customer, _ = await _answered_two(app)
    await customer.click("Да, у автомобиля")  # question 3's statements are known now
    compiled: list[str] = []
    original = SQLCompiler.__init__

    def counted(self: SQLCompiler, *args: Any, **kwargs: Any) -> None:
        compiled.append(type(args[1]).__name__ if len(args) > 1 else "?")
        original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "__init__", counted)
    await customer.click("Да, объяснили подробно")
    assert "Вопрос 5 из 12" in customer.last["text"]
    assert compiled == []
