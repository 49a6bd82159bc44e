"""Core statements sent straight to the driver: SQLAlchemy's SQL and its parameters' and
columns' processors, compiled once, without SQLAlchemy's execution of them (cache key,
execution context, result object), several times the database's own work on a press's
small statements.

Inside a unit of work's `run_here` on SQLite (storage.batch), `execute` gives a Core
statement to sqlite3 itself (`send`); elsewhere (SQLite's thread, PostgreSQL in a
session) `execute` is SQLAlchemy's. On PostgreSQL, on a connection of a unit's own that
holds no transaction, `send_alone` gives it to asyncpg itself. Listeners of
`before_cursor_execute` see each statement either way, and errors come as SQLAlchemy's.

On PostgreSQL a unit's first read and a press's one merged statement need no BEGIN and
COMMIT of their own (`alone`): asyncpg's adapter begins a transaction at the first
statement, and at the server's default isolation (read committed) each statement sees
the database as of its own start anyway, so a read sent before anything else, or the
unit's only write statement, may be its own transaction: a press is two round trips, not
four.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from storage.sqlite_driver import OneCallConnection


@contextmanager
def alone(connection: Connection) -> Iterator[bool]:
    """Statements sent in here run as transactions of their own, with no BEGIN and COMMIT
    (two round trips fewer), when nothing has been sent yet in the unit's transaction on
    PostgreSQL at the server's default isolation (read committed: each statement sees the
    database as of its own start, in a transaction or not). Yields whether they do; the
    caller sends either reads, or one statement whose writes belong together."""
    adapted = lone(connection)
    if adapted is None:
        yield False
        return
    adapted.autocommit = True
    try:
        yield True
    finally:
        adapted.autocommit = False


def lone(connection: Connection) -> AsyncAdapt_asyncpg_connection | None:
    """asyncpg's adapted connection when a statement sent now may run as a transaction of
    its own (`alone`), else None."""
    adapted = connection.connection.dbapi_connection
    if (
        isinstance(adapted, AsyncAdapt_asyncpg_connection)
        and adapted._transaction is None  # the adapter sends BEGIN with the first statement
        and adapted.isolation_level is None  # the server's default, which SQLAlchemy read
        and connection.dialect.default_isolation_level == "READ COMMITTED"
    ):
        return adapted
    return None


_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as SQLAlchemy would send it to the driver: its SQL, its parameters' names
    in order with their processors, its result columns' names with theirs."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[_Processor, ...]
    keys: tuple[str, ...]
    results: tuple[_Processor, ...]
    needs: frozenset[str]  # the parameters it takes
    given: dict[str, Any]  # the values bound in the statement itself (`literal`)

    def values(self, parameters: dict[str, Any]) -> list[Any] | None:
        """The parameters in order, processed; None when one is missing (SQLAlchemy
        compiles some statements with the columns given: an INSERT of a whole table)."""
        if not self.needs <= parameters.keys():
            return None
        given = self.given
        return [
            value if bind is None else bind(value)
            for value, bind in (
                (parameters[name] if name in parameters else given[name], bind)
                for name, bind in zip(self.names, self.binds, strict=True)
            )
        ]

    def rows(self, fetched: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        """The driver's rows as SQLAlchemy would give them: by name, processed."""
        keys, results = self.keys, self.results
        return [
            {
                key: value if result is None else result(value)
                for key, result, value in zip(keys, results, row, strict=True)
            }
            for row in fetched
        ]


class Sent(NamedTuple):
    rows: list[dict[str, Any]]
    rowcount: int


# Keyed by the statement object itself: for statements built once (at module level,
# `dialects.prepared`, `batch.merged`), as every statement sent here is; one built anew
# on each call would be compiled, and kept, each time.
_COMPILED: dict[tuple[Executable, Dialect], _Compiled | None] = {}


def execute(connection: Connection, statement: Executable, parameters: dict[str, Any]) -> Sent:
    """A Core statement of a unit of work's own SQL (inside `run_sync`, `fetch`, `commit_with`):
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
    listed = compiled.values(parameters) if compiled is not None else None
    if compiled is None or listed is None:
        return None
    values = tuple(listed)
    connection.dispatch.before_cursor_execute(connection, None, compiled.sql, values, None, False)
    try:
        _description, rowcount, _lastrowid, rows = adapted.execute_here(compiled.sql, values)
    except sqlite3.Error as error:  # as SQLAlchemy raises it (sqlalchemy.exc.IntegrityError...)
        raise exc.DBAPIError.instance(
            compiled.sql,
            values,
            error,
            sqlite3.Error,
            hide_parameters=connection.engine.hide_parameters,
            dialect=connection.dialect,
        ) from error
    return Sent(compiled.rows(rows), rowcount)


_COMPILED_ALONE: dict[tuple[Executable, Dialect], _Compiled | None] = {}  # as `_COMPILED`


async def send_alone(
    connection: Connection, statement: Executable, parameters: dict[str, Any]
) -> Sent | None:
    """`statement` sent by asyncpg itself on a connection that holds no transaction, as a
    transaction of its own (`alone`): SQLAlchemy's SQL and its parameters' and columns'
    processors, compiled once, without its execution, its adapter's cursor and a
    greenlet around each round trip. None for a statement it cannot send (Python-side
    defaults, an IN list): the caller executes it as usual. Errors come as SQLAlchemy's,
    and a connection that is gone is invalidated."""
    adapted = lone(connection)
    assert adapted is not None  # `_own_connection` checked it
    driver: Any = adapted._connection  # asyncpg's connection (asyncpg has no type hints)
    key = (statement, connection.dialect)
    sql, values = None, list(parameters.values())  # for an error's message
    try:
        if key not in _COMPILED_ALONE:
            compiled = await _compiled_for_asyncpg(driver, statement, connection.dialect)
            _COMPILED_ALONE[key] = compiled
        compiled = _COMPILED_ALONE[key]
        listed = compiled.values(parameters) if compiled is not None else None
        if compiled is None or listed is None:
            return None
        sql, values = compiled.sql, listed
        connection.dispatch.before_cursor_execute(connection, None, sql, values, None, False)
        if compiled.keys:
            records = await driver.fetch(sql, *values)
            rowcount = len(records)
        else:
            records, status = [], await driver.execute(sql, *values)
            rowcount = int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else -1
    except Exception as error:
        if sql is None:  # it failed before it was compiled: SQLAlchemy's words for it
            sql = str(cast(ClauseElement, statement).compile(dialect=connection.dialect))
        raise _as_sqlalchemy_raises(connection, sql, values, error) from error
    except BaseException:
        # Cancelled mid-statement (the bot stopping): the connection's state is unknown,
        # so it is closed, not given back to the pool.
        connection.invalidate()
        raise
    return Sent(compiled.rows(records), rowcount)


async def _compiled_for_asyncpg(
    driver: Any, statement: Executable, dialect: Dialect
) -> _Compiled | None:
    """`_compiled` with the result columns' PostgreSQL types, read once from the server
    (asyncpg's processors for numbers need them)."""
    compiled = _sendable(statement, dialect)
    if compiled is None:
        return None
    coltypes: list[int] = []
    if compiled._result_columns:
        prepared = await driver.prepare(compiled.string)
        coltypes = [attribute.type.oid for attribute in prepared.get_attributes()]
    return _compiled(statement, dialect, coltypes)


def _as_sqlalchemy_raises(
    connection: Connection, sql: str, values: Sequence[Any], error: Exception
) -> Exception:
    """asyncpg's error as SQLAlchemy raises it (sqlalchemy.exc.IntegrityError...); a
    connection that the error says is gone is invalidated, not given back to the pool."""
    adapted = cast(AsyncAdapt_asyncpg_connection, connection.connection.dbapi_connection)
    try:
        adapted._handle_exception(error)  # raises the adapter's DB-API error
    except Exception as dbapi_error:
        dialect = connection.dialect
        gone = dialect.is_disconnect(cast(Any, dbapi_error), cast(Any, adapted), None)
        if gone:
            connection.invalidate(dbapi_error)
        return exc.DBAPIError.instance(
            sql,
            values,
            dbapi_error,
            dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,
            connection_invalidated=gone,
            dialect=dialect,
        )
    return error  # pragma: no cover - the adapter always raises


def _compiled(
    statement: Executable, dialect: Dialect, coltypes: Sequence[Any] = ()
) -> _Compiled | None:
    """`coltypes`: the result columns' types as the driver names them (PostgreSQL's type
    ids, which asyncpg's processors of numbers need), else none."""
    compiled = _sendable(statement, dialect)
    if compiled is None:
        return None
    names = tuple(compiled.positiontup or ())
    binds = [compiled._bind_processors.get(name) for name in names]
    if not all(bind is None or callable(bind) for bind in binds):
        return None  # a tuple type's processors: not one of ours
    if any(compiled.binds[name].callable is not None for name in names):
        return None  # a value computed at each execution
    columns = compiled._result_columns
    given = {
        name: compiled.binds[name].effective_value
        for name in names
        if not compiled.binds[name].required
    }
    return _Compiled(
        compiled.string,
        names,
        tuple(cast(_Processor, bind) for bind in binds),
        tuple(column.keyname for column in columns),
        tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, coltype)
            for column, coltype in zip(columns, coltypes or [None] * len(columns), strict=True)
        ),
        frozenset(names) - given.keys(),
        given,
    )


def _sendable(statement: Executable, dialect: Dialect) -> SQLCompiler | None:
    """The statement compiled, if sending it needs nothing of SQLAlchemy's execution."""
    if not isinstance(statement, ClauseElement):
        return None
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
        return None
    if compiled.isplaintext:
        return None  # text(): its rows' columns are not known before it runs
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None  # Python-side defaults: SQLAlchemy's execution computes them
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None  # parameters rendered at execution (an IN list): its work too
    return compiled
