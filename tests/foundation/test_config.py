"""Where the database is: --database-url, then the environment, then the config file, then embedded."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdesk.config import ConfigError, load_settings, parse_database_url, save_database_url


@pytest.fixture
def workstation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workstation with its own (empty) config and data folders and no AgentDesk variables."""
    for name in ("AGENTDESK_DATABASE_URL", "AGENTDESK_OUTBOX_DIR", "AGENTDESK_USER", "AGENTDESK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AGENTDESK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def write_config(folder: Path, body: str) -> Path:
    path = folder / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def test_precedence_cli_then_environment_then_file_then_embedded(workstation: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.database_url, settings.source, settings.embedded) == (None, "embedded", True)
    assert settings.data_dir == workstation / "data"
    assert settings.outbox_dir == workstation / "data" / "outbox"

    write_config(workstation, '[database]\nurl = "postgresql://file-host/agentdesk"\n')
    settings = load_settings()
    assert (settings.source, settings.database_url.host if settings.database_url else None) == ("config", "file-host")

    monkeypatch.setenv("AGENTDESK_DATABASE_URL", "postgresql://env-host:6543/agentdesk")
    settings = load_settings()
    assert settings.source == "environment"
    assert settings.database_url is not None
    assert (settings.database_url.host, settings.database_url.port) == ("env-host", 6543)

    settings = load_settings("postgresql://anna@cli-host/desk")
    assert settings.source == "--database-url"
    assert settings.database_url is not None
    assert (settings.database_url.host, settings.database_url.database) == ("cli-host", "desk")
    assert settings.database_url.drivername == "postgresql+psycopg2"
    assert not settings.embedded


def test_outbox_folder_from_environment(workstation: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTDESK_OUTBOX_DIR", str(workstation / "mail"))
    assert load_settings().outbox_dir == workstation / "mail"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("this is not a url", "is malformed"),
        ("mysql://root@localhost/agentdesk", "for 'mysql': AgentDesk needs PostgreSQL"),
        ("sqlite:///agentdesk.db", "for 'sqlite'"),
        ("postgresql://localhost", "names no database"),
    ],
)
def test_bad_urls_are_refused_in_one_line(url: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        parse_database_url(url, "--database-url")
    assert "\n" not in str(caught.value)
    assert "--database-url" in str(caught.value)


def test_a_bad_url_in_the_environment_names_the_variable(workstation: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTDESK_DATABASE_URL", "mysql://x/y")
    with pytest.raises(ConfigError, match="AGENTDESK_DATABASE_URL"):
        load_settings()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[database\nurl = 'x'\n", "is not valid TOML"),
        ("database = 'postgresql://h/d'\n", "must be a table"),
        ("[database]\nurl = 5432\n", "must be a string"),
        ("[database]\nurl = 'oracle://h/d'\n", "AgentDesk needs PostgreSQL"),
    ],
)
def test_bad_config_files_are_refused_in_one_line(workstation: Path, body: str, expected: str) -> None:
    path = write_config(workstation, body)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings()
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_broken_config_file_is_reported_even_when_a_url_is_given(workstation: Path) -> None:
    """The file is read even when --database-url wins: a broken file is reported, not silently ignored."""
    write_config(workstation, "[[[")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings("postgresql://h/agentdesk")


def test_saved_url_round_trips(workstation: Path) -> None:
    url = 'postgresql://anna:p"w\\x@db.example/agentdesk'
    path = save_database_url(url)
    assert path == workstation / "config" / "config.toml"
    settings = load_settings()
    assert settings.source == "config"
    assert settings.database_url is not None
    assert settings.database_url.password == 'p"w\\x'
    assert settings.database_url.host == "db.example"


def test_saving_a_bad_url_writes_nothing(workstation: Path) -> None:
    with pytest.raises(ConfigError):
        save_database_url("mysql://x/y")
    assert not (workstation / "config" / "config.toml").exists()
