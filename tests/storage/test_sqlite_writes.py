"""SQLite writers take turns in arrival order instead of racing for the lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.database import write_queue
from storage.sqlite_writes import SQLiteWriteQueue


async def _table(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE log (n INTEGER)"))


async def test_writers_commit_in_the_order_they_asked(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}")
    queue = SQLiteWriteQueue(timeout=10)
    queue.attach(engine.sync_engine)
    await _table(engine)
    order: list[int] = []
    holding, release = asyncio.Event(), asyncio.Event()

    async def writer(n: int) -> None:
        async with engine.connect() as connection:
            await connection.execute(text("INSERT INTO log VALUES (:n)"), {"n": n})
            if n == 0:  # keeps the turn across awaits until it commits
                holding.set()
                await release.wait()
            await connection.commit()
            order.append(n)

    tasks = [asyncio.create_task(writer(0))]
    await holding.wait()
    for n in range(1, 8):
        tasks.append(asyncio.create_task(writer(n)))
        # Each writer is queued before the next one asks; the queue has no event for it.
        while queue.waiting < n:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    release.set()
    await asyncio.gather(*tasks)
    assert order == list(range(8))
    async with engine.connect() as connection:
        assert (await connection.scalar(text("SELECT count(*) FROM log"))) == 8
    await engine.dispose()


async def test_a_writer_that_never_gets_a_turn_fails_cleanly_and_frees_nothing_it_lacks(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'wait.db'}")
    SQLiteWriteQueue(timeout=0.2).attach(engine.sync_engine)
    await _table(engine)
    async with engine.connect() as holder:
        await holder.execute(text("INSERT INTO log VALUES (1)"))
        async with engine.connect() as late:
            with pytest.raises(OperationalError, match="no turn to write"):
                await late.execute(text("INSERT INTO log VALUES (2)"))
            await late.rollback()
        await holder.commit()
    # The turn came back with the holder's commit: the next writer goes straight through.
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO log VALUES (3)"))
    async with engine.connect() as connection:
        rows = (await connection.scalars(text("SELECT n FROM log ORDER BY n"))).all()
    assert rows == [1, 3]
    await engine.dispose()


async def test_a_connection_returned_mid_write_gives_its_turn_back(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'back.db'}")
    SQLiteWriteQueue(timeout=0.5).attach(engine.sync_engine)
    await _table(engine)
    connection = await engine.connect()
    await connection.execute(text("INSERT INTO log VALUES (1)"))
    await connection.close()  # no commit: the pool rolls it back
    async with engine.begin() as other:
        await other.execute(text("INSERT INTO log VALUES (2)"))
    async with engine.connect() as check:
        assert (await check.scalars(text("SELECT n FROM log"))).all() == [2]
    await engine.dispose()


async def test_writers_on_sqlites_thread_take_turns_and_pass_them_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Units of work whose writes and COMMIT run on SQLite's own thread (storage.batch)
    wait for their turn in the event loop; each commit passes the turn on, also with
    more writers than the pool has connections. One declines to commit: its write is
    not kept and the turn still comes back."""
    from sqlalchemy.orm import Session

    from storage.batch import commit_with
    from storage.database import create_engine, create_session_factory

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'batch.db'}")
    await _table(engine)
    sessions = create_session_factory(engine)

    def write(session: Session, n: int) -> bool:
        session.execute(text("INSERT INTO log VALUES (:n)"), {"n": n})
        return n != 13

    async def writer(n: int) -> bool:
        async with sessions() as session:
            return await commit_with(session, write, n)

    done = await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(40))), 120)
    assert done == [n != 13 for n in range(40)]
    queue = write_queue(engine)
    assert queue is not None
    assert queue.waiting == 0
    async with engine.connect() as connection:
        kept = (await connection.scalars(text("SELECT n FROM log ORDER BY n"))).all()
    assert kept == [n for n in range(40) if n != 13]
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    await engine.dispose()
