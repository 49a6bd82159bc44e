"""The unit of work: all repositories on one session, and the program's only commit.

Repositories add and flush; a use case (storage/workflows) commits once, and only then
does its caller talk to Telegram. `Database` opens units of work for everyone else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import batch, direct
from storage.batch import StaleRow
from storage.cases import CaseRepository
from storage.digests import DigestRepository
from storage.outreach import OutreachRepository
from storage.reports import ReportRepository
from storage.staff import StaffRepository
from storage.survey_rows import SurveyRows
from storage.surveys import SurveyRepository
from storage.updates import UpdateLog, UpdateSeenBefore
from storage.users import Languages, TelegramUserRepository
from storage.visits import VisitRepository

log = logging.getLogger(__name__)


class UnitOfWork:
    """One update's (or one job step's) repositories; `commit` ends the use case."""

    def __init__(
        self,
        session: AsyncSession,
        languages: Languages | None = None,
        survey_rows: SurveyRows | None = None,
    ) -> None:
        self._session = session
        self._update_to_record: tuple[int, int, datetime] | None = None
        self.surveys = SurveyRepository(session, survey_rows)
        self.cases = CaseRepository(session)
        self.staff = StaffRepository(session)
        self.outreach = OutreachRepository(session)
        self.updates = UpdateLog(session)
        self.users = TelegramUserRepository(session, languages)
        self.visits = VisitRepository(session)
        self.reports = ReportRepository(session)
        self.digests = DigestRepository(session)

    def record_update_on_commit(self, bot_id: int, update_id: int, now: datetime) -> None:
        """The update's id goes into the same transaction as the first thing it changes, so
        a re-delivered update finds either nothing applied or the id already there."""
        self._update_to_record = (bot_id, update_id, now)

    async def commit(self) -> None:
        """Commit the use case; with the update's id the first time (UpdateSeenBefore, and
        nothing written, when that id is recorded already: a re-delivery). The pending
        changes, the deferred writes (storage.batch), the id and COMMIT go together, on
        SQLite in the event loop's thread (storage.batch). StaleRow: nothing written, the
        update's id still to record (the caller rolls back and decides again)."""
        record = self._update_to_record
        try:
            await self._commit()
        except BaseException as error:
            batch.take_after_commit(self._session)  # for a commit that did not happen
            if isinstance(error, StaleRow):
                self._update_to_record = record
            raise
        for call in batch.take_after_commit(self._session):
            call()

    async def _commit(self) -> None:
        writes = batch.take_deferred(self._session)
        record, self._update_to_record = self._update_to_record, None
        if record is None and not writes:
            session = self._session
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                await session.commit()
            return  # else nothing is open or pending: no commit to run
        # PostgreSQL: the writes and the id in one statement (a round trip each saved).
        merge = record is not None and UpdateLog.mergeable(self._session, writes)
        # On a connection of its own, past the session, when the unit holds none.
        if merge and record and await UpdateLog.claimed_alone(self._session, writes, *record):
            return
        if await batch.commit_with(self._session, _write, writes, record, merge):
            return
        # The id was recorded before; the transaction is still open.
        assert record is not None
        bot_id, update_id, now = record
        if not await self.updates.ids_restarted(bot_id, update_id):
            await self._session.rollback()
            raise UpdateSeenBefore(update_id)
        log.warning(
            "update ids started again (update %s, far below the newest handled one): "
            "the old ids are forgotten and updates are handled as new",
            update_id,
        )
        await self.updates.forget_from(bot_id, update_id)
        await self.updates.claim(bot_id, update_id, now)
        await self._session.commit()

    async def end_update(self) -> None:
        """The update's boundary, after its handler: records the update's id when its use
        case committed nothing (a reply without a change), so a re-delivery is skipped."""
        await self.commit()

    def release(self) -> None:
        """Forget the objects loaded so far (after a commit): a long use case that works in
        batches keeps its memory flat."""
        self._session.expunge_all()

    async def flush(self) -> None:
        await self._session.flush()

    async def rollback(self) -> None:
        batch.take_deferred(self._session)  # deferred writes go with the rest
        batch.take_after_commit(self._session)
        await self._session.rollback()


def _write(
    connection: Connection,
    writes: list[batch.Write],
    record: tuple[int, int, datetime] | None,
    merge: bool,
) -> bool:
    """The unit's last writes as Core statements (storage.batch.commit_with, after the
    session's pending changes): False when the update's id is recorded already (then
    nothing is committed). `merge`: the writes and the id as one statement (PostgreSQL,
    `UpdateLog.claim_with`)."""
    if merge:
        assert record is not None
        return UpdateLog.claim_with(connection, writes, *record)
    for write in writes:
        written = direct.execute(connection, write.statement, write.parameters)
        if write.guard and written.rowcount != 1:
            raise StaleRow  # rolled back by the caller, nothing of it kept
    return record is None or UpdateLog.claim_in(connection, *record)


class Database:
    """Opens units of work: one per update (a middleware), per job step, per CLI command."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._languages = Languages()
        self._survey_rows = SurveyRows()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        session = self._sessions()
        try:
            yield UnitOfWork(session, self._languages, self._survey_rows)
        finally:
            await _close(session)


async def _close(session: AsyncSession) -> None:
    """The unit's session closed. One that holds a connection is closed as `async with`
    closes it: in a task of its own, shielded from cancellation, so the connection goes
    back to the pool whatever happens. Most units end committed, holding none: theirs is
    let go right here, not in a task and a turn of the event loop on every update."""
    if session.in_transaction():
        await asyncio.shield(session.close())
    else:
        session.sync_session.close()  # no connection: nothing to wait for
