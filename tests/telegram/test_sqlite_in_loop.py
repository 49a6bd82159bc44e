"""A unit of work's short statements run in the event loop's thread on SQLite; what
could take long (another process's lock, a checkpoint, a call still on the thread) does
not. Always on an SQLite file of its own, whatever database the suite runs on."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, insert, literal, select, text
from sqlalchemy.exc import IntegrityError

from bot.settings import Settings
from storage import sqlite_driver, survey_rows
from storage.batch import HERE_AT_MOST, commit_with, fetch, run_sync
from storage.database import create_engine, create_session_factory, write_queue
from storage.direct import execute, send
from storage.migrate import upgrade
from storage.models import Answer, Survey, TelegramUser
from storage.sqlite_driver import OneCallConnection
from tests.conftest import App, Clock, FaultyTelegram

CEILING = 120  # seconds: a ceiling for events that come in milliseconds


@pytest.fixture
async def sqlite_app(
    tmp_path: Path, settings: Settings, telegram: FaultyTelegram, clock: Clock
) -> AsyncIterator[App]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'own.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    app = App.build(
        settings.model_copy(update={"database_url": url}),
        create_session_factory(engine),
        telegram,
        clock,
    )
    yield app
    await app.bot.session.close()
    await engine.dispose()


async def test_a_press_waits_out_another_process_lock_on_the_thread(
    sqlite_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = sqlite_app
    survey, customer = await app.on_question_2()

    waiting = threading.Event()
    patiently = OneCallConnection._patiently

    def noted(self: OneCallConnection, function: Callable[..., Any], *args: Any) -> Any:
        waiting.set()
        return patiently(self, function, *args)

    monkeypatch.setattr(OneCallConnection, "_patiently", noted)
    # Another process (a CLI command beside the bot) holds the write lock.
    other = sqlite3.connect(tmp_path / "own.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        press = asyncio.create_task(customer.click("Да, предложили"))
        # The press found the lock held and went to SQLite's thread to wait for it; the
        # event loop was not held meanwhile (this test runs in it).
        assert await asyncio.to_thread(waiting.wait, CEILING)
        await asyncio.sleep(0.05)
        assert not press.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    await asyncio.wait_for(press, CEILING)
    assert "Вопрос 3 из 12" in customer.last["text"]
    async with app.sessions() as session:
        stored = await session.scalar(select(Survey.step).where(Survey.id == survey.id))
    assert stored == 3


async def test_a_call_still_on_the_thread_goes_first(sqlite_app: App) -> None:
    """A call whose waiter was cancelled may still run on the connection's thread:
    `run_here` then hands its work to the thread, behind that call."""
    async with sqlite_app.sessions() as session:
        connection = await session.connection()
        adapted = connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
        assert isinstance(adapted, OneCallConnection)
        release = threading.Event()
        earlier = asyncio.ensure_future(adapted._connection._execute(release.wait, CEILING))
        ran_on: list[threading.Thread] = []

        def where(sync_session: Any) -> int:
            ran_on.append(threading.current_thread())
            return int(sync_session.scalar(text("SELECT 1")))

        later = asyncio.ensure_future(run_sync(session, where))
        await asyncio.sleep(0.05)
        assert not later.done()  # queued behind the earlier call
        release.set()
        assert await asyncio.wait_for(later, CEILING) == 1
        await earlier
    assert ran_on == [adapted._connection._thread]
    # With the thread idle again, the next unit of work runs in the event loop's thread.
    async with sqlite_app.sessions() as session:
        ran_on.clear()
        assert await run_sync(session, where) == 1
    assert ran_on == [threading.current_thread()]


async def test_checkpoints_run_on_the_thread_every_so_many_commits(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 3)
    ran_on: list[threading.Thread] = []
    checkpoint = sqlite_driver._checkpoint

    def noted(connection: sqlite3.Connection) -> None:
        ran_on.append(threading.current_thread())
        checkpoint(connection)

    monkeypatch.setattr(sqlite_driver, "_checkpoint", noted)
    async with sqlite_app.sessions() as session:
        # SQLite's own checkpoints (inside a COMMIT) are off.
        assert await session.scalar(text("PRAGMA wal_autocheckpoint")) == 0
    for n in range(6):
        async with sqlite_app.sessions() as session:

            def write(connection: Any, n: int = n) -> bool:
                connection.execute(text("UPDATE surveys SET step = step WHERE id = :n"), {"n": n})
                return True

            # Half of them committed in the event loop (as a press), half on the thread.
            if n % 2:
                assert await commit_with(session, write)
            else:
                await session.execute(text("UPDATE surveys SET step = step WHERE id = 0"))
                await session.commit()
    for _ in range(CEILING * 100):
        if not sqlite_driver._CHECKPOINTS:
            break
        await asyncio.sleep(0.01)
    assert len(ran_on) >= 2, ran_on
    assert threading.current_thread() not in ran_on


async def test_many_pending_rows_are_flushed_on_the_thread(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import's hundreds of rows must not hold the event loop: past HERE_AT_MOST pending
    objects the flush goes the usual way, each statement on SQLite's thread."""
    inserts_ran_on: list[threading.Thread] = []

    def noting(run: Callable[..., Any]) -> Callable[..., Any]:
        def noted(connection: sqlite3.Connection, operation: str, parameters: Any) -> Any:
            if operation.startswith("INSERT INTO telegram_users"):
                inserts_ran_on.append(threading.current_thread())
            return run(connection, operation, parameters)

        return noted

    monkeypatch.setattr(sqlite_driver, "_run", noting(sqlite_driver._run))
    monkeypatch.setattr(sqlite_driver, "_run_many", noting(sqlite_driver._run_many))
    async with sqlite_app.sessions() as session:
        now = sqlite_app.clock()
        session.add_all(
            TelegramUser(id=700_000 + n, created_at=now) for n in range(HERE_AT_MOST + 5)
        )

        # A unit of work's commit: the session's pending rows are flushed first.
        assert await commit_with(session, lambda _connection: True)
    assert inserts_ran_on
    assert threading.current_thread() not in inserts_ran_on
    async with sqlite_app.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(TelegramUser).where(TelegramUser.id >= 700_000)
        )
    assert count == HERE_AT_MOST + 5


async def test_a_statement_sent_past_sqlalchemy_reads_and_fails_as_through_it(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """storage.batch `send`: the press's read gives the values SQLAlchemy's execution gives
    (dates, aware datetimes, flags), and SQLite's errors come as SQLAlchemy's."""
    app = sqlite_app
    survey, _ = await app.on_question_2()
    direct: list[str] = []
    execute_here = OneCallConnection.execute_here

    def noted(self: OneCallConnection, operation: str, parameters: Any) -> Any:
        direct.append(operation.split()[0])
        return execute_here(self, operation, parameters)

    monkeypatch.setattr(OneCallConnection, "execute_here", noted)

    def both(sync_session: Any) -> tuple[Any, Any]:
        sent = execute(
            sync_session.connection(), survey_rows.PRESSED, {"survey_id": survey.id}
        ).rows[0]
        row = sync_session.connection().execute(survey_rows.PRESSED, {"survey_id": survey.id})
        return sent, dict(row.one()._mapping)

    async with app.sessions() as session:
        sent, executed = await run_sync(session, both)
    assert direct == ["SELECT"]
    assert sent == executed
    assert [type(sent[k]) for k in sent] == [type(executed[k]) for k in executed]
    assert sent["started_at"].tzinfo is not None
    assert sent["step"] == 2

    values = {
        "survey_id": 999_999,  # no such survey
        "question": 1,
        "value": "yes",
        "score": None,
        "is_problem": False,
        "answered_at": app.clock(),
    }
    orphan = insert(Answer.__table__).values({name: bindparam(name) for name in values})

    def broken(connection: Any) -> bool:
        return send(connection, orphan, values) is not None

    async with app.sessions() as session:
        with pytest.raises(IntegrityError):  # the foreign key, as SQLAlchemy would raise it
            await commit_with(session, broken)
    assert direct[-1] == "INSERT"

    def listed(sync_session: Any) -> Any:
        statement = select(Survey.id).where(Survey.id.in_(bindparam("ids", expanding=True)))
        return send(sync_session.connection(), statement, {"ids": [survey.id]})

    async with app.sessions() as session:
        assert await run_sync(session, listed) is None  # an IN list: SQLAlchemy sends it

    def partial_insert(sync_session: Any) -> Any:
        # Without its other columns' values SQLAlchemy compiles the INSERT without them.
        statement = insert(Answer.__table__)
        return send(sync_session.connection(), statement, {"survey_id": survey.id})

    async with app.sessions() as session:
        assert await run_sync(session, partial_insert) is None


def test_a_file_that_cannot_be_opened_leaves_no_call_on_the_thread(tmp_path: Path) -> None:
    """aiosqlite stops a connection's thread when the file cannot be opened, without
    waiting: a thread that finished after its event loop closed died with "Event loop is
    closed" (seen in CI after the webhook's health test). Here a call queued on the
    thread behind the failed open holds it until the loop is gone, unless it is waited
    for: the thread then has nothing left to report to a closed loop."""
    loop_gone = threading.Event()
    failures: list[BaseException | None] = []
    connection: sqlite_driver.CountingConnection

    def open_missing() -> sqlite3.Connection:
        # On the thread, before the failure reaches the loop: something else to do first
        # (until the loop is gone, or half a second when the stop is waited for).
        connection._tx.put_nowait((None, lambda: loop_gone.wait(timeout=0.5)))
        return sqlite3.connect(tmp_path / "missing" / "db.sqlite")

    async def fail_to_open() -> None:
        with pytest.raises(sqlite3.OperationalError):
            await connection

    hook = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)
    try:
        connection = sqlite_driver.CountingConnection(open_missing)
        asyncio.run(fail_to_open())
        loop_gone.set()
        connection._thread.join(timeout=60)
    finally:
        threading.excepthook = hook
    assert not connection._thread.is_alive()
    assert failures == []


def _pool(app: App) -> Any:
    return app.sessions.kw["bind"].sync_engine.pool


async def test_a_unit_that_holds_no_connection_runs_on_one_of_its_own(sqlite_app: App) -> None:
    """storage.batch `_own_connection`: a unit whose session holds nothing reads and
    commits on a pooled connection checked out right in the event loop, with no session
    transaction: on a fresh engine (no connection to check out yet: the pool's connect
    is awaited, so the first unit goes the usual way), then on the pooled one; what a
    failed write began is rolled back there and the turn to write passed on."""
    engine = sqlite_app.sessions.kw["bind"]
    await engine.dispose()  # an empty pool, as a bot just started
    pool = _pool(sqlite_app)
    held: list[bool] = []
    counted = select(func.count().label("n")).select_from(Survey)

    for _ in range(2):
        async with sqlite_app.sessions() as session:
            assert await fetch(session, counted, {}) == [{"n": 0}]
            held.append(session.in_transaction())  # the session's connection, if it took one
        assert pool.checkedout() == 0
    assert held == [True, False]

    def written(connection: Any) -> bool:
        connection.execute(text("INSERT INTO telegram_users (id, created_at) VALUES (1, 0)"))
        return True

    def then_broken(connection: Any) -> bool:
        connection.execute(text("INSERT INTO telegram_users (id, created_at) VALUES (2, 0)"))
        connection.execute(text("INSERT INTO telegram_users (id, created_at) VALUES (1, 0)"))
        return True

    async with sqlite_app.sessions() as session:
        assert await commit_with(session, written)
        assert not session.in_transaction()
    async with sqlite_app.sessions() as session:
        with pytest.raises(IntegrityError):
            await commit_with(session, then_broken)
        assert not session.in_transaction()  # it ran on a connection of its own
    assert pool.checkedout() == 0
    # Nothing of the failed unit was kept, and the turn to write was passed on.
    queue = write_queue(engine)
    assert queue is not None
    assert not queue._current_lock().locked()
    async with sqlite_app.sessions() as session:
        ids = (await session.scalars(select(TelegramUser.id).order_by(TelegramUser.id))).all()
    assert ids == [1]


async def test_thread_calls_wait_for_the_lock_after_units_in_the_loop(
    sqlite_app: App, tmp_path: Path
) -> None:
    """In the event loop a statement must not wait for another process's lock
    (busy_timeout 0 there); a call on SQLite's thread after it waits as opened."""
    survey, customer = await sqlite_app.on_question_2()  # presses: units in the loop
    other = sqlite3.connect(tmp_path / "own.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with sqlite_app.sessions() as session:
            # On the thread (an ordinary async statement), while the lock is held.
            write = asyncio.ensure_future(
                session.execute(
                    text("UPDATE surveys SET step = step WHERE id = :id"), {"id": survey.id}
                )
            )
            await asyncio.sleep(0.2)
            assert not write.done()  # waiting, not failed with "database is locked"
            other.execute("ROLLBACK")
            await asyncio.wait_for(write, CEILING)
            await session.commit()
    finally:
        other.close()
    await customer.click("Да, предложили")  # and the loop's units go on as before
    assert "Вопрос 3 из 12" in customer.last["text"]


async def test_a_unit_whose_pooled_connection_is_busy_on_its_thread_waits_behind(
    sqlite_app: App,
) -> None:
    """A call still on the pooled connection's thread (a checkpoint, a cancelled waiter's
    call): a unit that would run on that connection in the loop goes the usual way and
    queues behind it on the thread."""
    engine = sqlite_app.sessions.kw["bind"]
    await engine.dispose()
    async with sqlite_app.sessions() as session:
        connection = await session.connection()  # the pool's one connection from now on
        adapted = connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
    release = threading.Event()
    earlier = asyncio.ensure_future(adapted._connection._execute(release.wait, CEILING))
    ran_on: list[threading.Thread] = []

    def noted(*_args: Any) -> None:
        ran_on.append(threading.current_thread())

    event.listen(engine.sync_engine, "before_cursor_execute", noted)
    try:
        async with sqlite_app.sessions() as session:
            later = asyncio.ensure_future(fetch(session, select(literal(1).label("one")), {}))
            await asyncio.sleep(0.05)
            assert not later.done()
            release.set()
            assert await asyncio.wait_for(later, CEILING) == [{"one": 1}]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", noted)
    await earlier
    assert ran_on == [adapted._connection._thread]
    assert _pool(sqlite_app).checkedout() == 0
