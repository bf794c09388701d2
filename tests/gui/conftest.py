"""Fixtures for the desktop's tests: signed-in contexts, main windows and editors on the real test database.

Every test runs real widgets offscreen (QT_QPA_PLATFORM=offscreen is set by tests/conftest.py) against a
fresh database cloned from the template; tickets are arranged through the real services (tests/builders.py).
Waiting is always qtbot.waitUntil / waitSignal on an observable condition, never a sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.gui.adapters import signed_in_user
from agentdesk.gui.app import create_application
from agentdesk.gui.context import AppContext, ChangeHub
from agentdesk.gui.tasks import TaskRunner


@pytest.fixture(autouse=True)
def _desktop_config(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """QSettings and the config file go to a temporary folder: tests never touch the real ones."""
    monkeypatch.setenv("AGENTDESK_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def desk_context(settings: Settings, connect_as: Callable[[str], Database],
                 qapp: Any) -> Iterator[Callable[[str], AppContext]]:
    """desk_context("csr") -> the AppContext a signed-in desktop of that test user has."""
    create_application()
    made: list[AppContext] = []

    def make(key: str) -> AppContext:
        db = connect_as(key)
        context = AppContext(settings=settings, db=db, user=signed_in_user(db), runner=TaskRunner(),
                             changes=ChangeHub(), server_label="the test database")
        made.append(context)
        return context

    yield make
    for context in made:
        context.runner.wait_for_done(10_000)


@pytest.fixture
def main_window(desk_context: Callable[[str], AppContext], qtbot: Any) -> Iterator[Callable[..., Any]]:
    """main_window("csr") -> a shown MainWindow signed in as that user, live updates on."""
    from agentdesk.gui.mainwindow import MainWindow

    windows: list[MainWindow] = []

    def make(key: str, *, live: bool = True) -> MainWindow:
        window = MainWindow(desk_context(key), live=live)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
