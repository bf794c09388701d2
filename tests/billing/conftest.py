"""Fixtures for billing tests (the builders themselves are in builders.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from agentdesk import bootstrap
from agentdesk.bootstrap import Database

from .builders import Builder


@pytest.fixture
def accounting(connect_as: Callable[[str], Database]) -> Database:
    return connect_as("accounting")


@pytest.fixture
def build(installer: Database, connect_as: Callable[[str], Database]) -> Builder:
    return Builder(installer, connect_as("csr"), connect_as("manager"))



@dataclass
class Twin:
    """A second test database from the same template: to compare a disturbed run with a clean one."""

    url: URL
    installer: Database
    accounting: Database
    build: Builder


@pytest.fixture
def twin(pg_server: Any, template_db: str, test_users: dict[str, Any]) -> Iterator[Twin]:
    from credentials import PASSWORD

    name = f"t_{pg_server.run_id}_{os.getpid()}_{next(pg_server._counter)}_twin"
    admin = create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    url = pg_server.database_url(name)
    opened = [bootstrap.connect_url(url)]
    for key in ("accounting", "csr", "manager"):
        opened.append(bootstrap.connect_url(url.set(username=test_users[key].name, password=PASSWORD)))
    installer, accounting, csr, manager = opened
    try:
        yield Twin(url, installer, accounting, Builder(installer, csr, manager))
    finally:
        for db in opened:
            db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
