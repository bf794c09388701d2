"""Connecting: from settings and a person's credentials to a `Database` (engine + session factory).

Every person connects as their own PostgreSQL login role, so the database knows who is acting and applies
that role's grants, policies and checks. Administrative work (migrations, creating the database) uses an
installer URL: the embedded server's superuser, or the URL the administrator gives.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agentdesk import embedded
from agentdesk.config import DATABASE_NAME, Settings
from agentdesk.db.errors import translate
from agentdesk.domain.errors import AgentDeskError

log = logging.getLogger(__name__)


class ConnectionFailed(AgentDeskError):
    """The server could not be reached or refused the sign-in; the message says what to check."""


class SchemaOutOfDate(AgentDeskError):
    """The shared database is older than this program; an administrator must upgrade it."""


def describe_connect_error(exc: BaseException, url: URL) -> str:
    """One line that says what to check, from a driver's connection error."""
    text_ = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    first = text_[0] if text_ else type(exc).__name__
    where = f"{url.host or url.query.get('host') or 'localhost'}:{url.port or 5432}"
    lowered = " ".join(text_).lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return f"Wrong user name or password for {url.username}@{where}: check both and try again"
    if "role" in lowered and "does not exist" in lowered:
        return f"There is no user '{url.username}' on {where}: ask an administrator to add you"
    if "not permitted to log in" in lowered:
        return f"The user '{url.username}' is disabled on {where}: ask an administrator"
    if "database" in lowered and "does not exist" in lowered:
        return f"There is no database '{url.database}' on {where}: check the URL or run 'agentdesk db upgrade'"
    if "could not connect" in lowered or "connection refused" in lowered or "could not translate host" in lowered:
        return f"Cannot reach the database server at {where}: check the host, port and that the server is running"
    if "timeout" in lowered:
        return f"The database server at {where} did not answer in time: check the network"
    return f"Cannot connect to {where}: {first}"


def make_engine(url: URL, *, pool_size: int = 5, application_name: str = "agentdesk") -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5, "application_name": application_name},
    )

    @event.listens_for(engine, "connect")
    def _session_defaults(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            # A statement that waits on a lock this long is a bug or a stuck colleague: fail, don't hang.
            cur.execute("SET lock_timeout = '10s'; SET TIME ZONE 'UTC'")
        dbapi_conn.commit()

    return engine


@dataclass
class Database:
    """A signed-in connection to AgentDesk: who (`user`) and where (`url`)."""

    url: URL
    engine: Engine
    user: str
    session_factory: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits if the block succeeds, rolls back otherwise; DB refusals translated."""
        session = self.session_factory()
        try:
            yield session
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            if isinstance(exc, OperationalError) and exc.connection_invalidated:
                raise ConnectionFailed(describe_connect_error(exc, self.url)) from exc
            raise translate(exc) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


# -- where the database is -----------------------------------------------------------------------------

_embedded_servers: dict[str, embedded.EmbeddedServer] = {}


def embedded_server(settings: Settings) -> embedded.EmbeddedServer:
    """Start or join the embedded server for this process (once)."""
    key = str(settings.data_dir)
    if key not in _embedded_servers:
        _embedded_servers[key] = embedded.start(settings.data_dir / "postgres")
    return _embedded_servers[key]


def user_url(settings: Settings, user: str, password: str | None) -> URL:
    if settings.database_url is None:
        return embedded_server(settings).url(user, password, DATABASE_NAME)
    return settings.database_url.set(username=user, password=password)


def installer_url(settings: Settings) -> URL:
    """The URL with rights to create the database, roles and schema."""
    if settings.database_url is None:
        return embedded_server(settings).admin_url(DATABASE_NAME)
    return settings.database_url


def connect(settings: Settings, user: str, password: str | None, *, pool_size: int = 5) -> Database:
    """Sign in as `user`; raise ConnectionFailed with a one-line reason if that is not possible."""
    if not user or not user.strip():
        raise ConnectionFailed("Enter a user name")
    url = user_url(settings, user.strip(), password)
    return connect_url(url, pool_size=pool_size)


def connect_url(url: URL, *, pool_size: int = 5) -> Database:
    engine = make_engine(url, pool_size=pool_size)
    try:
        with engine.connect() as conn:
            who = conn.execute(text("SELECT session_user")).scalar_one()
    except DBAPIError as exc:
        engine.dispose()
        raise ConnectionFailed(describe_connect_error(exc, url)) from None
    return Database(url=url, engine=engine, user=str(who))
