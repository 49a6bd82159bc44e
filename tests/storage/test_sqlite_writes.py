"""SQLite writers take turns in arrival order instead of racing for the lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
