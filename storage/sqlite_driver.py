"""SQLAlchemy's aiosqlite adapter: one thread hand-off per statement, or none at all.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter
makes a statement four such calls (open a cursor, execute, fetch the rows, close the
cursor). Each call is a hand-off to that thread and a wake-up of the event loop when it
is done, which cost more CPU than SQLite's work on a small statement. Here a statement is
one call (all four at once), and a connection without a transaction is not handed off to
commit or roll back.

`run_here` (storage.batch) goes further for a unit of work's short, known statements (a
row read by its key, a few writes): they run in the event loop's own thread, where
SQLite needs microseconds for them, with no hand-off at all, COMMIT included (`run_now`
the same outside SQLAlchemy's greenlets, raising WouldWait where `run_here` would wait).
What could make such a call long goes to the thread instead, where waiting does not stop
the loop: a database locked by another process (the statement is tried with no busy wait
here, busy_timeout 0, and when locked handed to the thread to wait as long as
`busy_timeout` allows, which the thread's next call sets back);
a connection whose thread is still busy; and the copy of the write-ahead log into the
file (a checkpoint, with its fsync), which SQLite would run inside a COMMIT: its own
checkpoints are off, and one runs on a connection's thread every CHECKPOINT_EVERY
commits. Everything else (the thread, the connection, errors, server-side cursors for
streamed results) is aiosqlite and SQLAlchemy as they are.

Installed with `create_async_engine(..., module=dbapi())` (storage.database).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import await_

_Outcome = tuple[Any, int, int | None, list[Any]]
# Commits between two checkpoints: SQLite's own default is 1,000 pages of log, and a
# survey press writes about five.
CHECKPOINT_EVERY = 200
_CHECKPOINTS: set[asyncio.Future[Any]] = set()
log = logging.getLogger(__name__)
_T = TypeVar("_T")


def _run(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On aiosqlite's thread: the whole statement, rows included."""
    cursor = connection.cursor()
    try:
        cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


def _checkpoint(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _checkpointed(task: asyncio.Future[Any]) -> None:
    _CHECKPOINTS.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("SQLite checkpoint failed (%s); the next one tries again", error)


class OneCallCursor:
    """A DB-API cursor whose execute is one call on aiosqlite's thread, rows included."""

    server_side = False
    __slots__ = ("_adapt", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, adapt_connection: OneCallConnection) -> None:
        self._adapt = adapt_connection
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def execute(self, operation: str, parameters: Any = None) -> None:
        self._call(_run, operation, () if parameters is None else parameters)

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        self._call(_run_many, operation, seq_of_parameters)

    def _call(self, function: Any, operation: str, parameters: Any) -> None:
        adapt = self._adapt
        driver: aiosqlite.Connection = adapt._connection  # type: ignore[assignment]
        try:
            if adapt.here:  # inside run_here: in the event loop's thread
                outcome: _Outcome = adapt.here_or_patiently(
                    function, driver._conn, operation, parameters
                )
            elif adapt.on_its_thread():  # inside a call on the thread: no hand-off
                outcome = function(driver._conn, operation, parameters)
            else:
                outcome = await_(
                    driver._execute(function, driver._conn, operation, parameters)  # type: ignore[no-untyped-call]
                )
        except Exception as error:
            adapt._handle_exception(error)
        self.description, self.rowcount, self.lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def close(self) -> None:
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's asyncio results close the cursor here; this one has nothing open."""

    def setinputsizes(self, *_sizes: Any) -> None:
        pass

    def setoutputsize(self, *_args: Any) -> None:
        pass


class WouldWait(Exception):
    """`run_now` could not run its function without waiting (nothing of it is kept)."""


class OneCallConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_hasty", "here")
    _cursor_cls = OneCallCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:  # a CountingConnection
        super().__init__(dbapi, connection)
        self.here = False  # statements run in the event loop's thread (run_here)
        self._hasty = False  # run_now: a wait is WouldWait, not an await

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        self._end("rollback")

    def _end(self, how: str) -> None:
        # The pool rolls back every connection handed back, most of them just committed:
        # sqlite3 would do nothing there (no transaction), so nothing is handed off. On
        # the connection's own thread sqlite3 is called directly.
        if not self._open_transaction():
            return
        if self.on_its_thread():
            getattr(self._connection._conn, how)()
        elif self.here:
            self.here_or_patiently(getattr(self._connection._conn, how))
        else:
            getattr(super(), how)()
        if how == "commit" and self.dbapi.committed():
            self._checkpoint_soon()

    def _checkpoint_soon(self) -> None:
        """Copy the write-ahead log into the file on this connection's thread, without
        waiting: the next use of the connection queues behind it (`run_here` sees the
        thread busy). SQLite would do it inside a COMMIT, in the event loop."""
        driver: CountingConnection = self._connection  # type: ignore[assignment]
        done = driver.submit(_checkpoint, driver._conn)
        _CHECKPOINTS.add(done)
        done.add_done_callback(_checkpointed)

    def on_its_thread(self) -> bool:
        """Running on the connection's own thread (a call handed to it)."""
        return threading.current_thread() is self._connection._thread

    def run_here(self, function: Callable[[], _T]) -> _T:
        """Run ordinary (sync) SQLAlchemy code with its statements executed in the event
        loop's thread (storage.batch): for short statements only, and never a long wait.
        Called in one of SQLAlchemy's greenlets (a session's `run_sync`).

        While a call handed to the thread earlier is still running there (its waiter was
        cancelled), the whole function goes to the thread behind it, as before."""
        driver: CountingConnection = self._connection  # type: ignore[assignment]
        if not driver.idle:
            return await_(driver._execute(function))  # type: ignore[no-any-return]
        return self._here(function)

    def run_now(self, function: Callable[[], _T]) -> _T:
        """`run_here` for a caller outside SQLAlchemy's greenlets (storage.batch, a unit of
        work on a pooled connection of its own): `function` runs right here, or raises
        WouldWait where `run_here` would wait (a call still on the thread, another
        process's lock on the database). Whatever transaction it leaves open is rolled
        back, so nothing of it is kept unless it committed."""
        if not self._connection.idle:
            raise WouldWait
        self._hasty = True
        try:
            return self._here(partial(self._then_ended, function))
        finally:
            self._hasty = False

    def _then_ended(self, function: Callable[[], _T]) -> _T:
        try:
            return function()
        finally:
            if self._open_transaction():
                self.rollback()

    def _here(self, function: Callable[[], _T]) -> _T:
        # Locked by another process: fail at once here, then wait on the thread.
        driver: CountingConnection = self._connection  # type: ignore[assignment]
        driver.hasty()
        self.here = True
        try:
            return function()
        finally:
            self.here = False

    def execute_here(self, operation: str, parameters: Any) -> _Outcome:
        """One statement inside `run_here`, past SQLAlchemy (storage.direct, `send`):
        (description, rowcount, lastrowid, rows)."""
        assert self.here
        return self.here_or_patiently(_run, self._connection._conn, operation, parameters)

    def here_or_patiently(self, function: Callable[..., _T], *args: Any) -> _T:
        """`function(*args)` right here; if another process holds the database's lock,
        on the thread, waiting for it up to busy_timeout (the event loop goes on)."""
        try:
            return function(*args)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            if self._hasty:
                raise WouldWait from error
        return await_(self._connection._execute(self._patiently, function, *args))  # type: ignore[no-any-return]

    def _patiently(self, function: Callable[..., _T], *args: Any) -> _T:
        """On the thread, where a call waits up to busy_timeout for the lock."""
        return function(*args)

    def _open_transaction(self) -> bool:
        # A flag read on the connection (sqlite3_get_autocommit); no statement of this
        # connection runs meanwhile, since its caller waits for each one.
        connection: sqlite3.Connection | None = self._connection._connection
        return connection is not None and connection.in_transaction


class CountingConnection(aiosqlite.Connection):
    """aiosqlite's connection, counting the calls its thread has not finished yet (each
    count is written by one thread only: handed by the event loop, finished by SQLite's)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.handed = 0
        self.finished = 0
        self._stopping: asyncio.Future[Any] | None = None
        # busy_timeout (milliseconds) as opened, which calls on the thread wait with; 0
        # for statements in the event loop's thread (`hasty`), set back lazily by the
        # next call on the thread (`_counted`): no statement of its own a press.
        self._patience: int | None = None
        self._patient = True

    async def _connect(self) -> aiosqlite.Connection:
        """aiosqlite's, except that when the file cannot be opened it waits for the
        thread to stop: aiosqlite asks it to stop without waiting, and a thread that
        finishes after its event loop has closed (a command exiting on that error, a
        test's loop) dies with "Event loop is closed"."""
        try:
            return await super()._connect()
        except BaseException:
            if self._stopping is not None:
                await asyncio.wait((self._stopping,))
            raise

    def stop(self) -> asyncio.Future[Any] | None:
        self._stopping = super().stop()
        return self._stopping

    @property
    def idle(self) -> bool:
        return self.handed == self.finished

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")  # as aiosqlite says it
        self.handed += 1
        return await super()._execute(self._counted, partial(fn, *args, **kwargs))  # type: ignore[no-untyped-call]

    def submit(self, fn: Any, *args: Any) -> asyncio.Future[Any]:
        """Queue a call for the thread now, without waiting for it (counted at once, so
        the connection is busy from this moment); the future has its outcome."""
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        future = asyncio.get_running_loop().create_future()
        self.handed += 1
        self._tx.put_nowait((future, partial(self._counted, partial(fn, *args))))
        return future

    def hasty(self) -> None:
        """busy_timeout 0 for statements run in the event loop's thread, which must not
        wait there for another process's lock. Called there, with the thread idle."""
        if self._patient:
            if self._patience is None:
                self._patience = self._conn.execute("PRAGMA busy_timeout").fetchone()[0]
            self._conn.execute("PRAGMA busy_timeout=0")
            self._patient = False

    def _counted(self, function: Callable[[], Any]) -> Any:
        try:
            if not self._patient:  # after `hasty`: the thread's calls wait as opened
                self._conn.execute(f"PRAGMA busy_timeout={self._patience}")
                self._patient = True
            return function()
        finally:
            self.finished += 1


class OneCallDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Connections are opened with SQLite's automatic checkpoints off (storage.database):
    one follows every CHECKPOINT_EVERY commits of this engine, on a thread."""

    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self._commits = 0

    def committed(self) -> bool:
        """Count a commit; True when a checkpoint is due."""
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY:
            return False
        self._commits = 0
        return True

    def connect(self, *args: Any, **kwargs: Any) -> OneCallConnection:
        # Used from the event loop's thread as well (run_here), one call at a time.
        kwargs["check_same_thread"] = False
        database, *rest = args
        connection = CountingConnection(partial(sqlite3.connect, str(database), *rest, **kwargs))
        connection._thread.daemon = True  # as SQLAlchemy's adapter does
        return OneCallConnection(self, await_(connection))


def dbapi() -> OneCallDBAPI:
    return OneCallDBAPI(aiosqlite, sqlite3)
