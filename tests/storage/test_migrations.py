"""Migrations: every revision goes up and down, and the result matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.database import create_engine
from storage.migrate import HEAD, alembic_config, downgrade, is_current, upgrade
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


async def test_the_head_the_bot_checks_without_alembic_is_alembics_head(tmp_path: Path) -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'head.db'}")
    try:
        assert not await is_current(engine)  # a new file: no version table yet
        await upgrade(engine, "0008")
        assert not await is_current(engine)
        await upgrade(engine)
        assert await is_current(engine)
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
                    " VALUES (1, 'Z', '2026-10-01', 'c', 'a', 1, :now, :now),"
                    " (2, 'Y', '2026-10-02', 'c', 'b', 1, :now, :now)"
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
            await connection.execute(
                text(
                    "INSERT INTO surveys (id, visit_id, token, status, step, created_at,"
                    " invited_at, completed_at, updated_at)"
                    " VALUES (2, 2, 't2', 'completed', 15, :now, :now, :done, :now)"
                ),
                {"now": now, "done": "2026-10-01 01:30:00.000000"},
            )
            await connection.execute(
                text(
                    "INSERT INTO cases (id, survey_id, severity, status, problems, version,"
                    " created_at, updated_at) VALUES (1, 2, 'high', 'open', '[]', 1, :now, :now)"
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
            facts = (
                await connection.execute(
                    text(
                        "SELECT id, visit_date, advisor, completion_seconds, has_case,"
                        " answered_count, problem_count"
                        " FROM surveys ORDER BY id"
                    )
                )
            ).all()
            kept = await connection.scalar(text("SELECT count(*) FROM answers"))
        assert codes == "nu--------4-"
        assert kept == 3, "no revision drops answers (e.g. by copying surveys anew)"
        # Later revisions fill in the report facts and the case flag for existing rows.
        assert [tuple(row) for row in facts] == [
            (1, "2026-10-01", "a", None, 0, 2, 0),
            (2, "2026-10-02", "b", 5400.0, 1, 0, 0),
        ]
    finally:
        await engine.dispose()


async def test_cases_keep_their_history_when_the_table_is_rebuilt(tmp_path: Path) -> None:
    """0011 rebuilds `cases` on SQLite (survey_id becomes optional): its events and
    deliveries (ON DELETE CASCADE) survive, and foreign keys are on again afterwards."""
    from sqlalchemy import text

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}")
    now = "2026-10-01 00:00:00.000000"
    try:
        await upgrade(engine, "0010")
        async with engine.begin() as connection:
            for statement in (
                "INSERT INTO customers (id, name, phone, created_at, updated_at)"
                " VALUES (1, 'x', '+79000000000', :now, :now)",
                "INSERT INTO visits (id, order_no, visit_date, car, advisor, customer_id,"
                " created_at, updated_at) VALUES (1, 'Z', '2026-10-01', 'c', 'a', 1, :now, :now)",
                "INSERT INTO surveys (id, visit_id, token, status, step, created_at, updated_at)"
                " VALUES (1, 1, 't', 'completed', 15, :now, :now)",
                "INSERT INTO cases (id, survey_id, severity, status, problems, version,"
                " created_at, updated_at) VALUES (1, 1, 'high', 'open', '[]', 1, :now, :now)",
                "INSERT INTO case_events (case_id, kind, created_at) VALUES (1, 'created', :now)",
                "INSERT INTO deliveries (case_id, kind, chat_id, rendered_version, status,"
                " attempts, next_attempt_at, created_at)"
                " VALUES (1, 'alert', -100, 0, 'sent', 1, :now, :now)",
            ):
                await connection.execute(text(statement), {"now": now})
        await upgrade(engine)
        async with engine.connect() as connection:
            events = await connection.scalar(text("SELECT count(*) FROM case_events"))
            deliveries = await connection.scalar(text("SELECT count(*) FROM deliveries"))
            kind = await connection.scalar(text("SELECT kind FROM cases WHERE id = 1"))
            enforced = await connection.scalar(text("PRAGMA foreign_keys"))
        assert (events, deliveries, kind) == (1, 1, "survey")
        assert enforced == 1
    finally:
        await engine.dispose()
