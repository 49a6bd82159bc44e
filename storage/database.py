"""Engine and session factory."""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver
from storage.sqlite_writes import SQLiteWriteQueue

_QUEUES: weakref.WeakKeyDictionary[Any, SQLiteWriteQueue] = weakref.WeakKeyDictionary()

# How long a writer waits for SQLite's write lock held by another process (busy_timeout);
# in this process writers queue without a limit (storage.sqlite_writes).
SQLITE_WRITE_WAIT_SECONDS = 60
POOL_SIZE = 10
POOL_OVERFLOW = 10
# An update holds its session while its handler may open a second one (FSM storage,
# alert outbox). With at most half the pool's connections held by updates, the nested
# ones always find a free connection: no pool deadlock under a burst of updates.
MAX_CONCURRENT_UPDATES = (POOL_SIZE + POOL_OVERFLOW) // 2
# What a database that is down or unreachable raises: the handlers answer "temporarily
# unavailable" to these.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (DBAPIError, ConnectionError)


def create_engine(url: str, *, create_missing: bool = True, **kwargs: Any) -> AsyncEngine:
    """The engine for DATABASE_URL. With `create_missing=False` (a running bot) an SQLite
    file is never created: only migrations make one. While the file is missing or was
    replaced, connections fail (customers hear "temporarily unavailable") and a pooled
    connection to the old file is dropped, never reused; the bot reconnects by itself
    when the file is back."""
    # Parameters are customers' names, phones and comments: keep them out of the log
    # lines and error messages SQLAlchemy writes.
    kwargs.setdefault("hide_parameters", True)
    if ":memory:" not in url:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    parsed = make_url(url)
    path = sqlite_file(url)
    if path is not None and not create_missing:
        # SQLite's URI form with mode=rw opens an existing file and never creates one.
        parsed = parsed.set(
            database=f"file:{path}", query={**parsed.query, "mode": "rw", "uri": "true"}
        )
    if parsed.get_backend_name() == "sqlite" and parsed.get_driver_name() == "aiosqlite":
        kwargs.setdefault("module", sqlite_driver.dbapi())
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        _QUEUES[engine.sync_engine] = SQLiteWriteQueue()
        _QUEUES[engine.sync_engine].attach(engine.sync_engine)
    if path is not None:
        _watch_file(engine, path)
    return engine


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite DATABASE_URL (None for a server database or :memory:)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or ":memory:" in database:
        return None
    return Path(database.removeprefix("file:")).resolve()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _watch_file(engine: AsyncEngine, path: Path) -> None:
    """Each connection remembers which file it opened; one handed out after that file was
    moved away, deleted, replaced or made unreadable is dropped, and the pool opens a new
    one (which fails until the file is back: "temporarily unavailable" for customers)."""

    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["file"] = _identity(path)

    def checked_out(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _identity(path) != record.info.get("file"):
            raise DisconnectionError(f"the database file {path.name} is gone or was replaced")
        if not os.access(path, os.R_OK | os.W_OK):
            raise DisconnectionError(f"the database file {path.name} is not readable")

    event.listen(engine.sync_engine, "connect", connected)
    event.listen(engine.sync_engine, "checkout", checked_out)


def write_queue(engine: AsyncEngine) -> SQLiteWriteQueue | None:
    """An SQLite engine's queue of writers (None on PostgreSQL)."""
    return _QUEUES.get(engine.sync_engine)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work during a write; busy_timeout makes a second writer wait
    # instead of failing with "database is locked"; SQLite leaves foreign keys off.
    cursor = dbapi_connection.cursor()
    if isinstance(dbapi_connection, sqlite_driver.OneCallConnection):
        # Checkpoints are that driver's, on a thread: SQLite's own would run inside a
        # COMMIT, which the driver may run in the event loop.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
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
