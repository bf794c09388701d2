"""The main window: navigation by role, menus and toolbar with a keyboard path for everything, status bar.

Navigation (left): "My work" (My tickets), "Service queues" (one page per service queue, with live counts),
the back-office pages for managers, accounting and administrators, and "Open tickets" (one editor per
ticket opened). Pages get Ctrl+1..Ctrl+9 in that order; Ctrl+PgDown / Ctrl+PgUp step through them.

The one key that matters most: **F5 takes the next ticket** (the best one of the agent's queues) and opens
it. Ctrl+R refreshes the current page, Ctrl+G goes to a ticket by number, Ctrl+W closes the open ticket,
F1 lists every shortcut.

The status bar shows what the desktop is doing, the connection (with an icon, not only a colour) and who
is signed in. When the database drops, pages keep what they show and editors keep what was typed; the
connection monitor reconnects by itself and every page refreshes once it is back.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from agentdesk.gui.pages import SECTION_BACK_OFFICE, SECTION_QUEUES, SECTION_WORK, back_office_pages
from agentdesk.gui.queue_page import QueuePage
from agentdesk.gui.resources import icon
from agentdesk.gui.tasks import error_line
from agentdesk.services.dto import QueueCounts, QueueRef, TicketSummary

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext
    from agentdesk.gui.ticket_editor import TicketEditorPage

log = logging.getLogger(__name__)

SECTION_OPEN = "Open tickets"
SECTION_ORDER = (SECTION_WORK, SECTION_QUEUES, SECTION_BACK_OFFICE, SECTION_OPEN)
TAKE_NEXT_KEY = "F5"
COUNTS_INTERVAL_MS = 20_000
PAGE_ROLE = Qt.ItemDataRole.UserRole + 1


class MainWindow(QMainWindow):
    """Signals:
    sig_sign_out_requested(): the user chose File > Sign out (the application shows the sign-in again).
    """

    sig_sign_out_requested = Signal()

    def __init__(self, context: AppContext, *, live: bool = True, counts: QueueCounts | None = None,
                 units: tuple[Any, ...] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        context.open_ticket = self.open_ticket
        context.show_message = self.show_message
        self.sign_out_requested = False
        self._pages: list[QWidget] = []
        self._items: dict[int, QListWidgetItem] = {}
        self._titles: dict[int, str] = {}
        self._queue_pages: dict[str, QueuePage] = {}
        self._editors: dict[int, TicketEditorPage] = {}
        self._taking = False
        self._page_actions: list[QAction] = []
        self._sections: dict[str, QListWidgetItem] = {}
        self.setWindowTitle(f"AgentDesk: {context.user.display_name}")
        self.setWindowIcon(icon("app"))
        self.resize(1280, 800)
        self._build()
        self._add_work_pages()
        # Queue pages at once from the units read at sign-in (counts follow in the background).
        self._add_queue_pages([(u.code, u.name) for u in units if getattr(u, "is_service_queue", False)])
        if counts is not None:
            self._on_counts(counts)
        for page in back_office_pages(context):
            self.add_page(page)
        self._counts_timer = QTimer(self)
        self._counts_timer.setInterval(COUNTS_INTERVAL_MS)
        self._counts_timer.timeout.connect(self.refresh_counts)
        self._counts_timer.start()
        self._counts_soon = QTimer(self)
        self._counts_soon.setSingleShot(True)
        self._counts_soon.setInterval(400)  # many changes in a burst: count once
        self._counts_soon.timeout.connect(self.refresh_counts)
        context.changes.sig_row_changed.connect(self._on_row_changed)
        context.changes.sig_refresh_all.connect(self._counts_soon.start)
        context.changes.sig_connection_changed.connect(self._on_connection_changed)
        context.runner.sig_task_failed.connect(self.show_error)
        context.runner.sig_busy_changed.connect(self._on_busy)
        from agentdesk.gui.live import LiveUpdates

        self.live = LiveUpdates(context, self, listen=live)
        self.live.start()
        self.refresh_counts()
        first = self._initial_page()
        if first is not None:
            self.show_page(first)

    # -- layout --------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setIconSize(QSize(18, 18))
        self.navigation.setMinimumWidth(210)
        self.navigation.setMaximumWidth(320)
        self.navigation.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.navigation.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.navigation.currentItemChanged.connect(self._on_nav_changed)
        self.stack = QStackedWidget()
        self.stack.setObjectName("pageStack")
        splitter = QSplitter()
        splitter.addWidget(self.navigation)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 1050])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()

    def _action(self, text: str, slot: Any, shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
                icon_name: str = "",
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        tip = tip or text.replace("&", "").rstrip("…")
        action.setToolTip(f"{tip} ({keys})" if keys else tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the toolbar is hidden
        return action

    def _build_actions(self) -> None:
        self.take_next_action = self._action(
            "&Take next ticket", self.take_next, TAKE_NEXT_KEY, "take-next",
            "Claim the best ticket of your queues and open it")
        self.refresh_action = self._action("&Refresh", self.refresh_current, "Ctrl+R", "refresh",
                                           "Reload the current page")
        self.goto_action = self._action("&Go to ticket…", self.focus_goto, "Ctrl+G", "search",
                                        "Open a ticket by its number")
        self.close_ticket_action = self._action("&Close ticket", self.close_current_ticket, "Ctrl+W", "",
                                                "Close the open ticket (its draft is kept)")
        self.next_page_action = self._action("Next page", lambda: self._step_page(1), "Ctrl+PgDown")
        self.previous_page_action = self._action("Previous page", lambda: self._step_page(-1), "Ctrl+PgUp")
        self.focus_nav_action = self._action("Go to navigation", self.navigation.setFocus, "Ctrl+0", "",
                                             "Move the keyboard focus to the navigation")
        self.sign_out_action = self._action("Sign &out", self.sign_out, "Ctrl+Shift+Q", "sign-out",
                                            "Sign out and show the sign-in again")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")  # explicit: some platforms define no Quit key
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts, "F1", "help",
                                             "List every keyboard shortcut")
        self.about_action = self._action("&About AgentDesk", self.show_about)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.sign_out_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        ticket_menu = bar.addMenu("&Tickets")
        ticket_menu.addAction(self.take_next_action)
        ticket_menu.addAction(self.goto_action)
        ticket_menu.addAction(self.close_ticket_action)
        self.go_menu = bar.addMenu("&Go")
        self.go_menu.addAction(self.focus_nav_action)
        self.go_menu.addAction(self.next_page_action)
        self.go_menu.addAction(self.previous_page_action)
        self.go_menu.addSeparator()
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.refresh_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.take_next_action)
        toolbar.addAction(self.refresh_action)
        toolbar.addSeparator()
        self.goto_edit = QLineEdit()
        self.goto_edit.setObjectName("gotoTicket")
        self.goto_edit.setPlaceholderText("Go to ticket number  (Ctrl+G)")
        self.goto_edit.setMaximumWidth(240)
        self.goto_edit.setClearButtonEnabled(True)
        self.goto_edit.returnPressed.connect(self.go_to_ticket)
        toolbar.addWidget(self.goto_edit)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(90)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self._busy_delay = QTimer(self)
        self._busy_delay.setSingleShot(True)
        self._busy_delay.setInterval(400)  # quick work should not make the bar flicker
        self._busy_delay.timeout.connect(self.busy_bar.show)
        self.connection_icon = QLabel()
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connectionLabel")
        self.user_label = QLabel()
        self.user_label.setObjectName("userLabel")
        user = self.context.user
        self.user_label.setText(f"{user.display_name} · {user.role_label}")
        self.user_label.setToolTip(f"Signed in as {user.name} on {self.context.server_label or 'the server'}")
        status.addPermanentWidget(self.busy_bar)
        status.addPermanentWidget(self.connection_icon)
        status.addPermanentWidget(self.connection_label)
        status.addPermanentWidget(self.user_label)
        self._set_connection(True, f"Connected to {self.context.server_label or 'the database'}")

    # -- pages ---------------------------------------------------------------------------------------------

    def _add_work_pages(self) -> None:
        mine = QueuePage(self.context, QueueRef("mine"), "My tickets")
        self._queue_pages["mine"] = mine
        self.add_page(mine)

    def _add_queue_pages(self, units: list[tuple[str, str]]) -> None:
        """One page per service queue (code, name): the agent's own teams first, then the others."""
        own = set(self.context.user.units)
        for code, name in sorted(units, key=lambda u: (u[0] not in own, u[1])):
            if code not in self._queue_pages:
                page = QueuePage(self.context, QueueRef.service(code), name)
                self._queue_pages[code] = page
                self.add_page(page)

    def _on_counts(self, counts: object) -> None:
        if not isinstance(counts, QueueCounts):
            return
        self._add_queue_pages([(u.unit_code, u.unit_name) for u in counts.units])
        for unit in counts.units:
            self._queue_pages[unit.unit_code].set_counts(unit.queued, unit.overdue, getattr(unit, "cap", None))
        self._queue_pages["mine"].set_counts(counts.mine)

    def _initial_page(self) -> QWidget | None:
        """An agent starts on his own team's queue; anyone else on the first page of the navigation."""
        for unit in self.context.user.units:
            page = self._queue_pages.get(unit)
            if page is not None:
                return page
        pages = self.pages_in_order()
        return pages[0] if pages else None

    def refresh_counts(self) -> None:
        from agentdesk.services import queues

        db = self.context.db
        self.context.runner.submit(lambda: queues.queue_counts(db), on_done=self._on_counts,
                                   on_error=lambda _exc: None, owner=self, describe="count the queues")

    def add_page(self, page: QWidget) -> None:
        """Put a page in the navigation under its section (sections keep their order)."""
        section = str(getattr(page, "section", SECTION_BACK_OFFICE))
        title = str(getattr(page, "title", "") or page.objectName())
        self._pages.append(page)
        self.stack.addWidget(page)
        header_row = self._section_row(section)
        row = header_row + 1
        while row < self.navigation.count() and self.navigation.item(row).data(PAGE_ROLE) is not None:
            row += 1
        item = QListWidgetItem(icon(str(getattr(page, "icon_name", "") or "queue")), title)
        item.setData(PAGE_ROLE, id(page))
        item.setToolTip(title)
        self.navigation.insertItem(row, item)
        self._items[id(page)] = item
        self._titles[id(page)] = title
        badge = getattr(page, "sig_badge_changed", None)
        if badge is not None:
            badge.connect(lambda text, p=page: self._set_badge(p, text))
        status = getattr(page, "sig_status", None)
        if status is not None:
            status.connect(self.show_message)
        retitle = getattr(page, "sig_title_changed", None)
        if retitle is not None:
            retitle.connect(lambda text, p=page: self._set_title(p, text))
        self._renumber()

    def remove_page(self, page: QWidget) -> None:
        item = self._items.pop(id(page), None)
        if item is not None:
            self.navigation.takeItem(self.navigation.row(item))
        self._titles.pop(id(page), None)
        if page in self._pages:
            self._pages.remove(page)
        self.stack.removeWidget(page)
        # Drop a section header left with no pages under it.
        for section, header in list(self._sections.items()):
            nxt = self.navigation.item(self.navigation.row(header) + 1)
            if nxt is None or nxt.data(PAGE_ROLE) is None:
                self.navigation.takeItem(self.navigation.row(header))
                del self._sections[section]
        page.deleteLater()
        self._renumber()

    def _section_row(self, section: str) -> int:
        """The row of a section's header, created at its place in SECTION_ORDER if needed."""
        if section in self._sections:
            return self.navigation.row(self._sections[section])

        def rank(name: str) -> int:
            return SECTION_ORDER.index(name) if name in SECTION_ORDER else len(SECTION_ORDER)

        insert_at = self.navigation.count()
        for other, item in self._sections.items():
            if rank(other) > rank(section):
                insert_at = min(insert_at, self.navigation.row(item))
        header = QListWidgetItem(section.upper())
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        font = QFont(header.font())
        font.setBold(True)
        font.setPointSizeF(max(font.pointSizeF() - 1, 7))
        header.setFont(font)
        self.navigation.insertItem(insert_at, header)
        self._sections[section] = header
        return insert_at

    def _renumber(self) -> None:
        """Ctrl+1..Ctrl+9 follow the navigation order; the Go menu lists them."""
        for action in self._page_actions:
            self.go_menu.removeAction(action)
            self.removeAction(action)
            action.deleteLater()
        self._page_actions = []
        for n, page in enumerate(self.pages_in_order()[:9], start=1):
            title = self._titles.get(id(page), "")
            action = self._action(title.replace("&", "&&"), lambda _c=False, p=page: self.show_page(p), f"Ctrl+{n}",
                                  str(getattr(page, "icon_name", "")), f"Show {title}")
            self.go_menu.addAction(action)
            self._page_actions.append(action)
            item = self._items.get(id(page))
            if item is not None:
                item.setToolTip(f"{title} (Ctrl+{n})")

    def pages_in_order(self) -> list[QWidget]:
        by_id = {id(p): p for p in self._pages}
        out = []
        for row in range(self.navigation.count()):
            key = self.navigation.item(row).data(PAGE_ROLE)
            if key is not None and key in by_id:
                out.append(by_id[key])
        return out

    def _set_title(self, page: QWidget, title: str) -> None:
        if id(page) in self._titles and self._titles[id(page)] != title:
            self._titles[id(page)] = title
            self._set_badge(page, "")
            self._renumber()

    def _set_badge(self, page: QWidget, text: str) -> None:
        item = self._items.get(id(page))
        if item is not None:
            title = self._titles.get(id(page), "")
            item.setText(f"{title}  ({text})" if text else title)

    def show_page(self, page: QWidget) -> None:
        item = self._items.get(id(page))
        if item is not None and self.navigation.currentItem() is not item:
            self.navigation.setCurrentItem(item)
            return  # _on_nav_changed does the rest
        self.stack.setCurrentWidget(page)
        activate = getattr(page, "activate", None)
        if callable(activate):
            activate()

    def current_page(self) -> QWidget | None:
        return self.stack.currentWidget()

    def _on_nav_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is None:
            return
        key = current.data(PAGE_ROLE)
        page = next((p for p in self._pages if id(p) == key), None)
        if page is not None:
            self.show_page(page)

    def _step_page(self, step: int) -> None:
        pages = self.pages_in_order()
        if not pages:
            return
        current = self.current_page()
        index = pages.index(current) if current in pages else 0
        self.show_page(pages[(index + step) % len(pages)])

    def queue_page(self, key: str) -> QueuePage | None:
        """The page of a queue: "mine" or a unit code."""
        return self._queue_pages.get(key)

    # -- tickets -------------------------------------------------------------------------------------------

    def take_next(self) -> None:
        """F5: claim the best ticket of my queues and open it."""
        if self._taking:
            return
        self._taking = True
        self.show_message("Taking the next ticket…")
        from agentdesk.services import queues

        db = self.context.db
        self.context.runner.submit(lambda: queues.take_next(db), on_done=self._on_taken,
                                   on_error=self._on_take_failed, owner=self, describe="take the next ticket")

    def _on_taken(self, ticket: object) -> None:
        self._taking = False
        if ticket is None:
            self.show_message("Your queues are empty: there is no ticket to take")
            return
        assert isinstance(ticket, TicketSummary)
        self.show_message(f"Took {ticket.number}: {ticket.customer_name}")
        self.context.changes.announce("ticket", ticket.id)
        self.open_ticket(ticket.id)

    def _on_take_failed(self, exc: BaseException) -> None:
        self._taking = False
        self.show_error(error_line(exc, "take the next ticket"))

    def open_ticket(self, ticket_id: int) -> None:
        editor = self._editors.get(ticket_id)
        if editor is None:
            from agentdesk.gui.ticket_editor import TicketEditorPage

            editor = TicketEditorPage(self.context, ticket_id)
            editor.sig_closed.connect(lambda e=editor: self._on_editor_closed(e))
            self._editors[ticket_id] = editor
            self.add_page(editor)
        self.show_page(editor)

    def editor(self, ticket_id: int) -> TicketEditorPage | None:
        return self._editors.get(ticket_id)

    def close_current_ticket(self) -> None:
        page = self.current_page()
        if page is not None and page in self._editors.values():
            page.close_editor()  # type: ignore[attr-defined]

    def _on_editor_closed(self, editor: TicketEditorPage) -> None:
        self._editors.pop(editor.ticket_id, None)
        pages = self.pages_in_order()
        index = pages.index(editor) if editor in pages else 0
        self.remove_page(editor)
        remaining = self.pages_in_order()
        if remaining:
            mine = self._queue_pages.get("mine")
            self.show_page(mine if mine in remaining else remaining[max(0, index - 1)])

    def focus_goto(self) -> None:
        self.goto_edit.setFocus()
        self.goto_edit.selectAll()

    def go_to_ticket(self) -> None:
        number = self.goto_edit.text().strip()
        if not number:
            return
        from agentdesk.services import tickets

        db = self.context.db

        def found(summary: object) -> None:
            assert isinstance(summary, TicketSummary)
            self.goto_edit.clear()
            self.open_ticket(summary.id)

        self.context.runner.submit(lambda: tickets.find_ticket(db, number), on_done=found,
                                   on_error=lambda exc: self.show_error(error_line(exc, "find the ticket")),
                                   owner=self, describe="find the ticket")

    def refresh_current(self) -> None:
        page = self.current_page()
        refresh = getattr(page, "refresh", None)
        if callable(refresh):
            refresh()
        self.refresh_counts()

    # -- messages and state --------------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def show_error(self, text: str) -> None:
        self.statusBar().showMessage(f"⚠ {text}", 15000)

    def _on_busy(self, busy: bool) -> None:
        if busy:
            self._busy_delay.start()
        else:
            self._busy_delay.stop()
            self.busy_bar.hide()

    def _on_row_changed(self, table: str, _row_id: int, _op: str) -> None:
        if table == "ticket":
            self._counts_soon.start()

    def _on_connection_changed(self, connected: bool, message: str) -> None:
        self._set_connection(connected, message)
        if connected:
            self.show_message("Connected to the database again; pages are refreshing")
        else:
            self.show_error(f"{message}. What you type is kept; it will be saved when the database is back")

    def _set_connection(self, connected: bool, message: str) -> None:
        self.connection_icon.setPixmap(icon("connected" if connected else "disconnected").pixmap(14, 14))
        self.connection_label.setText("Connected" if connected else "Disconnected: reconnecting…")
        self.connection_label.setToolTip(message)
        self.connection_label.setProperty("connected", connected)

    @property
    def connected(self) -> bool:
        return bool(self.live.monitor.connected)

    # -- help ----------------------------------------------------------------------------------------------

    def shortcut_list(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        seen: set[str] = set()
        for action in self.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
            if keys and (text, keys) not in {(r[0], r[1]) for r in rows} and keys not in seen:
                seen.add(keys)
                rows.append((text, keys))
        rows += [
            ("Open the selected ticket (queue)", "Enter"),
            ("Search the queue", "Ctrl+F"),
            ("Clear the queue filters", "Ctrl+Shift+L"),
        ]
        page = self.current_page()
        extra = getattr(page, "shortcut_list", None)
        if callable(extra):
            rows += list(extra())
        return rows

    def show_shortcuts(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(0, 2)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().setVisible(False)
        for text, keys in self.shortcut_list():
            row = table.rowCount()
            table.insertRow(row)
            table.setItem(row, 0, QTableWidgetItem(text))
            table.setItem(row, 1, QTableWidgetItem(keys))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(buttons)
        dialog.resize(460, 520)
        dialog.exec()

    def show_about(self) -> None:
        from agentdesk import __version__

        QMessageBox.about(self, "About AgentDesk",
                          f"<b>AgentDesk {__version__}</b><p>Retention desk for call centres.</p>")

    # -- leaving -------------------------------------------------------------------------------------------

    def sign_out(self) -> None:
        self.sign_out_requested = True
        self.sig_sign_out_requested.emit()
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        for editor in list(self._editors.values()):
            editor.flush_draft()
        self._counts_timer.stop()
        self.live.stop()
        # Let in-flight saves finish (bounded): closing must not cut a unit of work in half.
        self.context.runner.wait_for_done(5000)
        super().closeEvent(event)
