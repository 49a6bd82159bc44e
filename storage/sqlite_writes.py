"""One SQLite writer at a time, queued fairly in the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.util import await_only

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class SQLiteWriteQueue:
    """SQLite lets one connection write at a time, and the others poll for the lock with
    growing sleeps (busy_timeout). Under a burst of updates a writer can keep losing that
    race until its timeout and fail with "database is locked": bench.dialogue saw it at
    100 customers answering at once. Here a transaction's first write instead waits its
    turn in an asyncio lock (first come, first served), and commit or rollback passes
    the turn on. busy_timeout still covers writers in other processes.

    The bot's queue has no timeout: on a busy machine a writer waits as long as it takes
    (the turn always comes back: a use case commits before it talks to Telegram), and
    the wait shows in `longest_wait` (bench.dialogue prints it), never as an error.
    """

    def __init__(self, timeout: float | None = None) -> None:
        self._timeout = timeout
        self.longest_wait = 0.0
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writers: set[Any] = set()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Transactions queued for their turn to write."""
        return self._waiting

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "commit", self._transaction_ended)
        event.listen(engine, "rollback", self._transaction_ended)
        # A connection handed back or dropped mid-transaction must not keep the turn.
        event.listen(engine.pool, "checkin", self._connection_left)
        event.listen(engine.pool, "invalidate", self._connection_left)

    def _before_execute(
        self,
        connection: Connection,
        _cursor: Any,
        statement: str,
        *_args: Any,
    ) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection in self._writers:
            return
        if not statement.lstrip()[:8].upper().startswith(_WRITES):
            return
        # Runs inside SQLAlchemy's greenlet for this async call, so it may await.
        await_only(self.take_turn(dbapi_connection))

    async def take_turn(self, dbapi_connection: Any) -> None:
        """Wait for this connection's turn to write (nothing to wait for when it has it):
        before a unit of work's last writes run (storage.batch), and before an async
        session's first write."""
        if dbapi_connection in self._writers:
            return
        lock = self._current_lock()
        self._waiting += 1
        asked = time.monotonic()
        try:
            await asyncio.wait_for(lock.acquire(), self._timeout)
        except TimeoutError:
            raise sqlite3.OperationalError(
                f"database is locked: no turn to write within {self._timeout:.0f} s"
            ) from None
        finally:
            self._waiting -= 1
        self.longest_wait = max(self.longest_wait, time.monotonic() - asked)
        self._writers.add(dbapi_connection)

    def _transaction_ended(self, connection: Connection) -> None:
        self._release(connection.connection.dbapi_connection)

    def _connection_left(self, dbapi_connection: Any, *_args: Any) -> None:
        self._release(dbapi_connection)

    def _release(self, dbapi_connection: Any) -> None:
        if dbapi_connection in self._writers:
            self._writers.discard(dbapi_connection)
            # Always in the event loop's thread: the session's commit (this event) and
            # the pool's check-in run there, whichever thread ran the SQL.
            if self._lock is not None and self._lock.locked():
                self._lock.release()

    def _current_lock(self) -> asyncio.Lock:
        # An engine may outlive its event loop (tests, CLI commands): a new loop starts
        # with a fresh queue.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop, self._writers = asyncio.Lock(), loop, set()
        return self._lock
