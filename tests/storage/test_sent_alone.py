"""PostgreSQL: a unit that holds no connection sends its read and its merged write through
asyncpg itself, each a transaction of its own (storage.direct, `send_alone`). What it
reads, how it fails and what it does with a connection that is gone must be what
SQLAlchemy's execution gives. On SQLite the suite runs the same statements through
`send` (tests/telegram/test_sqlite_in_loop.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Float, bindparam, func, insert, literal, select, text
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage import survey_rows
from storage.batch import commit_alone, fetch
from storage.models import ProcessedUpdate
from tests.conftest import PG_URL, App

CEILING = 120  # seconds: a ceiling for events that come in milliseconds
pytestmark = pytest.mark.skipif(
    PG_URL is None, reason="PostgreSQL only (set TEST_DATABASE_URL): asyncpg sends these"
)


async def test_a_read_sent_by_asyncpg_gives_what_sqlalchemy_gives(app: App) -> None:
    survey, _ = await app.on_question_2()
    parameters = {"survey_id": survey.id}
    async with app.sessions() as session:
        result = await session.execute(survey_rows.PRESSED, parameters)
        executed = dict(result.one()._mapping)
    async with app.sessions() as session:
        sent = await fetch(session, survey_rows.PRESSED, parameters)
        assert not session.in_transaction()  # on a connection of its own, not the session's
    assert sent == [executed]
    assert [type(value) for value in sent[0].values()] == [
        type(value) for value in executed.values()
    ]
    assert sent[0]["started_at"].tzinfo is not None
    assert sent[0]["step"] == 2
    # A number whose type asyncpg's processors read from the server's type ids.
    numbers = select(sql_cast(literal(2.5), Float).label("score"))
    async with app.sessions() as session:
        assert await fetch(session, numbers, {}) == [{"score": 2.5}]
        assert not session.in_transaction()


async def test_a_write_sent_by_asyncpg_is_its_own_transaction_and_fails_whole(
    app: App,
) -> None:
    """Sent once, a write is committed by itself; sent again, it breaks the key, nothing of
    it is written and the caller is told so (False): it then goes through the session,
    where SQLAlchemy raises IntegrityError, as a re-delivered press does
    (tests/telegram/test_press_path.py)."""
    claim = insert(ProcessedUpdate.__table__).values(
        {name: bindparam(name) for name in ("bot_id", "update_id", "processed_at")}
    )
    parameters = {"bot_id": 1, "update_id": 77, "processed_at": app.clock()}
    for committed in (True, False):
        async with app.sessions() as session:
            assert await commit_alone(session, claim, parameters) is committed
            assert not session.in_transaction()  # on a connection of its own
    async with app.sessions() as session:
        recorded = await session.scalar(
            select(func.count()).where(
                ProcessedUpdate.bot_id == 1, ProcessedUpdate.update_id == 77
            )
        )
        with pytest.raises(IntegrityError):
            await session.execute(claim, parameters)
    assert recorded == 1


async def test_a_connection_that_is_gone_is_dropped_and_the_next_unit_reconnects(
    app: App,
) -> None:
    survey, _ = await app.on_question_2()
    survey_id = survey.id
    engine = app.sessions.kw["bind"]
    await engine.dispose()
    async with engine.connect() as connection:  # the pool's one connection from now on
        backend = await connection.scalar(text("SELECT pg_backend_pid()"))
    admin = create_async_engine(app.settings.database_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    finally:
        await admin.dispose()
    parameters = {"survey_id": survey_id}
    async with app.sessions() as session:
        with pytest.raises(DBAPIError) as raised:
            await fetch(session, survey_rows.PRESSED, parameters)
    assert raised.value.connection_invalidated
    assert engine.sync_engine.pool.checkedout() == 0
    async with app.sessions() as session:
        rows = await fetch(session, survey_rows.PRESSED, parameters)
    assert rows[0]["id"] == survey_id


async def test_a_statement_cancelled_midway_leaves_no_connection_behind(app: App) -> None:
    """The bot stopping while asyncpg waits for a statement: that connection is closed,
    not handed to the next unit in an unknown state."""
    engine = app.sessions.kw["bind"]
    await engine.dispose()
    async with engine.connect() as connection:  # the pool's one connection from now on
        backend = await connection.scalar(text("SELECT pg_backend_pid()"))
    watcher = create_async_engine(app.settings.database_url, poolclass=NullPool)
    slow = select(literal(1).label("one")).where(func.pg_sleep(literal(60.0)).is_(None))
    try:
        async with app.sessions() as session:
            running = asyncio.ensure_future(fetch(session, slow, {}))
            for _ in range(CEILING * 10):  # until the server runs it
                async with watcher.connect() as watching:
                    query = await watching.scalar(
                        text("SELECT query FROM pg_stat_activity WHERE pid = :pid"),
                        {"pid": backend},
                    )
                if query and "pg_sleep" in query:
                    break
                await asyncio.sleep(0.1)
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
        assert engine.sync_engine.pool.checkedout() == 0
        async with engine.connect() as connection:  # a new one, not the cancelled one
            assert await connection.scalar(text("SELECT pg_backend_pid()")) != backend
        async with app.sessions() as session:
            assert await fetch(session, select(literal(1).label("one")), {}) == [{"one": 1}]
    finally:
        async with watcher.connect() as watching:  # the server's side of it sleeps on
            await watching.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        await watcher.dispose()
