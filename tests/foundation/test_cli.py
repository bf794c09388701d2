"""The real `agentdesk` command in a subprocess: every refusal is one line on stderr starting with
"agentdesk:", exit code 2, no traceback; user administration works for an administrator only."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from agentdesk import bootstrap

from .conftest import PASSWORD_ENV, one_line_error, url_text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_malformed_url(run_agentdesk) -> None:
    line = one_line_error(run_agentdesk("--database-url", "this is not a url", "db", "status"))
    assert "malformed" in line


def test_url_that_is_not_postgresql(run_agentdesk) -> None:
    line = one_line_error(run_agentdesk("--database-url", "mysql://root@localhost/agentdesk", "user", "list"))
    assert "needs PostgreSQL" in line


def test_bad_toml(run_agentdesk, clean_env: dict[str, str]) -> None:
    config = Path(clean_env["AGENTDESK_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[database\nurl = ", encoding="utf-8")
    line = one_line_error(run_agentdesk("db", "status"))
    assert "not valid TOML" in line and str(config) in line


def test_bad_url_in_environment(run_agentdesk) -> None:
    line = one_line_error(run_agentdesk("db", "status", env={"AGENTDESK_DATABASE_URL": "sqlite:///x.db"}))
    assert "AGENTDESK_DATABASE_URL" in line


def test_unreachable_server(run_agentdesk) -> None:
    port = free_port()
    url = f"postgresql://anna:secret@127.0.0.1:{port}/agentdesk"
    for command in (("db", "status"), ("--user", "anna", "user", "list"), ("db", "upgrade")):
        line = one_line_error(run_agentdesk("--database-url", url, *command, env={"AGENTDESK_PASSWORD": "x"}))
        assert f"127.0.0.1:{port}" in line, line


def test_wrong_password(run_agentdesk, shared_url: str, test_users) -> None:
    result = run_agentdesk("--database-url", shared_url, "--user", test_users["csr"].name,
                           "user", "list", env={"AGENTDESK_PASSWORD": "not-the-password"})
    line = one_line_error(result)
    assert "Wrong user name or password" in line and test_users["csr"].name in line


def test_wrong_password_read_from_stdin(run_agentdesk, shared_url: str, test_users) -> None:
    result = run_agentdesk("--database-url", shared_url, "--user", test_users["admin"].name,
                           "user", "list", stdin="not-the-password\n")
    assert "Wrong user name or password" in one_line_error(result)


def test_unknown_user(run_agentdesk, shared_url: str) -> None:
    result = run_agentdesk("--database-url", shared_url, "--user", "nobody_at_all",
                           "user", "list", env={"AGENTDESK_PASSWORD": "whatever-1"})
    line = one_line_error(result)
    # SCRAM does not tell an unknown user from a wrong password, and neither do we.
    assert "nobody_at_all" in line


def test_missing_database(run_agentdesk, database_url: URL) -> None:
    url = database_url.set(database="no_such_database_here")
    line = one_line_error(run_agentdesk("--database-url", url_text(url), "user", "list"))
    assert "There is no database 'no_such_database_here'" in line


def test_admin_adds_lists_and_disables_users(run_agentdesk, shared_url: str, test_users, pg_server,
                                             database_url: URL) -> None:
    url = shared_url
    admin = {"AGENTDESK_USER": test_users["admin"].name, **PASSWORD_ENV}
    name = f"cli_new_{pg_server.run_id}"

    added = run_agentdesk("--database-url", url, "user", "add", name, "--role", "csr", "--unit", "retention",
                          "--display-name", "Σοφία Νέα", env=admin | {"AGENTDESK_NEW_PASSWORD": "fresh-pass-1"})
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"added {name} (csr, retention)"

    listed = run_agentdesk("--database-url", url, "user", "list", env=admin)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(name))
    assert row.split()[:4] == [name, "csr", "yes", "retention"]
    assert row.endswith("Σοφία Νέα")

    newcomer = bootstrap.connect_url(database_url.set(username=name, password="fresh-pass-1"))
    newcomer.dispose()

    disabled = run_agentdesk("--database-url", url, "user", "disable", name, env=admin)
    assert (disabled.returncode, disabled.stdout.strip()) == (0, f"disabled {name}")
    listed = run_agentdesk("--database-url", url, "user", "list", env=admin)
    assert next(line for line in listed.stdout.splitlines() if line.startswith(name)).split()[2] == "no"
    refused = run_agentdesk("--database-url", url, "--user", name, "user", "list",
                            env={"AGENTDESK_PASSWORD": "fresh-pass-1"})
    assert "disabled" in one_line_error(refused)


def test_csr_cannot_administer_users(run_agentdesk, shared_url: str, test_users, connect_as) -> None:
    url = shared_url
    csr = {"AGENTDESK_USER": test_users["csr"].name, **PASSWORD_ENV}
    add = run_agentdesk("--database-url", url, "user", "add", "sneaky_admin", "--role", "admin",
                        env=csr | {"AGENTDESK_NEW_PASSWORD": "sneaky-pass-1"})
    assert "may not do this" in one_line_error(add)
    disable = run_agentdesk("--database-url", url, "user", "disable", test_users["csr2"].name, env=csr)
    assert "may not do this" in one_line_error(disable)
    password = run_agentdesk("--database-url", url, "user", "password", test_users["csr2"].name,
                             env=csr | {"AGENTDESK_NEW_PASSWORD": "taken-over-1"})
    assert "administrator" in one_line_error(password)
    # Nothing happened: csr2 still signs in with the old password, and there is no sneaky admin.
    csr2 = connect_as("csr2")
    with csr2.session() as s:
        assert s.execute(text("SELECT count(*) FROM app_user WHERE role_name = 'sneaky_admin'")).scalar_one() == 0


def test_short_password_is_refused(run_agentdesk, shared_url: str, test_users) -> None:
    admin = {"AGENTDESK_USER": test_users["admin"].name, **PASSWORD_ENV, "AGENTDESK_NEW_PASSWORD": "short"}
    result = run_agentdesk("--database-url", shared_url, "user", "add", "short_pw_user",
                           "--role", "csr", env=admin)
    assert "at least 8 characters" in one_line_error(result)
