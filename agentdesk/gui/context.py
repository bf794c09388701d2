"""What every screen of a signed-in desktop shares: who is signed in, the database, the task runner, and
the hub that announces changes made elsewhere (another agent's claim, a manager's approval...).

The main window builds one :class:`AppContext` after sign-in and hands it to each page (its own pages and
the back-office pages). Pages never keep ORM objects: they ask services, through the runner, for plain
dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from agentdesk.bootstrap import Database
    from agentdesk.config import Settings
    from agentdesk.gui.tasks import TaskRunner

ROLE_LABELS = {"csr": "Customer service", "manager": "Manager", "accounting": "Accounting", "admin": "Administrator"}


@dataclass(frozen=True)
class SignedInUser:
    name: str  # the login role
    display_name: str
    role: str  # csr | manager | accounting | admin
    units: tuple[str, ...] = ()

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


class ChangeHub(QObject):
    """Announces changes to rows that open screens may show.

    Signals:
        sig_row_changed(str table, int id, str op): one row changed (from NOTIFY, or from this desktop's
            own saves, so screens refresh the same way whoever made the change).
        sig_refresh_all(): something may have changed that notifications did not report (the polling
            fallback fired, or the connection came back): screens reload what they show.
        sig_connection_changed(bool connected, str message): the database went away or came back.
    """

    sig_row_changed = Signal(str, int, str)
    sig_refresh_all = Signal()
    sig_connection_changed = Signal(bool, str)

    def announce(self, table: str, row_id: int, op: str = "update") -> None:
        self.sig_row_changed.emit(table, row_id, op)


@dataclass
class AppContext:
    """The signed-in session of the desktop, shared by every page."""

    settings: Settings
    db: Database
    user: SignedInUser
    runner: TaskRunner
    changes: ChangeHub
    server_label: str = ""
    # Set by the main window: open a ticket in the editor, and show a one-line message in the status bar.
    open_ticket: Callable[[int], None] = field(default=lambda _ticket_id: None)
    show_message: Callable[[str], None] = field(default=lambda _text: None)
