"""The page registry: the screens the main window's navigation offers, filtered by the signed-in role.

A page is a QWidget with a little metadata (see :class:`PageLike`); :class:`Page` is a convenient base.
The main window shows pages in navigation sections ("Service queues", "Back office", ...), adds a menu
action for each (with its shortcut), calls ``activate()`` whenever a page becomes the current one and
``refresh()`` when the user asks for it (F5 is "Take next"; refresh is Ctrl+R) or the connection returns.

Back-office pages come from ``agentdesk.gui.backoffice.pages(context) -> list[PageLike]`` if that module
exists (another part of the desktop writes it); the main window keeps only those whose ``roles`` include
the signed-in user's role, so a page list may be generous.

Optional extras a page may define: ``sig_badge_changed(str)`` (text shown after the title in the
navigation, e.g. a count), ``sig_status(str)`` (one line for the status bar), ``sig_title_changed(str)``
(a new navigation title) and ``section`` (the navigation heading). Live changes: a page that shows rows
others may change connects to ``context.changes`` (the ChangeHub) itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext

log = logging.getLogger(__name__)

ALL_ROLES = frozenset({"csr", "manager", "accounting", "admin"})
BACK_OFFICE_ROLES = frozenset({"manager", "accounting", "admin"})
SECTION_QUEUES = "Service queues"
SECTION_WORK = "My work"
SECTION_BACK_OFFICE = "Back office"


@runtime_checkable
class PageLike(Protocol):
    """What the main window needs from a page (it must also be a QWidget)."""

    title: str
    icon_name: str
    roles: frozenset[str]
    shortcut: str | None

    def activate(self) -> None: ...

    def refresh(self) -> None: ...


class Page(QWidget):
    """Base class for a page. Subclasses set the class attributes and override ``refresh``.

    Signals:
        sig_badge_changed(str): the navigation shows this after the title ("" for nothing).
        sig_status(str): a one-line message for the status bar.
        sig_title_changed(str): the navigation shows this new title.
    """

    title: str = ""
    icon_name: str = ""
    roles: frozenset[str] = ALL_ROLES
    shortcut: str | None = None
    section: str = SECTION_BACK_OFFICE

    sig_badge_changed = Signal(str)
    sig_status = Signal(str)
    sig_title_changed = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._activated_once = False

    def activate(self) -> None:
        """Called each time the page becomes current; loads on first use so unused pages cost nothing."""
        if not self._activated_once:
            self._activated_once = True
            self.refresh()

    def refresh(self) -> None:
        """Reload what the page shows (off the GUI thread, through context.runner)."""

    def on_row_changed(self, table: str, row_id: int, op: str) -> None:
        """A row changed somewhere (live); pages that show such rows connect this to context.changes."""


def allowed(page: object, role: str) -> bool:
    roles = getattr(page, "roles", ALL_ROLES)
    return role in roles


def back_office_pages(context: AppContext) -> list[QWidget]:
    """The pages ``agentdesk.gui.backoffice.pages(context)`` provides, if that module exists."""
    if importlib.util.find_spec("agentdesk.gui.backoffice") is None:
        return []
    try:
        module = importlib.import_module("agentdesk.gui.backoffice")
    except Exception:  # a broken back office must not stop CSRs from taking calls
        log.exception("the back-office pages could not be loaded")
        context.show_message("The back-office screens could not be loaded; see the log")
        return []
    factory = getattr(module, "pages", None)
    if factory is None:
        return []
    try:
        found: Sequence[QWidget] = factory(context)
    except Exception:
        log.exception("the back-office pages failed to build")
        context.show_message("The back-office screens failed to open; see the log")
        return []
    return [p for p in found if allowed(p, context.user.role)]
