"""What every command needs: settings, and a signed-in database (schema checked first)."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import sys

from sqlalchemy import create_engine

from agentdesk import bootstrap
from agentdesk.bootstrap import Database, SchemaOutOfDate
from agentdesk.config import Settings, load_settings
from agentdesk.db import migrate


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "database_url", None))


def ensure_schema(settings: Settings) -> None:
    """The embedded database upgrades itself; a shared one must be upgraded by its administrator."""
    if settings.embedded:
        migrate.upgrade(bootstrap.installer_url(settings))
        return
    url = settings.database_url
    if url is None:
        return
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            status = migrate.schema_status(conn)
    except Exception as exc:
        raise bootstrap.ConnectionFailed(bootstrap.describe_connect_error(exc, url)) from None
    finally:
        engine.dispose()
    if not status.up_to_date:
        behind = (
            f"The database schema is at {status.current or 'nothing'}, this program needs {status.head}"
            if status.current != status.head
            else f"The database's rules are older than this program ({', '.join(status.stale_scripts)})"
        )
        raise SchemaOutOfDate(f"{behind}: an administrator must run 'agentdesk --database-url URL db upgrade'")


def read_password(prompt: str, env_var: str) -> str:
    if env_var in os.environ:
        return os.environ[env_var]
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)


def open_database(args: argparse.Namespace, *, pool_size: int = 5) -> Database:
    """Sign in as --user / $AGENTDESK_USER; with neither, as the URL's user (or the embedded owner)."""
    settings = settings_from(args)
    user = getattr(args, "user", None) or os.environ.get("AGENTDESK_USER")
    if user:
        password = read_password(f"Password for {user}: ", "AGENTDESK_PASSWORD")
        # Check a shared schema with the person's own credentials: a shared URL usually names no user.
        ensure_schema(settings if settings.database_url is None else dataclasses.replace(
            settings, database_url=settings.database_url.set(username=user, password=password)))
        return bootstrap.connect(settings, user, password, pool_size=pool_size)
    ensure_schema(settings)
    return bootstrap.connect_url(bootstrap.installer_url(settings), pool_size=pool_size)
