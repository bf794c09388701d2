"""The embedded server: starts in a fresh data folder, demands a password from everyone, keeps its secret
private, and is shared by the processes of one machine."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from agentdesk import embedded
from agentdesk.embedded import EmbeddedServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    root = tmp_path_factory.mktemp("embedded") / "postgres"
    handle = embedded.start(root, unsafe_fast=True, delete_on_exit=True)
    yield handle
    handle.release()


def connect(server: EmbeddedServer, password: str | None, user: str = "postgres") -> psycopg2.extensions.connection:
    kwargs = {"host": server.socket_dir, "user": user, "dbname": "postgres", "connect_timeout": 5}
    if password is not None:
        kwargs["password"] = password
    return psycopg2.connect(**kwargs)


def test_connecting_without_the_password_fails(server: EmbeddedServer) -> None:
    with pytest.raises(psycopg2.OperationalError, match="password"):
        connect(server, None)
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        connect(server, "guess-1234")


def test_connecting_with_the_stored_secret_works(server: EmbeddedServer) -> None:
    secret = (server.root / "superuser.secret").read_text().strip()
    assert secret == server.superuser_password
    assert len(secret) >= 24
    conn = connect(server, secret)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('password_encryption'), rolpassword LIKE 'SCRAM-SHA-256$%'"
                        " FROM pg_authid WHERE rolname = 'postgres'")
            assert cur.fetchone() == ("scram-sha-256", True)
    finally:
        conn.close()


def test_the_secret_is_readable_by_its_owner_only(server: EmbeddedServer) -> None:
    mode = stat.S_IMODE((server.root / "superuser.secret").stat().st_mode)
    assert mode == 0o600


def test_every_rule_of_pg_hba_requires_scram(server: EmbeddedServer) -> None:
    rules = [line.split() for line in (server.root / "pgdata" / "pg_hba.conf").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules
    assert all(rule[-1] == "scram-sha-256" for rule in rules)


def test_shared_by_two_processes(server: EmbeddedServer) -> None:
    """A second process joins the running server (same postmaster), and leaving does not stop it for us."""
    conn = connect(server, server.superuser_password)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_postmaster_start_time()::text")
            started = cur.fetchone()[0]
    finally:
        conn.close()

    script = textwrap.dedent(f"""
        import psycopg2
        from pathlib import Path
        from agentdesk import embedded
        other = embedded.start(Path({str(server.root)!r}))
        conn = psycopg2.connect(host=other.socket_dir, user="postgres", password=other.superuser_password,
                                dbname="postgres")
        cur = conn.cursor()
        cur.execute("SELECT pg_postmaster_start_time()::text")
        print(cur.fetchone()[0])
        conn.close()
        other.release()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={"PYTHONWARNINGS": "ignore", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == started

    conn = connect(server, server.superuser_password)  # still running for this process
    conn.close()


def test_joining_in_the_same_process_reuses_the_secret(server: EmbeddedServer) -> None:
    again = embedded.start(server.root)
    assert again.superuser_password == server.superuser_password
    assert again.socket_dir == server.socket_dir


def test_a_missing_secret_is_a_one_line_error(tmp_path: Path) -> None:
    """A hardened data folder whose secret file is gone: say what to do in one line, don't hang on to it."""
    root = tmp_path / "postgres"
    first = embedded.start(root, unsafe_fast=True)
    first.release()
    secret = root / "superuser.secret"
    kept = secret.read_text()
    secret.unlink()
    with pytest.raises(embedded.EmbeddedServerError, match="password file .* is missing") as caught:
        embedded.start(root)
    assert "\n" not in str(caught.value)
    secret.write_text(kept)
    again = embedded.start(root)
    try:
        connect(again, kept).close()
    finally:
        again.release()
