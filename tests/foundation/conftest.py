"""Helpers for the foundation tests: run the real `agentdesk` command in a clean environment, run raw SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from credentials import PASSWORD  # the test users' password (tests/conftest.py)
from sqlalchemy import text
from sqlalchemy.engine import URL

from agentdesk.bootstrap import Database

REPO = Path(__file__).resolve().parents[2]
PASSWORD_ENV = {"AGENTDESK_PASSWORD": PASSWORD}


def url_text(url: URL) -> str:
    """A URL as a user would type it (with its password, if it has one)."""
    return url.render_as_string(hide_password=False)


@pytest.fixture
def shared_url(database_url: URL) -> str:
    """The test database's URL as a shared server's URL is written: no user, no password."""
    return url_text(URL.create("postgresql", host=database_url.host, port=database_url.port,
                               database=database_url.database, query=database_url.query))


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh workstation: no AgentDesk variables, empty config and data folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTDESK_")}
    env["AGENTDESK_CONFIG_DIR"] = str(tmp_path / "config")
    env["AGENTDESK_DATA_DIR"] = str(tmp_path / "data")
    runtime = tmp_path / "run"  # without it platformdirs warns on stderr (containers have no XDG_RUNTIME_DIR)
    runtime.mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    return env


@pytest.fixture
def run_agentdesk(clean_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """run_agentdesk("db", "status", env={...}, stdin="...") -> the finished `python -m agentdesk` process."""

    def _run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentdesk", *args],
            env=clean_env | (env or {}), input=stdin if stdin is not None else "", text=True,
            capture_output=True, cwd=REPO, timeout=timeout,
        )

    return _run


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the process failed the way every AgentDesk refusal should: exit 2, one stderr line, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("agentdesk: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def sql(db: Database, statement: str, **params: Any) -> list[Any]:
    """Run one raw SQL statement as `db`'s user in its own unit of work; rows if it returns any."""
    with db.session() as s:
        result: Any = s.execute(text(statement), params)  # a CursorResult: it knows whether rows came back
        return list(result.all()) if result.returns_rows else []


def scalar(db: Database, statement: str, **params: Any) -> Any:
    rows = sql(db, statement, **params)
    return rows[0][0] if rows else None
