"""`agentdesk db upgrade|status`: bring the schema to head, or say where it stands."""

from __future__ import annotations

import argparse

from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from agentdesk import bootstrap
from agentdesk.cli.common import settings_from
from agentdesk.db import migrate


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = subparsers.add_parser("db", help="database schema: upgrade, status")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = sub.add_parser("upgrade", help="bring the database to the current schema (safe to repeat)")
    upgrade.set_defaults(handler=upgrade_command)
    status = sub.add_parser("status", help="show the schema revision and whether an upgrade is due")
    status.set_defaults(handler=status_command)


def upgrade_command(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    url = bootstrap.installer_url(settings)
    try:
        migrate.upgrade(url, log=print)
    except DBAPIError as exc:  # could not even connect (errors after connecting are MigrationError)
        raise bootstrap.ConnectionFailed(bootstrap.describe_connect_error(exc, url)) from None
    return 0


def status_command(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    url = bootstrap.installer_url(settings)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            status = migrate.schema_status(conn)
    except Exception as exc:
        raise bootstrap.ConnectionFailed(bootstrap.describe_connect_error(exc, url)) from None
    finally:
        engine.dispose()
    where = "embedded server" if settings.embedded else f"{url.host}:{url.port or 5432}/{url.database}"
    print(f"database: {where}")
    print(f"schema revision: {status.current or 'none (empty database)'}")
    print(f"program needs:   {status.head}")
    if status.stale_scripts:
        print(f"scripts to apply: {', '.join(status.stale_scripts)}")
    print("up to date" if status.up_to_date else "upgrade needed: run 'agentdesk db upgrade'")
    return 0 if status.up_to_date else 1
