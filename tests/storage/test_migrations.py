"""Migrations: every revision goes up and down, and the result matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.database import create_engine
from storage.migrate import alembic_config, downgrade, upgrade
from storage.models import Base


async def test_stairway_up_and_down_every_revision(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'stairs.db'}")
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(reversed(list(script.walk_revisions())))
    try:
        for revision in revisions:
            await upgrade(engine, revision.revision)
            await downgrade(engine, revision.down_revision or "base")
            await upgrade(engine, revision.revision)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'match.db'}")

    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_answer_codes_are_filled_in_for_existing_surveys(tmp_path: Path) -> None:
    from sqlalchemy import text

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'codes.db'}")
    try:
        await upgrade(engine, "0005")
        async with engine.begin() as connection:
            now = "2026-10-01 00:00:00.000000"
            await connection.execute(
                text(
                    "INSERT INTO customers (id, name, phone, created_at, updated_at)"
                    " VALUES (1, 'x', '+79000000000', :now, :now)"
                ),
                {"now": now},
            )
            await connection.execute(
                text(
                    "INSERT INTO visits (id, order_no, visit_date, car, advisor, customer_id,"
                    " created_at, updated_at)"
                    " VALUES (1, 'Z', '2026-10-01', 'c', 'a', 1, :now, :now)"
                ),
                {"now": now},
            )
            await connection.execute(
                text(
                    "INSERT INTO surveys (id, visit_id, token, status, step, created_at,"
                    " updated_at) VALUES (1, 1, 't', 'in_progress', 4, :now, :now)"
                ),
                {"now": now},
            )
            for question, value in ((1, "no"), (2, "unsure"), (11, "4")):
                await connection.execute(
                    text(
                        "INSERT INTO answers (survey_id, question, value, score, is_problem,"
                        " answered_at) VALUES (1, :q, :v, NULL, false, :now)"
                    ),
                    {"q": question, "v": value, "now": now},
                )
        await upgrade(engine)
        async with engine.connect() as connection:
            codes = await connection.scalar(text("SELECT answer_codes FROM surveys WHERE id = 1"))
        assert codes == "nu--------4-"
    finally:
        await engine.dispose()
