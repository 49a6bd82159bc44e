"""A unit of work's SQL without a hand-off per statement or SQLAlchemy's session machinery.

On SQLite each statement of an async session is a hand-off to aiosqlite's thread, a
greenlet switch and a wake-up of the event loop: more CPU than SQLite's own work and
SQLAlchemy's. `run_sync` runs ordinary (sync) SQLAlchemy code whose statements execute
right in the event loop's thread (storage.sqlite_driver, `run_here`): for a unit of
work's short statements only, a row by its key or a few writes. On PostgreSQL it is the
session's `run_sync` (each statement is a round trip as before).

A unit whose session holds no connection and has nothing to flush (a press: its commit,
after a read when its row was not kept) goes further: `fetch` and `commit_with` (SQLite)
or `commit_alone` (PostgreSQL) take a pooled connection of its own, checked out in the
event loop, with no session transaction and no greenlet around it (`_own_connection`):
that machinery cost a press more than SQLite's work, and on PostgreSQL asyncpg's adapter
several times asyncpg's own. On SQLite the statements run in the event loop's thread; on
PostgreSQL each is a transaction of its own sent by asyncpg itself (storage.direct,
`send_alone`).
What would have to wait there (the pool opening a connection, the connection's thread
busy, another process's lock) goes the usual way instead, with nothing of it kept.

`defer` queues a Core write for the unit of work's commit, which then sends the queued
writes, the update's id and COMMIT the same way (storage.uow, `commit_with`). A deferred
write is not visible to the unit's own queries before that commit: repositories defer
only the last writes of a use case (the survey row and its answer, storage.surveys).

On PostgreSQL, where each statement is a round trip, the queued writes and the update's
id go as one statement (`merged`): each write as a data-modifying CTE of the id's
insert. One statement is one snapshot, so the writes must touch different rows (each
names its row); a re-delivered update's insert conflicts as before, and the rollback
that follows undoes its writes with the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.expression import CTE
from sqlalchemy.util import await_, greenlet_spawn

from storage.database import write_queue
from storage.direct import alone, execute, lone, send_alone
from storage.sqlite_driver import OneCallConnection, WouldWait
from storage.sqlite_writes import SQLiteWriteQueue

_P = ParamSpec("_P")
_T = TypeVar("_T")
_DEFERRED = "followup.deferred_writes"
_AFTER_COMMIT = "followup.after_commit"
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
    # A write that must change one row, else nothing of the unit is written (StaleRow,
    # storage.survey_rows): an UPDATE that checks the row is as the unit saw it.
    guard: bool = False


class StaleRow(Exception):
    """A guard write found its row no longer as the unit saw it (a survey row this process
    had committed, changed since by another process, a typed answer or a staff member):
    nothing of the unit was written; the caller rolls back, reads and decides again."""


def defer(
    session: AsyncSession,
    statement: Executable,
    parameters: dict[str, Any],
    renamed: Renamed | None = None,
    row: Hashable = None,
    *,
    guard: bool = False,
) -> None:
    """Send this Core write with the unit of work's commit. With `renamed` (a module-level
    builder, so it can key a cache) and the `row` it writes, PostgreSQL sends it within
    the commit's one statement. A `guard` goes first; its renamed form returns its row's
    key (storage.updates, `claim_with`)."""
    write = Write(statement, parameters, renamed, row, guard)
    deferred = session.info.setdefault(_DEFERRED, [])
    if guard:
        deferred.insert(0, write)
    else:
        deferred.append(write)


def take_deferred(session: AsyncSession) -> list[Write]:
    writes: list[Write] = session.info.pop(_DEFERRED, [])
    return writes


def after_commit(session: AsyncSession, call: Callable[[], None]) -> None:
    """Call this once the unit of work's next commit has succeeded (storage.uow);
    forgotten if it rolls back instead."""
    session.info.setdefault(_AFTER_COMMIT, []).append(call)


def take_after_commit(session: AsyncSession) -> list[Callable[[], None]]:
    calls: list[Callable[[], None]] = session.info.pop(_AFTER_COMMIT, [])
    return calls


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


async def fetch(
    session: AsyncSession, statement: Executable, parameters: dict[str, Any]
) -> list[dict[str, Any]]:
    """The rows of a unit's read (a Core statement): when the unit holds no connection yet,
    on a pooled connection of its own with no session machinery and no greenlet
    (`_own_connection`): on SQLite in the event loop's thread, on PostgreSQL as a
    transaction of its own sent by asyncpg itself (`send_alone`). Else as `run_sync`."""
    own = await _own_connection(session)
    if own is not None:
        try:
            adapted = own.connection.dbapi_connection
            if isinstance(adapted, OneCallConnection):
                return adapted.run_now(lambda: execute(own, statement, parameters).rows)
            sent = await send_alone(own, statement, parameters)
            if sent is not None:
                return sent.rows
        except WouldWait:
            pass  # the usual way, below
        finally:
            own.close()
    return await _run(session, lambda connection: execute(connection, statement, parameters).rows)


async def commit_alone(
    session: AsyncSession, statement: Executable, parameters: dict[str, Any]
) -> bool:
    """PostgreSQL: a unit's writes as one statement that is its own transaction, on a
    pooled connection of its own (`_own_connection`, `send_alone`): True once it is
    committed. False, with nothing written, when the unit holds a connection or has
    changes to flush, on SQLite, and when the statement breaks a constraint (a
    re-delivered update's id recorded already): the caller then goes the usual way."""
    own = await _own_connection(session)
    if own is None:
        return False
    try:
        if isinstance(own.connection.dbapi_connection, OneCallConnection):
            return False
        return await send_alone(own, statement, parameters) is not None
    except exc.IntegrityError:
        return False  # the statement failed whole: nothing of it was written
    finally:
        own.close()


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
    queue = write_queue(session.bind) if isinstance(session.bind, AsyncEngine) else None
    # SQLite (PostgreSQL's connection of its own sends one statement: `commit_alone`).
    own = await _own_connection(session) if queue is not None else None
    if queue is not None and own is not None:
        try:
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


async def _own_connection(session: AsyncSession) -> Connection | None:
    """For a unit whose session holds no connection and has nothing to flush: a
    connection of the engine's pool for the unit alone, with no session around it and
    no greenlet around its statements (SQLAlchemy's session, its transaction and the
    greenlet of `run_sync` cost a press more than SQLite's work, and on PostgreSQL
    asyncpg's adapter several times asyncpg's own). On SQLite with
    storage.sqlite_driver, checked out right here; when the pool would first have to
    open a connection (aiosqlite's connect is awaited, which SQLAlchemy does in its
    greenlet) None instead. On PostgreSQL, where a statement may be a transaction of its
    own (`alone`), checked out in SQLAlchemy's greenlet, which opens a connection when
    the pool must. None otherwise."""
    sync = session.sync_session
    engine = session.bind
    if (
        not isinstance(engine, AsyncEngine)
        or sync.in_transaction()
        or sync.new
        or sync.dirty
        or sync.deleted
    ):
        return None
    sqlite = write_queue(engine) is not None
    if sqlite:
        try:
            connection = engine.sync_engine.connect()
        except MissingGreenlet:
            return None
    elif engine.dialect.driver == "asyncpg":
        connection = await greenlet_spawn(engine.sync_engine.connect)
    else:
        return None
    adapted = connection.connection.dbapi_connection
    # SQLite through storage.sqlite_driver; PostgreSQL where a statement is its own transaction.
    usable = isinstance(adapted, OneCallConnection) if sqlite else lone(connection) is not None
    if usable:
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


_MERGED: dict[tuple[Any, tuple[Renamed, ...]], UpdateBase] = {}


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
    main: UpdateBase,
    main_parameters: dict[str, Any],
    writes: Sequence[Write],
    gated: Callable[[CTE], UpdateBase] | None = None,
) -> tuple[UpdateBase, dict[str, Any]]:
    """One PostgreSQL statement: `main` (built once, like the writes' builders) with each
    write as a data-modifying CTE. Built once per combination of writes, so SQLAlchemy's
    compiled cache serves it after. When the first write is a guard, `gated(its CTE)`
    (a module-level builder) is the main statement instead: it must fail when the guard
    changed no row, so that the statement writes nothing (storage.updates)."""
    builders = tuple(write.renamed for write in writes if write.renamed is not None)
    assert len(builders) == len(writes), "every merged write needs its renamed form"
    guarded = writes[0].guard
    assert not guarded or gated is not None, "a guard needs a main statement it gates"
    key = (gated if guarded else main, builders)
    statement = _MERGED.get(key)
    if statement is None:
        written = [build(f"w{n}_").cte(f"write_{n}") for n, build in enumerate(builders)]
        base = gated(written[0]) if gated is not None and guarded else main
        statement = _MERGED[key] = base.add_cte(*written)
    parameters = dict(main_parameters)
    for n, write in enumerate(writes):
        parameters.update({f"w{n}_{name}": value for name, value in write.parameters.items()})
    return statement, parameters
