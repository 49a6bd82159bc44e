"""Engine and session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_writes import SQLiteWriteQueue

# How long a writer waits for SQLite's write lock, in this process and across processes.
SQLITE_WRITE_WAIT_SECONDS = 10
POOL_SIZE = 10
POOL_OVERFLOW = 10
# An update holds its session while its handler may open a second one (FSM storage,
# alert outbox). With at most half the pool's connections held by updates, the nested
# ones always find a free connection: no pool deadlock under a burst of updates.
MAX_CONCURRENT_UPDATES = (POOL_SIZE + POOL_OVERFLOW) // 2
# What a database that is down or unreachable raises: the handlers answer "temporarily
# unavailable" to these.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (DBAPIError, ConnectionError)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Parameters are customers' names, phones and comments: keep them out of the log
    # lines and error messages SQLAlchemy writes.
    kwargs.setdefault("hide_parameters", True)
    if ":memory:" not in url:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    engine = create_async_engine(url, **kwargs)
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        SQLiteWriteQueue(SQLITE_WRITE_WAIT_SECONDS).attach(engine.sync_engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work during a write; busy_timeout makes a second writer wait
    # instead of failing with "database is locked"; SQLite leaves foreign keys off.
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        f"busy_timeout={SQLITE_WRITE_WAIT_SECONDS * 1000}",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
