"""PostgreSQL: a unit that holds no connection sends its read and its merged write through
asyncpg itself, each a transaction of its own (storage.direct, `send_alone`). What it
reads, how it fails and what it does with a connection that is gone must be what
SQLAlchemy's execution gives. On SQLite the suite runs the same statements through
`send` (tests/telegram/test_sqlite_in_loop.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Float, bindparam, insert, literal, select, text
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from storage import surveys
from storage.batch import commit_alone, fetch
from storage.models import Answer
from tests.conftest import PG_URL, App

pytestmark = pytest.mark.skipif(
    PG_URL is None, reason="PostgreSQL only (set TEST_DATABASE_URL): asyncpg sends these"
)


async def on_question_2(app: App) -> int:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click("Ответили быстро")
    return survey.id


async def test_a_read_sent_by_asyncpg_gives_what_sqlalchemy_gives(app: App) -> None:
    survey_id = await on_question_2(app)
    parameters = {"survey_id": survey_id}
    async with app.sessions() as session:
        result = await session.execute(surveys._PRESSED, parameters)
        executed = dict(result.one()._mapping)
    async with app.sessions() as session:
        sent = await fetch(session, surveys._PRESSED, parameters)
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


async def test_a_write_sent_by_asyncpg_fails_whole_as_through_sqlalchemy(app: App) -> None:
    survey_id = await on_question_2(app)
    values = {
        "survey_id": 999_999,  # no such survey: the foreign key
        "question": 1,
        "value": "yes",
        "score": None,
        "is_problem": False,
        "answered_at": app.clock(),
    }
    orphan = insert(Answer.__table__).values({name: bindparam(name) for name in values})
    async with app.sessions() as session:
        assert await commit_alone(session, orphan, values) is False  # nothing written
    kept = {**values, "survey_id": survey_id, "question": 5}
    async with app.sessions() as session:
        assert await commit_alone(session, orphan, kept) is True  # committed by itself
    async with app.sessions() as session:
        stored = await session.scalar(
            select(Answer.value).where(Answer.survey_id == survey_id, Answer.question == 5)
        )
    assert stored == "yes"
    # The same insert again breaks the answer's key: refused whole, as SQLAlchemy raises it.
    async with app.sessions() as session:
        with pytest.raises(IntegrityError):
            await session.execute(orphan, kept)


async def test_a_connection_that_is_gone_is_dropped_and_the_next_unit_reconnects(
    app: App,
) -> None:
    survey_id = await on_question_2(app)
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
            await fetch(session, surveys._PRESSED, parameters)
    assert raised.value.connection_invalidated
    assert engine.sync_engine.pool.checkedout() == 0
    async with app.sessions() as session:
        rows = await fetch(session, surveys._PRESSED, parameters)
    assert rows[0]["id"] == survey_id
