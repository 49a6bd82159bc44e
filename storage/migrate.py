"""Applying the Alembic migrations that live in storage/migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in storage/migrations (a test holds it to Alembic's own head): a
# database already there is opened without importing Alembic, which would stay in the
# bot's memory for nothing (about 8 MB).
HEAD = "0012"


async def is_current(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:  # a new database: no alembic_version table yet
        return False
    return bool(version == HEAD)


def alembic_config(url: str = "") -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    if revision == "head" and await is_current(engine):
        return
    from alembic import command

    await _on_connection(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command

    await _on_connection(engine, lambda config: command.downgrade(config, revision))


async def _on_connection(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)

    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite's own procedure for rebuilding a table (Alembic's batch mode): foreign
            # keys off while the old table is dropped, or dropping it would delete its
            # children (ON DELETE CASCADE); checked before the commit.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await connection.run_sync(run)
            if sqlite:
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    await connection.rollback()
                    raise RuntimeError(f"a migration broke foreign keys: {broken[:5]}")
            await connection.commit()
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
