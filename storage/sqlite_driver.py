"""SQLAlchemy's aiosqlite adapter with one thread hand-off per statement, or none.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter
makes a statement four such calls (open a cursor, execute, fetch the rows, close the
cursor). Each call is a hand-off to that thread and a wake-up of the event loop when it
is done, which cost more CPU than SQLite's work on a small statement. Here a statement is
one call (all four at once), a connection without a transaction is not handed off to
commit or roll back, and code run with `run_on_thread` (storage.batch) executes its
statements on that thread directly. Everything else (the thread, the connection, errors,
server-side cursors for streamed results) is aiosqlite and SQLAlchemy as they are.

Installed with `create_async_engine(..., module=dbapi())` (storage.database).
"""

from __future__ import annotations

import collections
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import await_

_Outcome = tuple[Any, int, int | None, list[Any]]
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
        driver: aiosqlite.Connection = self._adapt._connection  # type: ignore[assignment]
        try:
            if self._adapt.on_its_thread():  # inside run_on_thread: no hand-off
                outcome: _Outcome = function(driver._conn, operation, parameters)
            else:
                outcome = await_(
                    driver._execute(function, driver._conn, operation, parameters)  # type: ignore[no-untyped-call]
                )
        except Exception as error:
            self._adapt._handle_exception(error)
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


class OneCallConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneCallCursor  # type: ignore[assignment]

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        self._end("rollback")

    def _end(self, how: str) -> None:
        # The pool rolls back every connection handed back, most of them just committed:
        # sqlite3 would do nothing there (no transaction), so nothing is handed off. On
        # the connection's own thread (run_on_thread) sqlite3 is called directly.
        if not self._open_transaction():
            return
        if self.on_its_thread():
            getattr(self._connection._conn, how)()
        else:
            getattr(super(), how)()

    def on_its_thread(self) -> bool:
        """Running on the connection's own thread (in `run_on_thread`)."""
        return threading.current_thread() is self._connection._thread

    async def run_on_thread(self, function: Callable[[], _T]) -> _T:
        """Run ordinary (sync) SQLAlchemy code on the connection's thread in one hand-off:
        the statements inside execute there directly (storage.batch)."""
        return await self._connection._execute(function)  # type: ignore[no-any-return]

    def _open_transaction(self) -> bool:
        # A flag read on the connection (sqlite3_get_autocommit); no statement of this
        # connection runs meanwhile, since its caller waits for each one.
        connection: sqlite3.Connection | None = self._connection._connection
        return connection is not None and connection.in_transaction


class OneCallDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> OneCallConnection:
        connection = self.aiosqlite.connect(*args, **kwargs)
        connection._thread.daemon = True  # as SQLAlchemy's adapter does
        return OneCallConnection(self, await_(connection))


def dbapi() -> OneCallDBAPI:
    return OneCallDBAPI(aiosqlite, sqlite3)
