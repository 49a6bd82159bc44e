"""A unit of work's SQL without a hand-off per statement.

On SQLite each statement of an async session is a hand-off to aiosqlite's thread, a
greenlet switch and a wake-up of the event loop: more CPU than SQLite's own work and
SQLAlchemy's. `run_sync` runs ordinary (sync) SQLAlchemy code whose statements execute
right in the event loop's thread (storage.sqlite_driver, `run_here`): for a unit of
work's short statements only, a row by its key or a few writes. On PostgreSQL it is the
session's `run_sync` (each statement is a round trip as before). `read` and `commit_with`
take Core code (a function of a Connection), and on SQLite, for a unit whose session
holds no connection and has nothing to flush (a press's read, then its commit), run it
on a pooled connection of its own checked out in the event loop: no session
transaction, no greenlet (`_own_connection`). What would have to wait there (the pool
opening a connection, the connection's thread busy, another process's lock) goes the
usual way instead, with nothing of it kept.

`defer` queues a Core write for the unit of work's commit, which then sends the queued
writes, the update's id and COMMIT the same way (storage.uow, `commit_with`). A deferred
write is not visible to the unit's own queries before that commit: repositories defer
only the last writes of a use case (the survey row and its answer, storage.surveys).

Inside such a unit on SQLite, `execute` gives a Core statement to sqlite3 itself (`send`):
the SQL, the order of its parameters and their types' processors are SQLAlchemy's,
compiled once; what is skipped is SQLAlchemy's execution of it (cache key, execution
context, result object), several times SQLite's own work on a press's small statements.
Listeners of `before_cursor_execute` still see each one; elsewhere (PostgreSQL, SQLite's
thread) `execute` is SQLAlchemy's.

On PostgreSQL, where each statement is a round trip, the queued writes and the update's
id go as one statement (`merged`): each write as a data-modifying CTE of the id's
insert. One statement is one snapshot, so the writes must touch different rows (each
names its row); a re-delivered update's insert conflicts as before, and the rollback
that follows undoes its writes with the rest.

Also on PostgreSQL, a unit's first read and a press's one merged statement need no BEGIN
and COMMIT of their own (`alone`): asyncpg's adapter begins a transaction at the first
statement, and at the server's default isolation (read committed) each statement sees
the database as of its own start anyway, so a read sent before anything else, or the
unit's only write statement, may be its own transaction: a press is two round trips, not
four.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar, cast

from sqlalchemy import exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.util import await_

from storage.database import write_queue
from storage.sqlite_driver import OneCallConnection, WouldWait
from storage.sqlite_writes import SQLiteWriteQueue

_P = ParamSpec("_P")
_T = TypeVar("_T")
_DEFERRED = "followup.deferred_writes"
# Pending ORM objects flushed in the event loop's thread at most; more are flushed the
# usual way first (each statement on SQLite's thread).
HERE_AT_MOST = 20

# `renamed(prefix)`: the same write with its bind names prefixed, so that several fit
# one statement (PostgreSQL's merged commit).
Renamed = Callable[[str], UpdateBase]


@dataclass(frozen=True, slots=True)
class Write:
    statement: Executable
    parameters: dict[str, Any]
    renamed: Renamed | None = None
    row: Hashable = None  # the row it writes: merged writes must each write another


def defer(
    session: AsyncSession,
    statement: Executable,
    parameters: dict[str, Any],
    renamed: Renamed | None = None,
    row: Hashable = None,
) -> None:
    """Send this Core write with the unit of work's commit. With `renamed` (a module-level
    builder, so it can key a cache) and the `row` it writes, PostgreSQL sends it within
    the commit's one statement."""
    session.info.setdefault(_DEFERRED, []).append(Write(statement, parameters, renamed, row))


def take_deferred(session: AsyncSession) -> list[Write]:
    writes: list[Write] = session.info.pop(_DEFERRED, [])
    return writes


async def run_sync(
    session: AsyncSession,
    function: Callable[Concatenate[Session, _P], _T],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T:
    """`function(sync_session, ...)`: on SQLite with no hand-off to its thread. For short
    statements only (they hold the event loop while they run)."""
    call = partial(function, session.sync_session, *args, **kwargs)
    return await _run(session, lambda _connection: call())


async def read(
    session: AsyncSession,
    function: Callable[Concatenate[Connection, _P], _T],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T:
    """`function(connection, ...)`, which reads with Core statements (`execute`): on SQLite
    in the event loop's thread, on a pooled connection of its own when the unit holds
    none yet (`_own_connection`: no session machinery, no greenlet)."""
    own = _own_connection(session)
    if own is not None:
        try:
            adapted = cast(OneCallConnection, own.connection.dbapi_connection)
            return adapted.run_now(partial(function, own, *args, **kwargs))
        except WouldWait:
            pass  # the usual way, below
        finally:
            own.close()
    return await _run(session, lambda connection: function(connection, *args, **kwargs))


async def commit_with(
    session: AsyncSession,
    function: Callable[Concatenate[Connection, _P], bool],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> bool:
    """Run `function(connection, ...)`, which writes, and commit when it returns True: the
    session's pending changes are flushed first; on SQLite the writes and COMMIT run in
    the event loop's thread, after waiting there for the turn to write
    (storage.sqlite_writes), and on a pooled connection of the unit's own when its
    session has nothing pending and holds no connection (`_own_connection`). False:
    nothing is committed and the session's transaction stays open for the caller."""
    own = _own_connection(session)
    if own is not None:
        try:
            queue = write_queue(cast(AsyncEngine, session.bind))
            assert queue is not None  # an SQLite engine's (`_own_connection`)
            return await _commit_own(queue, own, partial(function, own, *args, **kwargs))
        except (WouldWait, _Again):
            pass  # the usual way, below
        finally:
            own.close()
    return await _run(
        session,
        lambda connection: function(connection, *args, **kwargs),
        writes=True,
        commit=True,
    )


class _Again(Exception):
    """On a connection of its own the function returned False: it is done again through
    the session, whose transaction then stays open for the caller (a re-delivered
    update: rare)."""


def _own_connection(session: AsyncSession) -> Connection | None:
    """For a unit whose session holds no connection and has nothing to flush, on SQLite
    with storage.sqlite_driver: a connection of the engine's pool, checked out right here
    in the event loop with no session and no greenlet around it (SQLAlchemy's session,
    its transaction and the greenlet of `run_sync` cost several times what SQLite does
    for a press). None otherwise, and when the pool would first have to open a
    connection: aiosqlite's connect is awaited, which SQLAlchemy does in its greenlet."""
    sync = session.sync_session
    engine = session.bind
    if (
        not isinstance(engine, AsyncEngine)
        or write_queue(engine) is None
        or sync.in_transaction()
        or sync.new
        or sync.dirty
        or sync.deleted
    ):
        return None
    try:
        connection = engine.sync_engine.connect()
    except MissingGreenlet:
        return None
    if isinstance(connection.connection.dbapi_connection, OneCallConnection):
        return connection
    connection.close()
    return None


async def _commit_own(
    queue: SQLiteWriteQueue, connection: Connection, call: Callable[[], bool]
) -> bool:
    """The turn to write, then `call` and COMMIT right here (SQLAlchemy's own transaction
    on the connection, so its events are seen as for any other: the write queue passes
    the turn on at the commit, and counters count it)."""
    adapted = cast(OneCallConnection, connection.connection.dbapi_connection)
    await queue.take_turn(adapted)

    def then_commit() -> bool:
        transaction = connection.begin()
        if not call():
            raise _Again  # rolled back by run_now, and the turn passed on at check-in
        transaction.commit()
        return True

    return adapted.run_now(then_commit)


async def _run(
    session: AsyncSession,
    call: Callable[[Connection], _T],
    *,
    writes: bool = False,
    commit: bool = False,
) -> _T:
    """All of it in one of SQLAlchemy's greenlets (`run_sync`): the session's connection,
    the turn to write, the statements, COMMIT and the session's own commit."""
    queue = write_queue(session.bind) if isinstance(session.bind, AsyncEngine) else None
    return await session.run_sync(_unit, queue, call, writes, commit)


def _unit(
    session: Session,
    queue: SQLiteWriteQueue | None,
    call: Callable[[Connection], _T],
    writes: bool,
    commit: bool,
) -> _T:
    connection = session.connection()
    adapted = connection.connection.dbapi_connection
    # Pending ORM changes are flushed before a query (autoflush): that writes too.
    pending = len(session.new) + len(session.deleted) + len(session.dirty)
    if queue is None or not isinstance(adapted, OneCallConnection):
        # Not SQLite (or SQLite without our driver): each statement as for any other; a
        # read that comes first in its unit without a BEGIN on PostgreSQL.
        if commit:
            session.flush()
        if writes or commit or pending:
            result = call(connection)
        else:
            with alone(connection):
                result = call(connection)
    else:
        if writes or pending:
            await_(queue.take_turn(adapted))
        if pending > HERE_AT_MOST:  # an import's rows, say: not in the event loop
            session.flush()

        def then_commit() -> _T:
            if commit:
                session.flush()
            result = call(connection)
            if commit and result:
                adapted.commit()
            return result

        result = adapted.run_here(then_commit)
    if commit and result:
        # On SQLite committed already: this hands the connection back to the pool (and
        # the turn to the next writer), in the event loop's thread.
        session.commit()
    return result


@contextmanager
def alone(connection: Connection) -> Iterator[bool]:
    """Statements sent in here run as transactions of their own, with no BEGIN and COMMIT
    (two round trips fewer), when nothing has been sent yet in the unit's transaction on
    PostgreSQL at the server's default isolation (read committed: each statement sees the
    database as of its own start, in a transaction or not). Yields whether they do; the
    caller sends either reads, or one statement whose writes belong together."""
    adapted = connection.connection.dbapi_connection
    if not (
        isinstance(adapted, AsyncAdapt_asyncpg_connection)
        and adapted._transaction is None  # the adapter sends BEGIN with the first statement
        and adapted.isolation_level is None  # the server's default, which SQLAlchemy read
        and connection.dialect.default_isolation_level == "READ COMMITTED"
    ):
        yield False
        return
    adapted.autocommit = True
    try:
        yield True
    finally:
        adapted.autocommit = False


_MERGED: dict[tuple[UpdateBase, tuple[Renamed, ...]], UpdateBase] = {}


def mergeable(writes: Sequence[Write]) -> bool:
    """Whether `merged` can send these writes: each has its renamed form and writes a
    row of its own (two changes of one row in one statement: PostgreSQL keeps one)."""
    rows = {write.row for write in writes}
    return (
        bool(writes)
        and None not in rows
        and len(rows) == len(writes)
        and all(write.renamed is not None for write in writes)
    )


def merged(
    main: UpdateBase, main_parameters: dict[str, Any], writes: Sequence[Write]
) -> tuple[UpdateBase, dict[str, Any]]:
    """One PostgreSQL statement: `main` (built once, like the writes' builders) with each
    write as a data-modifying CTE. Built once per combination of writes, so SQLAlchemy's
    compiled cache serves it after."""
    builders = tuple(write.renamed for write in writes if write.renamed is not None)
    assert len(builders) == len(writes), "every merged write needs its renamed form"
    key = (main, builders)
    statement = _MERGED.get(key)
    if statement is None:
        written = [build(f"w{n}_").cte(f"write_{n}") for n, build in enumerate(builders)]
        statement = _MERGED[key] = main.add_cte(*written)
    parameters = dict(main_parameters)
    for n, write in enumerate(writes):
        parameters.update({f"w{n}_{name}": value for name, value in write.parameters.items()})
    return statement, parameters


_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as SQLAlchemy would send it to SQLite: its SQL, its parameters' names
    in order with their processors, its result columns' names with theirs."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[_Processor, ...]
    keys: tuple[str, ...]
    results: tuple[_Processor, ...]
    needs: frozenset[str]  # the parameters it takes


class Sent(NamedTuple):
    rows: list[dict[str, Any]]
    rowcount: int


_COMPILED: dict[tuple[Executable, Dialect], _Compiled | None] = {}


def execute(connection: Connection, statement: Executable, parameters: dict[str, Any]) -> Sent:
    """A Core statement of a unit of work's own SQL (inside `run_sync`/`commit_with`):
    straight to sqlite3 where `send` can, else executed by SQLAlchemy."""
    sent = send(connection, statement, parameters)
    if sent is not None:
        return sent
    result = connection.execute(statement, parameters)
    rows = [dict(row._mapping) for row in result] if result.returns_rows else []
    return Sent(rows, result.rowcount)


def send(connection: Connection, statement: Executable, parameters: dict[str, Any]) -> Sent | None:
    """`statement` straight to sqlite3 when `connection` runs in the event loop's thread
    (inside `run_sync`/`commit_with` on SQLite); None elsewhere (PostgreSQL, SQLite's thread,
    a statement with Python-side defaults): the caller executes it as usual."""
    adapted = connection.connection.dbapi_connection
    if not isinstance(adapted, OneCallConnection) or not adapted.here:
        return None
    key = (statement, connection.dialect)
    if key not in _COMPILED:
        _COMPILED[key] = _compiled(statement, connection.dialect)
    compiled = _COMPILED[key]
    if compiled is None or not compiled.needs <= parameters.keys():
        return None  # SQLAlchemy compiles with the columns given (an INSERT of a table)
    values = tuple(
        parameters[name] if bind is None else bind(parameters[name])
        for name, bind in zip(compiled.names, compiled.binds, strict=True)
    )
    connection.dispatch.before_cursor_execute(connection, None, compiled.sql, values, None, False)
    try:
        _description, rowcount, _lastrowid, rows = adapted.execute_here(compiled.sql, values)
    except sqlite3.Error as error:  # as SQLAlchemy raises it (sqlalchemy.exc.IntegrityError...)
        raise exc.DBAPIError.instance(
            compiled.sql, values, error, sqlite3.Error, dialect=connection.dialect
        ) from error
    keys, results = compiled.keys, compiled.results
    return Sent(
        [
            {
                key: value if result is None else result(value)
                for key, result, value in zip(keys, results, row, strict=True)
            }
            for row in rows
        ],
        rowcount,
    )


def _compiled(statement: Executable, dialect: Dialect) -> _Compiled | None:
    if not isinstance(statement, ClauseElement):
        return None
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
        return None
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None  # Python-side defaults: SQLAlchemy's execution computes them
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None  # parameters rendered at execution (an IN list): its work too
    names = tuple(compiled.positiontup)
    binds = [compiled._bind_processors.get(name) for name in names]
    if not all(bind is None or callable(bind) for bind in binds):
        return None  # a tuple type's processors: not one of ours
    columns = compiled._result_columns
    return _Compiled(
        compiled.string,
        names,
        tuple(cast(_Processor, bind) for bind in binds),
        tuple(column.keyname for column in columns),
        tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ),
        frozenset(names),
    )
