"""Bringing a database to the current schema: roles, Alembic migrations, then the repeatable SQL scripts.

Two kinds of change live under the top-level `db/` folder (shipped as `agentdesk.migrations`):
- `versions/`: Alembic migrations for tables, columns and indexes (ordered, run once each);
- `sql/*.sql`: functions, triggers, policies and grants, written to be re-run (CREATE OR REPLACE, DROP ...
  IF EXISTS). A script runs again whenever its text or the schema head changes, so grants always cover
  the tables the migrations made. `schema_script` records what ran.
Everything runs in one transaction, as the owner role, so objects belong to `agentdesk_owner` and a
failure leaves the database as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from agentdesk.domain.errors import AgentDeskError

OWNER_ROLE = "agentdesk_owner"
GROUP_ROLES = ("agentdesk_csr", "agentdesk_manager", "agentdesk_accounting", "agentdesk_admin")
APP_ROLE_GROUPS = {role: f"agentdesk_{role}" for role in ("csr", "manager", "accounting", "admin")}


class MigrationError(AgentDeskError):
    """The schema could not be brought up to date; nothing was changed."""


def migrations_dir() -> Path:
    return Path(str(resources.files("agentdesk.migrations")))


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def sql_scripts() -> list[Path]:
    return sorted((migrations_dir() / "sql").glob("*.sql"))


def _checksum(script: Path, head: str) -> str:
    return hashlib.sha256(head.encode() + b"\0" + script.read_bytes()).hexdigest()


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str
    stale_scripts: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head and not self.stale_scripts


def schema_status(conn: Connection) -> SchemaStatus:
    current = MigrationContext.configure(conn).get_current_revision()
    head = head_revision()
    applied: dict[str, str] = {}
    if conn.execute(text("SELECT to_regclass('public.schema_script')")).scalar() is not None:
        applied = dict(conn.execute(text("SELECT name, checksum FROM schema_script")).all())
    stale = tuple(s.name for s in sql_scripts() if applied.get(s.name) != _checksum(s, head))
    return SchemaStatus(current=current, head=head, stale_scripts=stale)


def ensure_database(admin_url: URL, database: str) -> bool:
    """Create the database if it is missing (needs CREATEDB). Returns True if it was created."""
    engine = create_engine(admin_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).scalar()
            if exists:
                return False
            conn.execute(text(f'CREATE DATABASE "{database}" ENCODING \'UTF8\' TEMPLATE template0'))
            return True
    finally:
        engine.dispose()


def ensure_roles(conn: Connection) -> None:
    """The owner and group roles (cluster-wide, so shared by every AgentDesk database on the server)."""
    existing = set(conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname LIKE 'agentdesk\\_%'")).scalars())
    if OWNER_ROLE not in existing:
        conn.execute(text(f"CREATE ROLE {OWNER_ROLE} NOLOGIN CREATEROLE"))
    for group in GROUP_ROLES:
        if group not in existing:
            conn.execute(text(f"CREATE ROLE {group} NOLOGIN"))
        # The owner hands groups to new login roles (agentdesk.services.users) but never acts as them.
        granted = conn.execute(
            text(
                "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                "JOIN pg_roles o ON o.oid = m.member WHERE r.rolname = :g AND o.rolname = :o AND m.admin_option"
            ),
            {"g": group, "o": OWNER_ROLE},
        ).scalar()
        if not granted:
            conn.execute(text(f"GRANT {group} TO {OWNER_ROLE} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"))
    # The admin group can create users only through the owner's functions; the installer can act as owner.
    conn.execute(text(f"GRANT {OWNER_ROLE} TO current_user"))


def upgrade(installer_url: URL, *, log: Callable[[str], None] = lambda _m: None) -> SchemaStatus:
    """Bring the database at `installer_url` to head; a no-op if it already is. One transaction."""
    from alembic import command

    if installer_url.database and ensure_database(installer_url, installer_url.database):
        log(f"created database {installer_url.database}")
    engine = create_engine(installer_url)
    try:
        with engine.begin() as conn:
            before = schema_status(conn)
            if before.up_to_date:
                log(f"schema is up to date (revision {before.head})")
                return before
            ensure_roles(conn)
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.execute(text(f'ALTER DATABASE "{database}" OWNER TO {OWNER_ROLE}'))
            conn.execute(text(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC'))
            # No TEMPORARY: a temp table named like a real one would shadow it inside the guards' queries.
            conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {", ".join(GROUP_ROLES)}'))
            conn.execute(text(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}"))
            conn.execute(text(f"SET ROLE {OWNER_ROLE}"))
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            _apply_scripts(conn, log)
            conn.execute(text("RESET ROLE"))
            after = schema_status(conn)
            log(f"schema upgraded from {before.current or 'empty'} to {after.head}")
            return after
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise MigrationError(f"Upgrade failed and was rolled back: {first}") from exc
    finally:
        engine.dispose()


def _apply_scripts(conn: Connection, log: Callable[[str], None]) -> None:
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS schema_script ("
            " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
    )
    head = head_revision()
    applied: dict[str, str] = dict(conn.execute(text("SELECT name, checksum FROM schema_script")).all())  # type: ignore[arg-type]
    raw = conn.connection.dbapi_connection
    assert raw is not None
    rerun_rest = False
    for script in sql_scripts():
        checksum = _checksum(script, head)
        # A script may revoke what later ones grant, so once one runs, every later one runs again too.
        if applied.get(script.name) == checksum and not rerun_rest:
            continue
        rerun_rest = True
        cur = raw.cursor()  # a script holds many statements and dollar quotes: send it whole
        try:
            cur.execute(script.read_text(encoding="utf-8"))
        finally:
            cur.close()
        conn.execute(
            text(
                "INSERT INTO schema_script (name, checksum) VALUES (:n, :c) "
                "ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()"
            ),
            {"n": script.name, "c": checksum},
        )
        log(f"applied {script.name}")
