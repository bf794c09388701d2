"""Building a back-office page outside the main window: for the screenshot script and for tests.

`make_context(settings, db)` gives the same AppContext the main window builds after sign-in (who signed in,
a task runner, a change hub), so a page shown on its own behaves exactly as inside the desktop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentdesk.gui.adapters import signed_in_user
from agentdesk.gui.context import AppContext, ChangeHub
from agentdesk.gui.tasks import TaskRunner

if TYPE_CHECKING:
    from agentdesk.bootstrap import Database
    from agentdesk.config import Settings


def make_context(settings: Settings, db: Database) -> AppContext:
    """An AppContext for `db`'s signed-in user (a QApplication must exist)."""
    return AppContext(settings=settings, db=db, user=signed_in_user(db), runner=TaskRunner(),
                      changes=ChangeHub())




def open_page(qtbot: Any, page: Any, ready: Callable[[Any], bool], *, timeout: int = 15_000) -> Any:
    """Show `page` as the main window would (activate = first load) and wait until `ready(page)`."""
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: ready(page), timeout=timeout)
    return page


def wait_idle(qtbot: Any, page: Any, *, timeout: int = 15_000) -> None:
    """Wait until no task of the page's runner is in flight (its results delivered)."""
    qtbot.waitUntil(lambda: not page.runner.busy, timeout=timeout)


__all__ = ["make_context", "open_page", "wait_idle"]
