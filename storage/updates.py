"""Remembering handled update ids, so a re-delivered update is applied once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, exc, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import CTE

from storage import batch, direct
from storage.dialects import dialect_of, prepared
from storage.models import ProcessedUpdate

# Telegram re-delivers only recent updates (a polling batch is at most 100, a webhook at
# most 100 connections): a handled id further below the newest one means ids restarted.
RESTART_GAP = 1000


_claim = prepared(lambda insert: insert(ProcessedUpdate.__table__).on_conflict_do_nothing())
# Alone (storage.batch): a recorded id fails the whole statement, its writes with it.
_claim_or_fail = prepared(lambda insert: insert(ProcessedUpdate.__table__))
_UPDATES = cast(Table, ProcessedUpdate.__table__)


def _gated_claim(guard: CTE) -> postgresql.Insert:
    """PostgreSQL's claim whose update id comes through the guard's CTE (storage.batch,
    `merged`): when the guard changed no row the id is NULL, which fails the whole
    statement, its writes with it (a NOT NULL column, not a conflict: even the insert
    that ignores conflicts fails)."""
    columns = _UPDATES.c
    update_id = select(bindparam("update_id", type_=columns.update_id.type)).select_from(guard)
    return postgresql.insert(_UPDATES).values(
        bot_id=bindparam("bot_id", type_=columns.bot_id.type),
        update_id=update_id.scalar_subquery(),
        processed_at=bindparam("processed_at", type_=columns.processed_at.type),
    )


def _gated_claim_or_skip(guard: CTE) -> postgresql.Insert:
    """`_gated_claim` that ignores a recorded id (inside the unit's transaction)."""
    return _gated_claim(guard).on_conflict_do_nothing()


class UpdateSeenBefore(Exception):
    """The update's id was already recorded: it was applied before and is skipped."""


class UpdateLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, bot_id: int, update_id: int) -> bool:
        return await self._session.get(ProcessedUpdate, (bot_id, update_id)) is not None

    async def newest(self, bot_id: int) -> int | None:
        return await self._session.scalar(
            select(func.max(ProcessedUpdate.update_id)).where(ProcessedUpdate.bot_id == bot_id)
        )

    async def ids_restarted(self, bot_id: int, update_id: int) -> bool:
        """A handled id far below the newest one is no re-delivery (Telegram re-delivers
        only its latest updates): the ids started again (another Bot API server, or
        Telegram's new random start after a quiet week)."""
        latest = await self.newest(bot_id)
        return latest is not None and latest - update_id > RESTART_GAP

    async def forget_from(self, bot_id: int, update_id: int) -> None:
        """The old sequence's ids from here up: the new sequence will climb through them."""
        await self._session.execute(
            delete(ProcessedUpdate).where(
                ProcessedUpdate.bot_id == bot_id, ProcessedUpdate.update_id >= update_id
            )
        )

    async def claim(self, bot_id: int, update_id: int, now: datetime) -> bool:
        """Record the id in the update's own transaction; False when it is there already
        (one statement: the insert that conflicts is the check)."""
        return await self._session.run_sync(_claim_in_session, bot_id, update_id, now)

    @staticmethod
    def claim_with(
        connection: Connection,
        writes: Sequence[batch.Write],
        bot_id: int,
        update_id: int,
        now: datetime,
    ) -> bool:
        """`claim_in` with the deferred writes in the same statement (PostgreSQL,
        storage.batch): False when the id is recorded already; the caller's rollback then
        undoes the writes with the rest.

        When it is the unit's only statement it is sent as a transaction of its own
        (`direct.alone`); there an id recorded already fails it whole, and it is sent
        again the usual way, in a transaction left open for the caller, as above (a
        re-delivery: rare)."""
        claim = {"bot_id": bot_id, "update_id": update_id, "processed_at": now}
        with direct.alone(connection) as alone:
            if alone:
                statement, parameters = batch.merged(
                    _claim_or_fail(connection), claim, writes, _gated_claim
                )
                try:
                    connection.execute(statement, parameters)
                    return True
                except exc.IntegrityError:  # nothing written; the same error again below
                    pass
        statement, parameters = batch.merged(
            _claim(connection), claim, writes, _gated_claim_or_skip
        )
        try:
            result = connection.execute(statement, parameters)
        except exc.IntegrityError as error:
            if writes[0].guard:  # no id: the guard's row is no longer as seen
                raise batch.StaleRow from error
            raise
        return bool(result.rowcount == 1)

    @staticmethod
    async def claimed_alone(
        session: AsyncSession,
        writes: Sequence[batch.Write],
        bot_id: int,
        update_id: int,
        now: datetime,
    ) -> bool:
        """`claim_with`'s one statement as a transaction of its own on a connection of the
        unit's own, past SQLAlchemy's session (PostgreSQL, `batch.commit_alone`): True once
        it is committed; False, with nothing written, when that cannot be or the id is
        recorded already (the caller then goes the usual way, `claim_with`)."""
        claim = {"bot_id": bot_id, "update_id": update_id, "processed_at": now}
        statement, parameters = batch.merged(_claim_or_fail(session), claim, writes, _gated_claim)
        return await batch.commit_alone(session, statement, parameters)

    @staticmethod
    def mergeable(session: Session | AsyncSession, writes: Sequence[batch.Write]) -> bool:
        """Whether `claim_with` can send these writes (PostgreSQL; storage.batch)."""
        return batch.mergeable(writes) and dialect_of(session) == "postgresql"

    @staticmethod
    def claim_in(connection: Connection, bot_id: int, update_id: int, now: datetime) -> bool:
        """`claim` as a Core statement on the unit's connection (storage.batch)."""
        parameters = {"bot_id": bot_id, "update_id": update_id, "processed_at": now}
        return direct.execute(connection, _claim(connection), parameters).rowcount == 1

    async def prune(self, before: datetime) -> int:
        result = await self._session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _claim_in_session(session: Session, bot_id: int, update_id: int, now: datetime) -> bool:
    return UpdateLog.claim_in(session.connection(), bot_id, update_id, now)
