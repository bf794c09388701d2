"""The sign-in dialog against the real test server: success, and every refusal shown inline."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import text

from agentdesk.gui import preferences
from agentdesk.gui.signin import SignInDialog, display_url
from agentdesk.gui.tasks import TaskRunner

pytestmark = pytest.mark.gui

PASSWORD = "correct-horse-battery"


@pytest.fixture
def dialog_for(settings: Any, qtbot: Any) -> Any:
    runners: list[TaskRunner] = []

    def make(base: Any = None, user: str | None = None) -> SignInDialog:
        runner = TaskRunner()
        runners.append(runner)
        dialog = SignInDialog(base or settings, runner, user=user, auto_prepare=False)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    yield make
    for runner in runners:
        runner.wait_for_done(10_000)


def sign_in(qtbot: Any, dialog: SignInDialog, user: str, password: str) -> None:
    dialog.user_edit.setText(user)
    dialog.password_edit.setText(password)
    dialog.sign_in_button.click()
    qtbot.waitUntil(lambda: dialog.result_session is not None or bool(dialog.banner.text), timeout=60_000)


def test_signs_in_and_remembers_server_and_user(dialog_for, qtbot, test_users, settings):
    dialog = dialog_for()
    assert dialog.server() == display_url(settings.database_url)  # the configured server is pre-selected
    with qtbot.waitSignal(dialog.sig_signed_in, timeout=60_000) as signal:
        dialog.user_edit.setText(test_users["csr"].name)
        dialog.password_edit.setText(PASSWORD)
        dialog.sign_in_button.click()
    result = signal.args[0]
    assert result.user.name == test_users["csr"].name and result.user.role == "csr"
    assert result.user.display_name == "Test Csr"
    assert preferences.last_user() == test_users["csr"].name
    assert preferences.last_server() == dialog.server()
    # never the password in plain text: the settings file holds no trace of it
    ini = preferences.qsettings().fileName()
    with open(ini, encoding="utf-8") as f:
        assert PASSWORD not in f.read()
    result.db.dispose()


def test_wrong_password_is_one_line_and_keeps_what_was_typed(dialog_for, qtbot, test_users):
    dialog = dialog_for()
    sign_in(qtbot, dialog, test_users["csr"].name, "wrong")
    assert dialog.result_session is None
    assert "Wrong user name or password" in dialog.banner.text and "\n" not in dialog.banner.text
    assert dialog.user_edit.text() == test_users["csr"].name and dialog.password_edit.text() == "wrong"
    assert dialog.sign_in_button.isEnabled()


def test_unknown_user_and_a_database_login_that_is_no_agentdesk_user(dialog_for, qtbot, installer):
    dialog = dialog_for()
    sign_in(qtbot, dialog, "nobody_here", PASSWORD)
    assert "nobody_here" in dialog.banner.text
    with installer.session() as s:
        s.execute(text(f"CREATE ROLE plain_login_{id(dialog) % 10000} LOGIN PASSWORD '{PASSWORD}'"))
        s.execute(text(f"GRANT CONNECT ON DATABASE \"{installer.url.database}\" TO plain_login_{id(dialog) % 10000}"))
    sign_in(qtbot, dialog, f"plain_login_{id(dialog) % 10000}", PASSWORD)
    assert "not an AgentDesk user" in dialog.banner.text


def test_unreachable_server(dialog_for, qtbot, settings):
    from sqlalchemy.engine import make_url

    unreachable = dataclasses.replace(settings, database_url=make_url("postgresql+psycopg2://127.0.0.1:1/agentdesk"))
    dialog = dialog_for(unreachable)
    sign_in(qtbot, dialog, "anyone", "x")
    assert "Cannot reach the database server at 127.0.0.1:1" in dialog.banner.text


def test_schema_too_old(dialog_for, qtbot, installer, test_users):
    with installer.session() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    dialog = dialog_for()
    sign_in(qtbot, dialog, test_users["csr"].name, PASSWORD)
    assert dialog.result_session is None
    assert "schema" in dialog.banner.text and "db upgrade" in dialog.banner.text


def test_malformed_url_typed_for_another_server(dialog_for, qtbot, test_users):
    dialog = dialog_for()
    dialog.server_combo.setCurrentIndex(dialog.server_combo.findData("other"))
    assert dialog.server_url.isVisibleTo(dialog)
    dialog.server_url.setText("mysql://somewhere/agentdesk")
    sign_in(qtbot, dialog, test_users["csr"].name, PASSWORD)
    assert "AgentDesk needs PostgreSQL" in dialog.banner.text
    assert dialog.server_url.text() == "mysql://somewhere/agentdesk"


def test_remember_password_needs_a_keyring(dialog_for, qtbot):
    dialog = dialog_for()
    qtbot.waitUntil(lambda: "keyring" in dialog.remember_check.toolTip() and "Checking" not in
                    dialog.remember_check.toolTip(), timeout=10_000)
    # This machine has no keyring backend: the option is offered only when one exists.
    assert dialog.remember_check.isEnabled() == preferences.keyring_available()
