"""Where the database is, and the few settings a workstation keeps for itself.

Resolution order for the database URL: `--database-url`, then `AGENTDESK_DATABASE_URL`, then
`[database] url` in the user's config file (`config.toml` in the platform config folder), else the
embedded PostgreSQL server in the user's data folder. Nothing happens at import time.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from agentdesk.domain.errors import AgentDeskError

APP_NAME = "agentdesk"
DATABASE_NAME = "agentdesk"


class ConfigError(AgentDeskError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def data_dir() -> Path:
    override = os.environ.get("AGENTDESK_DATA_DIR")
    return Path(override) if override else platformdirs.user_data_path(APP_NAME)


def config_dir() -> Path:
    override = os.environ.get("AGENTDESK_CONFIG_DIR")
    return Path(override) if override else platformdirs.user_config_path(APP_NAME)


def config_file() -> Path:
    return config_dir() / "config.toml"


@dataclass(frozen=True)
class Settings:
    """What a process needs to know before it connects. `database_url` None means the embedded server."""

    database_url: URL | None
    source: str  # where the URL came from, for messages: "--database-url", "environment", "config", "embedded"
    data_dir: Path
    outbox_dir: Path

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def parse_database_url(text: str, source: str) -> URL:
    """Parse a PostgreSQL URL, or say what is wrong with it in one line."""
    text = text.strip()
    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigError(
            f"The database URL from {source} is malformed: expected postgresql://USER@HOST:PORT/DATABASE"
        ) from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(
            f"The database URL from {source} is for '{url.get_backend_name()}': AgentDesk needs PostgreSQL "
            "(postgresql://USER@HOST:PORT/DATABASE)"
        )
    if not url.database:
        raise ConfigError(f"The database URL from {source} names no database: add /agentdesk at the end")
    return url.set(drivername="postgresql+psycopg2")


def _read_config_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The config file {path} is not valid TOML ({exc}): fix or delete it") from None


def load_settings(cli_database_url: str | None = None) -> Settings:
    file_values = _read_config_file(config_file())
    database_section = file_values.get("database", {})
    if not isinstance(database_section, dict):
        raise ConfigError(f"In {config_file()}, [database] must be a table with a 'url' key")
    file_url = database_section.get("url")
    if file_url is not None and not isinstance(file_url, str):
        raise ConfigError(f"In {config_file()}, database.url must be a string")

    url: URL | None = None
    source = "embedded"
    if cli_database_url:
        url, source = parse_database_url(cli_database_url, "--database-url"), "--database-url"
    elif os.environ.get("AGENTDESK_DATABASE_URL"):
        url, source = parse_database_url(os.environ["AGENTDESK_DATABASE_URL"], "AGENTDESK_DATABASE_URL"), "environment"
    elif file_url:
        url, source = parse_database_url(file_url, str(config_file())), "config"

    base = data_dir()
    outbox = Path(os.environ.get("AGENTDESK_OUTBOX_DIR", base / "outbox"))
    return Settings(database_url=url, source=source, data_dir=base, outbox_dir=outbox)


def save_database_url(url: str) -> Path:
    """Remember a shared server for this workstation (written to the config file)."""
    parse_database_url(url, "the given URL")
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    escaped = url.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(f'[database]\nurl = "{escaped}"\n', encoding="utf-8")
    return path
