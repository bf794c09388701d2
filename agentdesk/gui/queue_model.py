"""The queue table model: a window onto a queue of any length, loaded page by page off the GUI thread.

Rows are :class:`~agentdesk.services.dto.TicketSummary` values kept in a row cache (a list plus an id
index). Pages come from ``services.queues.list_queue`` with keyset pagination: the first page on
``reload()``, the next one when the view scrolls near the end (``canFetchMore``/``fetchMore``). The texts a
row shows are computed once when it arrives, so ``data()`` is a lookup and returns early for roles it does
not serve; ages and due times are computed from a clock that ticks once a minute.

Live changes (``apply_change``): a ticket the model holds is re-read by number and updated in place,
moved, or removed if it no longer belongs (claimed, filtered out); changes to tickets it does not hold
refresh the first page (new tickets appear at their place). Every edit is a precise insert / remove /
move / dataChanged, never a reset, so the view keeps its selection and scroll position.

Sorting: the queue's own order (priority, due time, customer value, id for a service queue) comes from the
server. Clicking a column sorts the *loaded* rows by it (new pages merge in at their place); the status
text of the page says so. Sorting by the queue order again restores the server's order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QIcon

from agentdesk.gui import formatting as fmt
from agentdesk.gui.resources import icon
from agentdesk.gui.tasks import TaskHandle, TaskRunner
from agentdesk.services.dto import QueueFilter, QueueKey, QueuePage, QueueRef, TicketSummary

AnyIndex = QModelIndex | QPersistentModelIndex

PAGE_SIZE = 100
DUE_SOON_MINUTES = 60

# column id, header, tooltip
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("number", "Ticket", "Ticket number"),
    ("customer", "Customer", "Customer name"),
    ("account", "Account", "Account number"),
    ("segment", "Segment", "Customer segment"),
    ("call_type", "Call type", "Why the customer called"),
    ("channel", "Channel", "How the request came in"),
    ("state", "State", "Where the ticket is in its life cycle"),
    ("assigned", "Agent", "Who has the ticket"),
    ("priority", "Prio", "Priority: 1 is the most urgent"),
    ("age", "Age", "Time since the ticket was opened"),
    ("due", "Due", "When the ticket must be handled (overdue and due-soon tickets are marked)"),
    ("value", "Value", "Customer value"),
)
COLUMN_IDS = tuple(c[0] for c in COLUMNS)
COL = {cid: i for i, cid in enumerate(COLUMN_IDS)}
_NUMERIC = {COL["priority"], COL["value"]}

Fetch = Callable[[QueueRef, QueueFilter, "QueueKey | None", int], QueuePage]
FetchOne = Callable[[TicketSummary], "TicketSummary | None"]


def default_fetch(db: Any) -> Fetch:
    def fetch(queue: QueueRef, filters: QueueFilter, after: QueueKey | None, limit: int) -> QueuePage:
        from agentdesk.services import queues

        return queues.list_queue(db, queue, filters, after, limit)

    return fetch


def default_fetch_one(db: Any) -> FetchOne:
    def fetch_one(row: TicketSummary) -> TicketSummary | None:
        from agentdesk.domain.errors import NotFound
        from agentdesk.services import tickets

        try:
            return tickets.get_ticket(db, row.id).ticket
        except NotFound:
            return None

    return fetch_one


def queue_order_key(queue: QueueRef, row: TicketSummary) -> tuple[Any, ...]:
    """The server's order for this queue, as a Python sort key (must agree with list_queue)."""
    if queue.kind == "service":
        return (row.priority, row.due_at, -row.customer_value, row.id)
    if queue.kind == "mine":
        return (row.due_at, row.id)
    return (row.updated_at, row.id)


def belongs(queue: QueueRef, filters: QueueFilter, row: TicketSummary, user: str, now: dt.datetime) -> bool:
    """Whether a ticket belongs in this queue under these filters (mirrors list_queue's conditions)."""
    if queue.kind == "service":
        if row.state != "queued" or row.queue_unit != queue.unit_code:
            return False
    elif queue.kind == "mine":
        if row.assigned_to != user or row.state == "closed":
            return False
    elif queue.kind == "approvals":
        if row.state != "pending_approval":
            return False
    elif row.state != "accounting":
        return False
    f = filters
    if f.state and row.state != f.state:
        return False
    if f.call_type and row.call_type != f.call_type:
        return False
    if f.segment and row.segment != f.segment:
        return False
    age_min = (now - row.created_at).total_seconds() / 60
    if f.min_age_minutes is not None and age_min < f.min_age_minutes:
        return False
    if f.max_age_minutes is not None and age_min > f.max_age_minutes:
        return False
    if f.due == "overdue" and not row.due_at < now:
        return False
    if f.due == "due_soon" and not (now <= row.due_at < now + dt.timedelta(minutes=f.due_soon_minutes)):
        return False
    needle = (f.text or "").strip().lower()
    return not needle or needle in row.number.lower() or row.account_number.lower().startswith(needle) \
        or needle in row.customer_name.lower()


def due_status(row: TicketSummary, now: dt.datetime) -> str:
    """"overdue", "due_soon" or "" (closed tickets are never late)."""
    if row.state == "closed":
        return ""
    if row.due_at < now:
        return "overdue"
    if row.due_at < now + dt.timedelta(minutes=DUE_SOON_MINUTES):
        return "due_soon"
    return ""


def _texts(row: TicketSummary) -> tuple[str, ...]:
    """The fixed texts of a row (age and due are computed from the clock in data())."""
    return (
        row.number,
        row.customer_name,
        row.account_number,
        fmt.label(row.segment, fmt.SEGMENT_LABELS),
        fmt.label(row.call_type, fmt.CALL_TYPE_LABELS),
        fmt.label(row.channel, fmt.CHANNEL_LABELS),
        row.state_label,
        row.assigned_to or "",
        str(row.priority),
        "",
        "",
        fmt.money(row.customer_value),
    )


def _sort_value(row: TicketSummary, column: int) -> Any:
    cid = COLUMN_IDS[column]
    values: dict[str, Callable[[], Any]] = {
        "number": lambda: row.number,
        "customer": lambda: row.customer_name.lower(),
        "account": lambda: row.account_number,
        "segment": lambda: ("platinum", "gold", "silver", "bronze").index(row.segment)
        if row.segment in ("platinum", "gold", "silver", "bronze") else 9,
        "call_type": lambda: row.call_type,
        "channel": lambda: row.channel,
        "state": lambda: row.state,
        "assigned": lambda: row.assigned_to or "",
        "priority": lambda: row.priority,
        "age": lambda: -row.created_at.timestamp(),
        "due": lambda: row.due_at,
        "value": lambda: row.customer_value,
    }
    return values[cid]()


class QueueModel(QAbstractTableModel):
    """A queue as a table (see the module docstring).

    Signals:
        sig_loading_changed(bool): a page is being fetched / arrived.
        sig_loaded(int rows, bool more): a page arrived; `more` if the queue goes on.
        sig_failed(str): a page could not be loaded (the text is one line for the page's banner).
        sig_about_to_patch(), sig_patched(): brackets around live edits (the view keeps its scroll anchor).
    """

    sig_loading_changed = Signal(bool)
    sig_loaded = Signal(int, bool)
    sig_failed = Signal(str)
    sig_about_to_patch = Signal()
    sig_patched = Signal()

    def __init__(self, runner: TaskRunner, queue: QueueRef, user: str, *, fetch: Fetch, fetch_one: FetchOne,
                 page_size: int = PAGE_SIZE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.queue = queue
        self._user = user
        self._fetch = fetch
        self._fetch_one = fetch_one
        self.page_size = page_size
        self.filters = QueueFilter()
        self._rows: list[TicketSummary] = []
        self._texts: list[tuple[str, ...]] = []
        self._ids: dict[int, int] = {}
        self._next_key: QueueKey | None = None
        self._complete = False
        self._loading: TaskHandle | None = None
        self._generation = 0  # bumped by reload(): late pages of an older listing are dropped
        self.sort_column = -1  # -1: the queue's own order
        self.sort_order = Qt.SortOrder.AscendingOrder
        self._now = dt.datetime.now(dt.UTC)
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self.tick)
        self._clock.start()
        self._pending_ids: set[int] = set()
        self._head_refresh = QTimer(self)
        self._head_refresh.setSingleShot(True)
        self._head_refresh.setInterval(150)  # coalesce bursts of notifications into one query
        self._head_refresh.timeout.connect(self._refresh_head)
        self._overdue_brush = QBrush(QColor(201, 60, 60, 40))
        self._due_soon_brush = QBrush(QColor(213, 138, 11, 38))
        self._icons: dict[str, QIcon] = {}
        self._clock_cache: dict[int, tuple[str, str, str]] = {}

    # -- Qt model interface ------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = 0) -> Any:
        # Called for every visible cell and every role on each paint: plain int comparisons, cached texts.
        if role not in _SERVED or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if row >= len(self._rows):
            return None
        if role == _DISPLAY:
            if column in _CLOCK_COLUMNS:
                return self._clock_texts(row)[0 if column == _AGE else 1]
            return self._texts[row][column]
        if role == _ALIGNMENT:
            return _RIGHT if column in _NUMERIC else None
        if role == _BACKGROUND:
            status = self._clock_texts(row)[2]
            return self._overdue_brush if status == "overdue" else self._due_soon_brush if status else None
        if role == _DECORATION:
            if column != _DUE:
                return None
            status = self._clock_texts(row)[2]
            return (self._icon("overdue") if status == "overdue" else self._icon("due-soon")) if status else None
        if role == _USER:
            return self._rows[row]
        status = self._clock_texts(row)[2]
        if role == _TOOLTIP:
            r = self._rows[row]
            text = f"{r.number}: {r.customer_name} ({r.account_number}), {r.state_label}"
            if status == "overdue":
                text += f"\nOverdue: was due {fmt.local_time(r.due_at)}"
            elif status == "due_soon":
                text += f"\nDue soon: {fmt.local_time(r.due_at)}"
            return text
        if role == _ACCESSIBLE and column == _DUE:
            label = {"overdue": "Overdue. ", "due_soon": "Due soon. "}.get(status, "")
            return label + fmt.due_text(self._rows[row].due_at, self._now)
        return None

    def multiData(self, index: AnyIndex, span: Any) -> None:  # noqa: N802 - Qt's name
        """All the roles a delegate paints a cell with, in one call (Qt 6's item views ask this way);
        seven Python calls per visible cell would cost more than the painting itself."""
        if not index.isValid():
            return
        row, column = index.row(), index.column()
        if row >= len(self._rows):
            return
        # (agentdesk.gui guards against PySide 6.12's None reference bug, which setData hits here.)
        for k in range(span.size()):
            item = span[k]
            role = item.role()
            value: Any = None
            if role == _DISPLAY:
                if column in _CLOCK_COLUMNS:
                    value = self._clock_texts(row)[0 if column == _AGE else 1]
                else:
                    value = self._texts[row][column]
            elif role == _BACKGROUND:
                status = self._clock_texts(row)[2]
                if status:
                    value = self._overdue_brush if status == "overdue" else self._due_soon_brush
            elif role == _DECORATION:
                if column == _DUE:
                    status = self._clock_texts(row)[2]
                    if status:
                        value = self._icon("overdue") if status == "overdue" else self._icon("due-soon")
            elif role == _ALIGNMENT:
                if column in _NUMERIC:
                    value = _RIGHT
            elif role in _SERVED:
                value = self.data(index, role)
            # The caller reuses the span from cell to cell: every role must be written, or cleared.
            if value is not None:
                item.setData(value)
            else:
                item.clearData()

    def _clock_texts(self, row: int) -> tuple[str, str, str]:
        """(age, due, due status) of a row at the model's clock; cached until the clock ticks."""
        ticket = self._rows[row]
        cached = self._clock_cache.get(ticket.id)
        if cached is None:
            cached = (fmt.age(ticket.created_at, self._now), fmt.due_text(ticket.due_at, self._now),
                      due_status(ticket, self._now))
            self._clock_cache[ticket.id] = cached
        return cached

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][2]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else _NO_FLAGS

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008, N802
        if parent.isValid():
            return False
        return not self._complete and self._next_key is not None and self._loading is None

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008, N802
        if self.canFetchMore(parent):
            self._load(self._next_key)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the loaded rows by a column (-1: the queue's own order), keeping rows and selection."""
        self.sort_column, self.sort_order = column, order
        if not self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        old_ids = [self._rows[i.row()].id if i.row() < len(self._rows) else None for i in old_persistent]
        pairs = sorted(zip(self._rows, self._texts, strict=True), key=lambda p: self._key(p[0]),
                       reverse=self._reverse())
        self._rows = [p[0] for p in pairs]
        self._texts = [p[1] for p in pairs]
        self._reindex()
        for index, row_id in zip(old_persistent, old_ids, strict=True):
            if row_id is None or row_id not in self._ids:
                self.changePersistentIndex(index, QModelIndex())
            else:
                self.changePersistentIndex(index, self.index(self._ids[row_id], index.column()))
        self.layoutChanged.emit()

    # -- public API --------------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        return self._loading is not None

    @property
    def has_more(self) -> bool:
        return not self._complete and self._next_key is not None

    @property
    def local_sort(self) -> bool:
        return self.sort_column >= 0

    def row_at(self, row: int) -> TicketSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, ticket_id: int) -> int | None:
        return self._ids.get(ticket_id)

    def ids(self) -> list[int]:
        return [r.id for r in self._rows]

    def set_filters(self, filters: QueueFilter) -> None:
        if filters != self.filters:
            self.filters = filters
            self.reload()

    def reload(self) -> None:
        """Start again from the first page (filters changed, or the user asked)."""
        self._generation += 1
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None
        self._next_key = None
        self._complete = False
        self._load(None, replace=True)

    def refresh(self) -> None:
        """Re-read what is loaded (the first page, merged in place); used by polling and reconnects."""
        self._refresh_head()

    def tick(self) -> None:
        """The clock moved: ages, due times and the overdue marks change (visible cells repaint)."""
        self._now = dt.datetime.now(dt.UTC)
        self._clock_cache.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.BackgroundRole,
                                   Qt.ItemDataRole.DecorationRole])

    def apply_change(self, table: str, row_id: int | None, op: str) -> None:
        """A change notification arrived (see the module docstring)."""
        if table == "*":
            self._head_refresh.start()
            return
        if table != "ticket" or row_id is None:
            return
        held = self._ids.get(row_id)
        if held is None:
            self._head_refresh.start()  # maybe a new ticket at the head of the queue
            return
        if row_id in self._pending_ids:
            return
        self._pending_ids.add(row_id)
        current = self._rows[held]
        generation = self._generation

        def done(fresh: object) -> None:
            self._pending_ids.discard(row_id)
            if generation == self._generation:
                self._patch_one(row_id, fresh if isinstance(fresh, TicketSummary) else None)

        def failed(_exc: BaseException) -> None:
            self._pending_ids.discard(row_id)

        self._runner.submit(lambda: self._fetch_one(current), on_done=done, on_error=failed, owner=self,
                            describe="refresh a ticket")

    def upsert(self, row: TicketSummary) -> None:
        """This desktop changed a ticket: show its new state at once (the notification follows)."""
        self._patch_one(row.id, row)

    # -- loading -----------------------------------------------------------------------------------------

    def _load(self, after: QueueKey | None, *, replace: bool = False) -> None:
        queue, filters, size, generation = self.queue, self.filters, self.page_size, self._generation
        self._loading = self._runner.submit(
            lambda: self._fetch(queue, filters, after, size),
            on_done=lambda page: self._on_page(page, generation, replace),
            on_error=lambda exc: self._on_failed(exc, generation),
            owner=self,
            describe="load the queue",
        )
        self.sig_loading_changed.emit(True)

    def _on_page(self, page: object, generation: int, replace: bool) -> None:
        if generation != self._generation:
            return
        assert isinstance(page, QueuePage)
        self._loading = None
        self._next_key = page.next_key
        self._complete = page.next_key is None
        if replace:
            self._replace_all(list(page.tickets))
        else:
            self._merge_in(list(page.tickets))
        self.sig_loading_changed.emit(False)
        self.sig_loaded.emit(len(self._rows), self.has_more)

    def _on_failed(self, exc: BaseException, generation: int) -> None:
        if generation != self._generation:
            return
        from agentdesk.gui.tasks import error_line

        self._loading = None
        self.sig_loading_changed.emit(False)
        self.sig_failed.emit(error_line(exc, "load the queue"))

    def _refresh_head(self) -> None:
        """Re-read the first page and merge it: new tickets appear, gone ones leave, changed ones update."""
        if self._loading is not None:
            self._head_refresh.start()  # a page is on its way: try again right after
            return
        queue, filters, generation = self.queue, self.filters, self._generation
        size = max(self.page_size, 1)

        def done(page: object) -> None:
            if generation == self._generation:
                assert isinstance(page, QueuePage)
                self._merge_head(list(page.tickets), complete=page.next_key is None)
                if not self._rows and page.next_key is None:
                    self._complete = True
                self.sig_loaded.emit(len(self._rows), self.has_more)

        self._runner.submit(lambda: self._fetch(queue, filters, None, size), on_done=done,
                            on_error=lambda _exc: None, owner=self, describe="refresh the queue")

    # -- editing the row cache with precise signals ------------------------------------------------------

    def _key(self, row: TicketSummary) -> tuple[Any, ...]:
        if self.sort_column >= 0:
            return (_sort_value(row, self.sort_column), queue_order_key(self.queue, row))
        return queue_order_key(self.queue, row)

    def _reverse(self) -> bool:
        return self.sort_column >= 0 and self.sort_order == Qt.SortOrder.DescendingOrder

    def _reindex(self) -> None:
        self._ids = {r.id: i for i, r in enumerate(self._rows)}

    def _replace_all(self, rows: list[TicketSummary]) -> None:
        self.beginResetModel()  # a new listing (filters changed): a reset is the honest signal here
        if self.local_sort:
            rows.sort(key=self._key, reverse=self._reverse())
        self._rows = rows
        self._texts = [_texts(r) for r in rows]
        self._reindex()
        self.endResetModel()

    def _position_for(self, row: TicketSummary) -> int:
        """Where a row goes among the current rows (binary search on the sort key)."""
        key, reverse = self._key(row), self._reverse()
        lo, hi = 0, len(self._rows)
        while lo < hi:
            mid = (lo + hi) // 2
            other = self._key(self._rows[mid])
            before = other > key if reverse else other < key
            if before:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _insert(self, row: TicketSummary) -> None:
        at = self._position_for(row)
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.insert(at, row)
        self._texts.insert(at, _texts(row))
        self._reindex()
        self.endInsertRows()

    def _remove(self, position: int) -> None:
        self.beginRemoveRows(QModelIndex(), position, position)
        del self._rows[position]
        del self._texts[position]
        self._reindex()
        self.endRemoveRows()

    def _update(self, position: int, row: TicketSummary) -> None:
        """Replace a row's values; move it if its place in the order changed."""
        if self._rows[position] == row:
            return
        self._clock_cache.pop(row.id, None)
        self._rows[position] = row
        self._texts[position] = _texts(row)
        if not self._in_order(position):
            texts = self._texts[position]
            del self._rows[position]
            target = self._position_for(row)  # its index once moved (in the list without it)
            self._rows.insert(position, row)
            # Qt counts the destination before the move: one past the target when moving down.
            destination = target + 1 if target > position else target
            self.beginMoveRows(QModelIndex(), position, position, QModelIndex(), destination)
            del self._rows[position]
            del self._texts[position]
            self._rows.insert(target, row)
            self._texts.insert(target, texts)
            self._reindex()
            self.endMoveRows()
            position = target
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(COLUMNS) - 1))

    def _in_order(self, position: int) -> bool:
        key, reverse = self._key(self._rows[position]), self._reverse()

        def ok(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
            return a >= b if reverse else a <= b

        if position > 0 and not ok(self._key(self._rows[position - 1]), key):
            return False
        return not (position + 1 < len(self._rows) and not ok(key, self._key(self._rows[position + 1])))

    def _patch_one(self, row_id: int, fresh: TicketSummary | None) -> None:
        position = self._ids.get(row_id)
        keep = fresh is not None and belongs(self.queue, self.filters, fresh, self._user, self._now)
        self.sig_about_to_patch.emit()
        if position is not None and not keep:
            self._remove(position)
        elif position is not None and fresh is not None:
            self._update(position, fresh)
        elif fresh is not None and keep and self._fits_loaded_range(fresh):
            self._insert(fresh)
        self.sig_patched.emit()

    def _fits_loaded_range(self, row: TicketSummary) -> bool:
        """A row we did not hold is shown only if it sorts inside what is loaded (else a later page has it)."""
        if self._complete or not self._rows or self.local_sort:
            return True
        return queue_order_key(self.queue, row) <= queue_order_key(self.queue, self._rows[-1])

    def _merge_in(self, rows: Sequence[TicketSummary]) -> None:
        """Append a next page (in the queue order) or merge it into a locally sorted listing."""
        fresh = [r for r in rows if r.id not in self._ids]
        for r in rows:
            if r.id in self._ids:
                self._update(self._ids[r.id], r)
        if not fresh:
            return
        if not self.local_sort:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self._rows.extend(fresh)
            self._texts.extend(_texts(r) for r in fresh)
            self._reindex()
            self.endInsertRows()
            return
        for r in fresh:
            self._insert(r)

    def _merge_head(self, head: list[TicketSummary], *, complete: bool) -> None:
        """Merge a freshly read first page: rows inside its range that it lacks have left the queue."""
        self.sig_about_to_patch.emit()
        head_ids = {r.id for r in head}
        boundary = queue_order_key(self.queue, head[-1]) if head and not complete else None
        for position in range(len(self._rows) - 1, -1, -1):
            row = self._rows[position]
            inside = complete or (boundary is not None and queue_order_key(self.queue, row) <= boundary)
            if inside and row.id not in head_ids:
                self._remove(position)
        for r in head:
            held = self._ids.get(r.id)
            if held is None:
                self._insert(r)
            else:
                self._update(held, r)
        if complete:
            self._complete, self._next_key = True, None
        self.sig_patched.emit()

    def _icon(self, name: str) -> QIcon:
        if name not in self._icons:
            self._icons[name] = icon(name)
        return self._icons[name]


_AGE = COL["age"]
_DUE = COL["due"]
_CLOCK_COLUMNS = (_AGE, _DUE)
# Roles as plain ints: views pass ints, and comparing with enum members costs more than the lookup itself.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole.value)
_USER = int(Qt.ItemDataRole.UserRole.value)
_SERVED = frozenset({_DISPLAY, _DECORATION, _TOOLTIP, _ALIGNMENT, _BACKGROUND, _ACCESSIBLE, _USER})
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


def with_text(filters: QueueFilter, text: str) -> QueueFilter:
    return dataclasses.replace(filters, text=text.strip() or None)

