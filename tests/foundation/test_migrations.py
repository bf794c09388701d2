"""Migrations: empty -> head through the real command, a second run changes nothing, the migrated schema is
exactly the models (alembic autogenerate finds no difference), and `db status` tells the truth."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from agentdesk.cli import main
from agentdesk.db import migrate
from agentdesk.db.models import Base

from .conftest import url_text

# The same filter as db/env.py (which cannot be imported: it runs the migrations when loaded).
IGNORED_TABLES = {"schema_script"}


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name in IGNORED_TABLES)


def schema_differences(url: URL) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_name": include_name, "compare_type": True, "target_metadata": Base.metadata}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def schema_fingerprint(url: URL) -> list[tuple[object, ...]]:
    """Everything an upgrade could touch: objects with their definitions, grants, and the bookkeeping."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT 'rel', c.relname, c.relkind::text, c.relacl::text, c.oid::text FROM pg_class c"
                " WHERE c.relnamespace = 'public'::regnamespace"
                " UNION ALL SELECT 'proc', p.proname, md5(p.prosrc), p.proacl::text, p.oid::text FROM pg_proc p"
                " WHERE p.pronamespace = 'public'::regnamespace"
                " UNION ALL SELECT 'trigger', t.tgname, t.tgenabled::text, t.tgrelid::regclass::text, t.oid::text"
                " FROM pg_trigger t WHERE NOT t.tgisinternal"
                " UNION ALL SELECT 'script', name, checksum, applied_at::text, '' FROM schema_script"
                " UNION ALL SELECT 'alembic', version_num, '', '', '' FROM alembic_version"
                " ORDER BY 1, 2, 5"
            )).all()
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


@pytest.fixture
def empty_database(pg_server) -> Iterator[URL]:
    """A database that does not exist yet: `db upgrade` must create it."""
    name = f"empty_{pg_server.run_id}_{os.getpid()}_{next(pg_server._counter)}"
    yield pg_server.database_url(name)
    engine = create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def test_upgrade_from_nothing_to_head_then_nothing_to_do(empty_database: URL, capsys: pytest.CaptureFixture[str]) -> None:
    url = url_text(empty_database)
    assert main(["--database-url", url, "db", "status"]) == 2  # the database does not even exist yet
    assert f"There is no database '{empty_database.database}'" in capsys.readouterr().err

    assert main(["--database-url", url, "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"created database {empty_database.database}" in out
    assert "schema upgraded from empty to" in out
    assert "applied 10_security.sql" in out

    before = schema_fingerprint(empty_database)
    assert main(["--database-url", url, "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "up to date" in out
    assert "applied" not in out and "upgraded" not in out
    assert schema_fingerprint(empty_database) == before

    assert main(["--database-url", url, "db", "status"]) == 0
    out = capsys.readouterr().out
    assert f"schema revision: {migrate.head_revision()}" in out
    assert out.strip().endswith("up to date")


def test_status_says_when_an_upgrade_is_due(empty_database: URL, pg_server, capsys: pytest.CaptureFixture[str]) -> None:
    engine = create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{empty_database.database}"'))
    engine.dispose()
    assert main(["--database-url", url_text(empty_database), "db", "status"]) == 1
    out = capsys.readouterr().out
    assert "schema revision: none (empty database)" in out
    assert "upgrade needed" in out


def test_a_changed_script_is_applied_again(database_url: URL, capsys: pytest.CaptureFixture[str]) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE schema_script SET checksum = 'stale' WHERE name = '10_security.sql'"))
    engine.dispose()
    assert main(["--database-url", url_text(database_url), "db", "status"]) == 1
    assert "scripts to apply: 10_security.sql" in capsys.readouterr().out
    assert main(["--database-url", url_text(database_url), "db", "upgrade"]) == 0
    assert "applied 10_security.sql" in capsys.readouterr().out
    assert main(["--database-url", url_text(database_url), "db", "status"]) == 0


def test_migrated_schema_matches_the_models(empty_database: URL) -> None:
    migrate.upgrade(empty_database)
    assert schema_differences(empty_database) == []


def test_the_comparison_would_see_a_difference(database_url: URL) -> None:
    """The check above can fail: a column the models do not know is reported."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE customer ADD COLUMN shoe_size integer"))
    engine.dispose()
    differences = schema_differences(database_url)
    assert any("shoe_size" in repr(d) for d in differences), differences
