"""run_app end to end: the sign-in dialog, the main window, signing out and quitting from the dialog."""

from __future__ import annotations

import argparse

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from agentdesk.gui.app import run_app
from agentdesk.gui.mainwindow import MainWindow
from agentdesk.gui.signin import SignInDialog

pytestmark = pytest.mark.gui

PASSWORD = "correct-horse-battery"


def test_sign_in_work_sign_out_and_quit(settings, test_users, qapp):
    args = argparse.Namespace(database_url=settings.database_url.render_as_string(hide_password=False),
                              user=test_users["csr"].name)
    steps: list[str] = []

    def drive() -> None:
        for widget in QApplication.topLevelWidgets():
            if not widget.isVisible():
                continue
            if isinstance(widget, SignInDialog) and not widget.property("driven"):
                widget.setProperty("driven", True)
                if "signed out" in steps:
                    steps.append("quit")
                    widget.reject()  # Quit in the dialog ends the application
                else:
                    assert widget.user_edit.text() == test_users["csr"].name  # --user is filled in
                    widget.password_edit.setText(PASSWORD)
                    widget.sign_in_button.click()
                    steps.append("sign in")
            elif isinstance(widget, MainWindow) and "signed out" not in steps \
                    and widget.queue_page("retention") is not None and widget.current_page() is not None:
                steps.append("working")
                steps.append("signed out")
                widget.sign_out()

    timer = QTimer()
    timer.timeout.connect(drive)
    timer.start(50)
    guard = QTimer()  # never hang the suite: close everything after a minute
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: [w.close() for w in QApplication.topLevelWidgets()])
    guard.start(60_000)
    try:
        code = run_app(args)
    finally:
        timer.stop()
        guard.stop()
    assert code == 0
    assert steps == ["sign in", "working", "signed out", "quit"]
