"""A queue page: filters, search and the live table of one queue (a service queue, or "My tickets").

Keyboard: Ctrl+F goes to the search field, Enter (or a double click) opens the selected ticket, Ctrl+R
reloads, F5 anywhere takes the next ticket (main window). The filters are server-side (state, call type,
segment, age, due, text); typing in the search field waits 300 ms before it asks.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.gui import formatting as fmt
from agentdesk.gui.pages import SECTION_QUEUES, SECTION_WORK, Page
from agentdesk.gui.queue_model import COL, COLUMNS, QueueModel, default_fetch, default_fetch_one
from agentdesk.gui.widgets import Banner
from agentdesk.services.dto import STATE_LABELS, QueueFilter, QueueRef

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext
    from agentdesk.gui.queue_model import Fetch, FetchOne

AGE_CHOICES: tuple[tuple[str, int | None, int | None], ...] = (
    ("Any age", None, None),
    ("Under 1 hour", None, 60),
    ("1 to 4 hours", 60, 240),
    ("Over 4 hours", 240, None),
    ("Over 1 day", 1440, None),
)
DUE_CHOICES = (("Any due time", None), ("Overdue", "overdue"), ("Due within 1 hour", "due_soon"))
COLUMN_WIDTHS = {
    "number": 86, "customer": 170, "account": 90, "segment": 70, "call_type": 122, "channel": 64,
    "state": 110, "assigned": 100, "priority": 40, "age": 84, "due": 150, "value": 90,
}


def _combo(name: str, tooltip: str, items: list[tuple[str, Any]]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setToolTip(tooltip)
    for text, data in items:
        combo.addItem(text, data)
    return combo


class QueueTable(QTableView):
    """The table of a queue: fixed row heights (never sized to contents), Enter opens the current row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueTable")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # never ResizeToContents: it reads every row
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 10)
        horizontal = self.horizontalHeader()
        horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        horizontal.setStretchLastSection(True)
        horizontal.setHighlightSections(False)
        horizontal.setSortIndicatorShown(False)
        horizontal.setSectionsClickable(True)


class QueuePage(Page):
    """One queue, live. Signals inherited from Page: sig_badge_changed, sig_status."""

    def __init__(self, context: AppContext, queue: QueueRef, title: str, *, fetch: Fetch | None = None,
                 fetch_one: FetchOne | None = None, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.queue = queue
        self.title = title
        self.icon_name = "my-tickets" if queue.kind == "mine" else "queue"
        self.section = SECTION_WORK if queue.kind == "mine" else SECTION_QUEUES
        self.setObjectName(f"queuePage_{queue}")
        self.model = QueueModel(context.runner, queue, context.user.name,
                                fetch=fetch or default_fetch(context.db),
                                fetch_one=fetch_one or default_fetch_one(context.db), parent=self)
        self._anchor: tuple[int, int] | None = None
        self._count_text = ""
        self._build()
        self.model.sig_loaded.connect(self._on_loaded)
        self.model.sig_failed.connect(self._on_failed)
        self.model.sig_loading_changed.connect(self._on_loading)
        self.model.sig_about_to_patch.connect(self._remember_anchor)
        self.model.sig_patched.connect(self._restore_anchor)
        context.changes.sig_row_changed.connect(self.on_row_changed)
        context.changes.sig_refresh_all.connect(self._on_refresh_all)

    # layout
    def _build(self) -> None:
        self.heading = QLabel(self.title)
        self.heading.setProperty("role", "heading")
        self.count_label = QLabel()
        self.count_label.setProperty("role", "hint")
        header = QHBoxLayout()
        header.addWidget(self.heading)
        header.addSpacing(12)
        header.addWidget(self.count_label)
        header.addStretch(1)
        if self.queue.kind == "service":
            self.take_button = QPushButton("Take next ticket")
            self.take_button.setObjectName("takeNextButton")
            self.take_button.setToolTip("Claim the best ticket of your queues (F5)")
            self.take_button.clicked.connect(lambda: self.context_take_next())
            header.addWidget(self.take_button)

        self.search = QLineEdit()
        self.search.setObjectName("queueSearch")
        self.search.setPlaceholderText("Search ticket number, account or name  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(260)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(300)
        self._search_timer.timeout.connect(self._apply_filters)
        self.search.textEdited.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._apply_filters_now)
        self.search.installEventFilter(self)

        self.call_type_combo = _combo("callTypeFilter", "Only this call type",
                                      [("Any call type", None)]
                                      + [(label, key) for key, label in fmt.CALL_TYPE_LABELS.items()])
        self.segment_combo = _combo("segmentFilter", "Only customers of this segment",
                                    [("Any segment", None)]
                                    + [(label, key) for key, label in fmt.SEGMENT_LABELS.items()])
        self.due_combo = _combo("dueFilter", "Only overdue tickets, or those due within the hour",
                                [(text, key) for text, key in DUE_CHOICES])
        self.age_combo = _combo("ageFilter", "How long ago the ticket was opened",
                                [(text, (lo, hi)) for text, lo, hi in AGE_CHOICES])
        self.state_combo = _combo("stateFilter", "Only tickets in this state",
                                  [("Any state", None)] + [(label, key) for key, label in STATE_LABELS.items()
                                                           if key != "closed"])
        self.state_combo.setVisible(self.queue.kind == "mine")
        for combo in (self.call_type_combo, self.segment_combo, self.due_combo, self.age_combo, self.state_combo):
            combo.currentIndexChanged.connect(self._apply_filters)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.setToolTip("Show the whole queue again (Ctrl+Shift+L)")
        self.clear_button.clicked.connect(self.clear_filters)
        QShortcut(QKeySequence("Ctrl+Shift+L"), self, self.clear_filters)

        filters = QHBoxLayout()
        filters.setSpacing(6)
        filters.addWidget(self.search, 2)
        for combo in (self.state_combo, self.call_type_combo, self.segment_combo, self.age_combo, self.due_combo):
            filters.addWidget(combo)
        filters.addWidget(self.clear_button)

        self.banner = Banner()
        self.table = QueueTable()
        self.table.setModel(self.model)
        for cid, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(COL[cid], width)
        if self.queue.kind == "service":
            self.table.setColumnHidden(COL["assigned"], True)  # nobody has a queued ticket
            self.table.setColumnHidden(COL["state"], True)
        self.table.horizontalHeader().sectionClicked.connect(self._on_header_clicked)
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.table.installEventFilter(self)
        self.footer = QLabel()
        self.footer.setObjectName("queueFooter")
        self.footer.setProperty("role", "hint")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addLayout(filters)
        layout.addWidget(self.banner)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.footer)
        QShortcut(QKeySequence.StandardKey.Find, self, self.focus_search)

    # Page
    def activate(self) -> None:
        super().activate()
        self.table.setFocus()

    def refresh(self) -> None:
        self.banner.clear()
        self.model.reload()

    def on_row_changed(self, table: str, row_id: int, op: str) -> None:
        self.model.apply_change(table, row_id, op)

    def _on_refresh_all(self) -> None:
        if self._activated_once:
            self.model.refresh()

    # actions
    def context_take_next(self) -> None:
        take = getattr(self.window(), "take_next", None)
        if callable(take):
            take()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def selected_row(self) -> int | None:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else None

    def open_row(self, row: int) -> None:
        ticket = self.model.row_at(row)
        if ticket is not None:
            self.context.open_ticket(ticket.id)

    def clear_filters(self) -> None:
        for combo in (self.call_type_combo, self.segment_combo, self.due_combo, self.age_combo, self.state_combo):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self.search.clear()
        self._apply_filters()

    def current_filters(self) -> QueueFilter:
        lo, hi = self.age_combo.currentData() or (None, None)
        return dataclasses.replace(
            QueueFilter(),
            state=self.state_combo.currentData() if self.queue.kind == "mine" else None,
            call_type=self.call_type_combo.currentData(),
            segment=self.segment_combo.currentData(),
            min_age_minutes=lo,
            max_age_minutes=hi,
            due=self.due_combo.currentData(),
            text=self.search.text().strip() or None,
        )

    def _apply_filters_now(self) -> None:
        self._search_timer.stop()
        self._apply_filters()

    def _apply_filters(self) -> None:
        self._search_timer.stop()
        self.model.set_filters(self.current_filters())

    def _on_header_clicked(self, section: int) -> None:
        """Ascending, then descending, then back to the queue's own order."""
        header = self.table.horizontalHeader()
        if self.model.sort_column != section:
            order = Qt.SortOrder.AscendingOrder
        elif self.model.sort_order == Qt.SortOrder.AscendingOrder:
            order = Qt.SortOrder.DescendingOrder
        else:
            self.model.sort(-1)
            header.setSortIndicatorShown(False)
            self._update_footer()
            return
        self.model.sort(section, order)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(section, order)
        self._update_footer()

    # model feedback
    def _on_loading(self, loading: bool) -> None:
        if loading and self.model.rowCount() == 0:
            self.footer.setText("Loading…")

    def _on_loaded(self, _rows: int, _more: bool) -> None:
        self.banner.clear()
        if self.table.currentIndex().row() < 0 and self.model.rowCount() > 0:
            self.table.selectRow(0)
        self._update_footer()

    def _on_failed(self, message: str) -> None:
        self.banner.show_error(message, [("Try again", self.refresh)])
        self._update_footer()

    def _update_footer(self) -> None:
        rows = self.model.rowCount()
        if rows == 0 and not self.model.loading:
            text = "No tickets match the filters" if self.current_filters() != QueueFilter() else "The queue is empty"
        else:
            text = f"{rows:,} ticket{'s' if rows != 1 else ''} shown"
            if self.model.has_more:
                text += " · scroll down for more"
        if self.model.local_sort:
            text += f" · sorted by {COLUMNS[self.model.sort_column][1].lower()} among the loaded tickets" \
                    " (click the header again for the queue order)"
        self.footer.setText(text)

    def set_counts(self, waiting: int, overdue: int = 0, cap: int | None = None) -> None:
        """Counts from the navigation's queue_counts: shown in the heading and as the navigation badge.
        Big queues are counted up to ``cap`` only ("10,000+"): counting a million rows helps nobody."""

        def n(value: int) -> str:
            return f"{value:,}+" if cap is not None and value >= cap else f"{value:,}"

        if self.queue.kind == "mine":
            text = f"{n(waiting)} open"
            badge = n(waiting) if waiting else ""
        else:
            text = f"{n(waiting)} waiting" + (f" · {n(overdue)} overdue" if overdue else "")
            badge = n(waiting) + (f" · {n(overdue)} late" if overdue else "") if waiting else ""
        self.count_label.setText(text)
        if badge != self._count_text:
            self._count_text = badge
            self.sig_badge_changed.emit(badge)

    # keep the first visible ticket where it was while rows come and go above it
    def _remember_anchor(self) -> None:
        top = self.table.rowAt(0)
        ticket = self.model.row_at(top) if top >= 0 else None
        self._anchor = (ticket.id, self.table.rowViewportPosition(top)) if ticket is not None else None

    def _restore_anchor(self) -> None:
        if self._anchor is None:
            return
        ticket_id, offset = self._anchor
        self._anchor = None
        row = self.model.row_of(ticket_id)
        if row is None:
            return
        bar = self.table.verticalScrollBar()
        target = self.table.verticalHeader().sectionPosition(row) - offset
        if bar.value() != target:
            bar.setValue(max(0, target))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if watched is self.table and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                row = self.selected_row()
                if row is not None:
                    self.open_row(row)
                    return True
            if watched is self.search and key == Qt.Key.Key_Down:
                self.table.setFocus()  # from the search field straight into the results
                return True
        return super().eventFilter(watched, event)
