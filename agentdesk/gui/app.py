"""Starting the desktop: the QApplication, the style, the sign-in dialog, then the main window.

`run_app(args)` is what `agentdesk` runs without a subcommand (``args.database_url``, ``args.user``). Only
Qt and the sign-in dialog are imported before the dialog shows; the database layers load in the
background while the person types (cold start to the dialog stays well under a second and a half).
Signing out shows the sign-in dialog again in the same process.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from agentdesk.gui.resources import icon, stylesheet

if TYPE_CHECKING:
    from agentdesk.config import Settings
    from agentdesk.gui.signin import SignInResult
    from agentdesk.gui.tasks import TaskRunner

log = logging.getLogger(__name__)


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with AgentDesk's name, icon and style sheet (reused if one exists, as in tests)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        QCoreApplication.setOrganizationName("AgentDesk")
        QCoreApplication.setApplicationName("AgentDesk")
        # Qt 6 scales for high DPI by itself; keep fractional scale factors (125 %, 150 %) exact.
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationDisplayName("AgentDesk")
    app.setWindowIcon(icon("app"))
    # The palette comes from the system (light or dark); the style sheet only uses palette roles and
    # translucent tints, so it suits both.
    app.setStyleSheet(stylesheet())
    return app


def base_settings(args: argparse.Namespace) -> tuple[Settings, str | None]:
    """Settings from --database-url / environment / config file; a malformed value is reported, and the
    embedded server offered instead, rather than refusing to start."""
    from agentdesk.config import ConfigError, load_settings

    try:
        return load_settings(getattr(args, "database_url", None)), None
    except ConfigError as exc:
        os.environ.pop("AGENTDESK_DATABASE_URL", None)
        try:
            return load_settings(None), str(exc)
        except ConfigError as again:
            from agentdesk.config import Settings, data_dir

            base = data_dir()
            return Settings(None, "embedded", base, base / "outbox"), str(again)


def server_label(result: SignInResult) -> str:
    if result.settings.embedded:
        return "the database on this computer"
    url = result.settings.database_url
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}" if url is not None else "the server"


def open_main_window(result: SignInResult, runner: TaskRunner, *, live: bool = True) -> object:
    """Build the signed-in context and the main window for a successful sign-in."""
    from agentdesk.gui.context import AppContext, ChangeHub
    from agentdesk.gui.mainwindow import MainWindow

    context = AppContext(settings=result.settings, db=result.db, user=result.user, runner=runner,
                         changes=ChangeHub(), server_label=server_label(result))
    window = MainWindow(context, live=live, units=result.units)
    return window


def run_app(args: argparse.Namespace) -> int:
    """Run the desktop until the person quits; returns the process exit code."""
    app = create_application()
    from agentdesk.gui.signin import SignInDialog
    from agentdesk.gui.tasks import TaskRunner

    settings, problem = base_settings(args)
    runner = TaskRunner(app)
    user = getattr(args, "user", None) or os.environ.get("AGENTDESK_USER")
    while True:
        dialog = SignInDialog(settings, runner, user=user)
        if problem:
            dialog.banner.show_message("warning", f"{problem}. Choose a server below.")
            problem = None
        if dialog.exec() != SignInDialog.DialogCode.Accepted or dialog.result_session is None:
            runner.wait_for_done(5000)
            return 0
        result = dialog.result_session
        try:
            window = open_main_window(result, runner)
        except Exception as exc:  # the window failed to build: say so instead of vanishing
            log.exception("the main window failed to open")
            QMessageBox.critical(None, "AgentDesk", f"The main window could not open: {exc}")
            result.db.dispose()
            return 1
        window.show()  # type: ignore[attr-defined]
        code = app.exec()
        signed_out = bool(getattr(window, "sign_out_requested", False))
        window.deleteLater()  # type: ignore[attr-defined]
        result.db.dispose()
        if not signed_out:
            return int(code)
        user = result.user.name
