"""Test fixtures: one real PostgreSQL per test run, one fresh database per test.

The server is the embedded one (started in a temporary folder, fsync off) unless
AGENTDESK_TEST_DATABASE_URL names a server to use (its user must be able to create databases and roles).
A template database is migrated to head once and filled with reference data and one login role per
application role; each test gets `CREATE DATABASE ... TEMPLATE` of it, so tests never see each other's data.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from credentials import PASSWORD  # tests/ is on sys.path (rootdir conftest), like builders
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from agentdesk import bootstrap, embedded
from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.db import migrate
from agentdesk.demo.reference import load_reference_data
from agentdesk.services import users as user_service

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TEMPLATE = "agentdesk_test_template"


@dataclass(frozen=True)
class TestUser:
    key: str  # "csr", "csr2", "manager", ...
    name: str  # the login role
    role: str


# Login roles of the template: key -> (role, units). Names get a per-run suffix (roles are cluster-wide).
TEST_USERS = {
    "csr": ("csr", ("retention",)),
    "csr2": ("csr", ("retention",)),
    "senior": ("csr", ("senior_save",)),
    "manager": ("manager", ("customer_care_managers",)),
    "manager2": ("manager", ("customer_care_managers",)),
    "outside_manager": ("manager", ()),
    "accounting": ("accounting", ("accounting",)),
    "admin": ("admin", ()),
}


@dataclass
class PgServer:
    admin_url: URL  # server-level installer URL (database "postgres")
    run_id: str
    _counter: itertools.count  # type: ignore[type-arg]

    def database_url(self, database: str) -> URL:
        return self.admin_url.set(database=database)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    run_id = secrets.token_hex(3)
    external = os.environ.get("AGENTDESK_TEST_DATABASE_URL")
    if external:
        yield PgServer(make_url(external).set(drivername="postgresql+psycopg2", database="postgres"), run_id, itertools.count())
        return
    root = Path(tempfile.mkdtemp(prefix="agentdesk-test-"))
    server = embedded.start(root, unsafe_fast=True, delete_on_exit=True)
    try:
        yield PgServer(server.admin_url("postgres"), run_id, itertools.count())
    finally:
        server.release()


@pytest.fixture(scope="session")
def test_users(pg_server: PgServer) -> dict[str, TestUser]:
    return {
        key: TestUser(key, f"{key}_{pg_server.run_id}", role) for key, (role, _units) in TEST_USERS.items()
    }


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer, test_users: dict[str, TestUser]) -> str:
    engine = create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))
    engine.dispose()
    url = pg_server.database_url(TEMPLATE)
    migrate.upgrade(url)
    installer = bootstrap.connect_url(url)
    try:
        with installer.session() as s:
            load_reference_data(s, dt.date.today())
        for key, (role, units) in TEST_USERS.items():
            user_service.add_user(
                installer, test_users[key].name, role=role, password=PASSWORD,
                display_name=f"Test {key.replace('_', ' ').title()}", units=units,
            )
    finally:
        installer.dispose()
    return TEMPLATE


@pytest.fixture
def database_name(pg_server: PgServer, template_db: str) -> Iterator[str]:
    name = f"t_{pg_server.run_id}_{os.getpid()}_{next(pg_server._counter)}"
    engine = create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
        # A clone gets PostgreSQL's default database permissions: give it the ones `db upgrade` sets.
        conn.execute(text(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC'))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{name}" TO {", ".join(migrate.GROUP_ROLES)}'))
    try:
        yield name
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def database_url(pg_server: PgServer, database_name: str) -> URL:
    """The test database's URL with the installer's credentials."""
    return pg_server.database_url(database_name)


@pytest.fixture
def settings(database_url: URL, tmp_path: Path) -> Settings:
    """Settings that point at the test database, as `--database-url` would."""
    return Settings(
        database_url=database_url,  # with the installer's credentials, as an administrator's --database-url
        source="--database-url",
        data_dir=tmp_path / "data",
        outbox_dir=tmp_path / "outbox",
    )


@pytest.fixture
def installer(database_url: URL) -> Iterator[Database]:
    """A superuser connection to the test database, for arranging data the way an administrator would."""
    db = bootstrap.connect_url(database_url)
    yield db
    db.dispose()


@pytest.fixture
def connect_as(
    database_url: URL, test_users: dict[str, TestUser]
) -> Iterator[Callable[[str], Database]]:
    """connect_as("csr") -> a Database signed in as that test user's own login role."""
    opened: list[Database] = []

    def _connect(key: str) -> Database:
        db = bootstrap.connect_url(database_url.set(username=test_users[key].name, password=PASSWORD))
        opened.append(db)
        return db

    yield _connect
    for db in opened:
        db.dispose()
