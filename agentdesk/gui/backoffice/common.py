"""Pieces every back-office screen shares: a table model over frozen rows, form validation that names the
field and the fix, a reason dialog, banners, and small formatting helpers.

Nothing here talks to the database; screens call services through the task runner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.domain.errors import AgentDeskError, ValidationError
from agentdesk.gui import formatting
from agentdesk.gui.pages import SECTION_BACK_OFFICE, Page
from agentdesk.gui.widgets import Banner

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext

T = TypeVar("T")
AnyIndex = QModelIndex | QPersistentModelIndex

# -- formatting --------------------------------------------------------------------------------------------


def money(value: Decimal | None) -> str:
    return "—" if value is None else formatting.money(value)


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f} %"


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def label(value: str | None) -> str:
    """Vocabulary value to words: "pending_approval" -> "Pending approval"."""
    if not value:
        return "—"
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def error_text(exc: BaseException) -> str:
    """The one line a refusal shows (the database's own message for AgentDesk errors)."""
    if isinstance(exc, AgentDeskError):
        return str(exc)
    return f"Unexpected {type(exc).__name__}: {exc}"


# -- a table model over frozen rows ------------------------------------------------------------------------


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column: a title and how to read the cell text from a row; numbers align right."""

    title: str
    text: Callable[[T], str]
    numeric: bool = False
    tooltip: Callable[[T], str] | None = None
    width: int | None = None


class RowsModel(QAbstractTableModel, Generic[T]):
    """A read-only table over a list of frozen rows. `data()` answers only the roles it serves.

    Rows are plain dataclasses handed over by a service, so the model never touches the database and a
    refresh is one `set_rows` call on the GUI thread.
    """

    def __init__(self, columns: Sequence[Column[T]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._rows: list[T] = []
        self._muted: Callable[[T], bool] | None = None

    def set_rows(self, rows: Iterable[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def set_muted(self, rule: Callable[[T], bool]) -> None:
        """Rows for which `rule` is true are drawn in grey (e.g. disabled users, inactive rules)."""
        self._muted = rule

    def rows(self) -> list[T]:
        return list(self._rows)

    def row(self, index: int) -> T:
        return self._rows[index]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[index.column()].text(self._rows[index.row()])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if self._columns[index.column()].numeric:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self._columns[index.column()].tooltip
            return tip(self._rows[index.row()]) if tip else None
        if role == Qt.ItemDataRole.ForegroundRole and self._muted is not None:
            return QColor("#8a8f98") if self._muted(self._rows[index.row()]) else None
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._columns[section].title
        return None


class _ColumnFiller(QObject):
    """Gives one column the room the others leave, never less than its contents (resizing with the view).

    Qt's Stretch mode squeezes a column to nothing when the others are wide; this keeps it readable and
    lets the table scroll sideways instead.
    """

    def __init__(self, view: QTableView, column: int) -> None:
        super().__init__(view)
        self.view = view
        self.column = column
        self.content_width = 120
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fill()
        return False

    def fill(self) -> None:
        header = self.view.horizontalHeader()
        if self.column >= header.count():
            return
        others = sum(header.sectionSize(c) for c in range(header.count())
                     if c != self.column and not header.isSectionHidden(c))
        room = self.view.viewport().width() - others
        header.resizeSection(self.column, max(self.content_width, room))


def make_table(model: QAbstractTableModel, *, multi: bool = False, stretch: int | None = None) -> QTableView:
    """A table view with the house settings: whole rows selected, no per-row sizing, fixed row height.

    `stretch` names the column that takes the spare width (see `_ColumnFiller`); without it the last
    column does.
    """
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(
        QAbstractItemView.SelectionMode.ExtendedSelection if multi else QAbstractItemView.SelectionMode.SingleSelection
    )
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    # Never ResizeToContents on the vertical header: it would read every row.
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(26)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(stretch is None)
    if stretch is not None:
        filler = _ColumnFiller(view, stretch)
        view._filler = filler  # type: ignore[attr-defined]
    return view


def fit_columns(view: QTableView, minimum: int = 48, maximum: int = 320, *, stretch_min: int | None = None) -> None:
    """Size columns to their current contents once (after a load), within sensible bounds; the stretch
    column then takes whatever room is left, but no less than its contents (or `stretch_min`, when given:
    it then truncates with an ellipsis rather than make the table scroll sideways)."""
    view.resizeColumnsToContents()
    header = view.horizontalHeader()
    filler: _ColumnFiller | None = getattr(view, "_filler", None)
    for col in range(header.count()):
        size = max(minimum, min(maximum, header.sectionSize(col) + 8))
        if filler is not None and col == filler.column:
            wanted = min(int(maximum * 1.5), header.sectionSize(col) + 12)
            filler.content_width = max(minimum, wanted if stretch_min is None else min(wanted, stretch_min))
            continue
        header.resizeSection(col, size)
    if filler is not None:
        filler.fill()


def selected_rows(view: QTableView) -> list[int]:
    selection = view.selectionModel()
    if selection is None:
        return []
    return sorted({index.row() for index in selection.selectedRows()})


def select_rows(view: QTableView, rows: Iterable[int]) -> None:
    """Add whole rows to the view's selection (e.g. to keep a selection across a reload)."""
    selection = view.selectionModel()
    model = view.model()
    flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
    for row in rows:
        selection.select(model.index(row, 0), flags)


# -- messages -----------------------------------------------------------------------------------------------


def heading(text: str, sub: str = "") -> QWidget:
    """A screen title with an optional one-line explanation under it."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 4)
    layout.setSpacing(2)
    title = QLabel(text)
    title.setObjectName("pageTitle")
    title.setProperty("role", "heading")
    title.setStyleSheet("font-size:15pt;")
    layout.addWidget(title)
    if sub:
        hint = QLabel(sub)
        hint.setObjectName("pageHint")
        hint.setWordWrap(True)
        hint.setProperty("role", "hint")
        layout.addWidget(hint)
    return box


def hline() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


# -- form validation ----------------------------------------------------------------------------------------

INVALID_STYLE = "border:1px solid #c93c3c;background:rgba(201, 60, 60, 0.08);"


def _invalid_style(widget: QWidget) -> str:
    # Item views draw their check boxes with the style sheet too: give them a border only.
    if isinstance(widget, QAbstractItemView):
        return f"{type(widget).__name__} {{ border: 1px solid #c93c3c; }}"
    return INVALID_STYLE


class FormValidator(QObject):
    """Shows a form's problems next to their fields, as the user types and on save.

    Each field name maps to its input widget and a small red label under it. `show(problems)` marks the
    named fields and writes each message (naming the field and the fix); problems for fields the form does
    not show go to the form's summary label. `sig_validity_changed(bool)` lets the form enable Save.
    """

    sig_validity_changed = Signal(bool)

    def __init__(self, summary: QLabel | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, tuple[QWidget, QLabel]] = {}
        self._summary = summary
        self._valid = True
        self.messages: dict[str, str] = {}

    def add(self, name: str, widget: QWidget) -> QLabel:
        """Register a field; returns its error label, which the form places under the widget."""
        note = QLabel()
        note.setObjectName(f"error_{name}")
        note.setWordWrap(True)
        note.setStyleSheet("color:#c93c3c;font-size:9pt;")
        note.hide()
        self._fields[name] = (widget, note)
        return note

    def set_widget(self, name: str, widget: QWidget) -> None:
        """Mark `widget` (e.g. the date inside a checkbox + date row) rather than the row registered."""
        self._fields[name] = (widget, self._fields[name][1])

    def field_widget(self, name: str) -> QWidget:
        return self._fields[name][0]

    @property
    def valid(self) -> bool:
        return self._valid

    def show(self, problems: Sequence[ValidationError]) -> bool:
        """Mark the problems; returns True when there are none."""
        self.messages = {}
        for p in problems:
            self.messages.setdefault(p.field, p.message)
        loose: list[str] = []
        for name, (widget, note) in self._fields.items():
            message = self.messages.get(name)
            widget.setStyleSheet(_invalid_style(widget) if message else "")
            widget.setToolTip(message or "")
            note.setText(message or "")
            note.setVisible(bool(message))
        for name, message in self.messages.items():
            if name not in self._fields:
                loose.append(message)
        if self._summary is not None:
            self._summary.setText("\n".join(loose))
            self._summary.setVisible(bool(loose))
        valid = not problems
        if valid != self._valid:
            self._valid = valid
            self.sig_validity_changed.emit(valid)
        self._valid = valid
        return valid

    def first_invalid(self) -> QWidget | None:
        for name in self.messages:
            if name in self._fields:
                return self._fields[name][0]
        return None


def field_row(widget: QWidget, note: QLabel) -> QWidget:
    """A widget with its error label under it, for use as a QFormLayout field."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(1)
    layout.addWidget(widget)
    layout.addWidget(note)
    return box


# -- a reason, required -------------------------------------------------------------------------------------


class ReasonDialog(QDialog):
    """Asks for a reason (cancel a discount, send a ticket back). OK stays disabled until one is typed."""

    def __init__(self, title: str, prompt: str, parent: QWidget | None = None, *, action: str = "OK") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        text = QLabel(prompt)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.edit = QPlainTextEdit()
        self.edit.setPlaceholderText("Reason (required): what the customer and colleagues will read")
        self.edit.setFixedHeight(90)
        layout.addWidget(self.edit)
        self.note = QLabel("A reason is required")
        self.note.setObjectName("error_reason")
        self.note.setStyleSheet("color:#c93c3c;font-size:9pt;")
        layout.addWidget(self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(action)
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._check)

    def reason(self) -> str:
        return self.edit.toPlainText().strip()

    def _check(self) -> None:
        ok = len(self.reason()) >= 3
        self.ok_button.setEnabled(ok)
        self.note.setText("" if ok else "A reason is required: at least a few words")
        self.note.setVisible(not ok)

    def accept(self) -> None:
        if len(self.reason()) < 3:  # Enter in a field must not bypass the check
            self._check()
            return
        super().accept()

    @classmethod
    def ask(cls, title: str, prompt: str, parent: QWidget | None = None, *, action: str = "OK") -> str | None:
        """The reason, or None if the user cancelled. Tests replace this classmethod to answer."""
        dialog = cls(title, prompt, parent, action=action)
        return dialog.reason() if dialog.exec() == QDialog.DialogCode.Accepted else None


def button_row(*widgets: QWidget, stretch_first: bool = True) -> QHBoxLayout:
    row = QHBoxLayout()
    if stretch_first:
        row.addStretch(1)
    for w in widgets:
        row.addWidget(w)
    return row


# -- the base of every back-office page ---------------------------------------------------------------------


class BackofficePage(Page):
    """A back-office screen: the shell's page with the signed-in database, task runner and a message banner.

    `call(fn, on_done)` runs `fn` off the GUI thread and shows a refusal in the banner (the database's own
    message), so every screen reports errors the same way. Pages load on first activation (see `Page`).
    """

    section = SECTION_BACK_OFFICE
    roles: frozenset[str] = frozenset({"manager", "accounting", "admin"})

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.db = context.db
        self.runner = context.runner
        self.banner = Banner()
        self._proportions: list[tuple[QSplitter, tuple[float, ...]]] = []

    def proportions(self, split: QSplitter, *fractions: float) -> None:
        """Share the splitter's room in these proportions when the page is first shown (its real size)."""
        self._proportions.append((split, fractions))

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._proportions:
            QTimer.singleShot(0, self._apply_proportions)  # after the layout has given the splitters their size

    def _apply_proportions(self) -> None:
        pending, self._proportions = self._proportions, []
        for split, fractions in pending:
            total = sum(split.sizes())
            if total > 0:
                split.setSizes([int(total * f / sum(fractions)) for f in fractions])

    def call(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        *,
        describe: str = "",
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Any:
        def failed(exc: BaseException) -> None:
            if on_error is not None:
                on_error(exc)
            else:
                self.banner.show_message("error", error_text(exc))

        return self.runner.submit(fn, on_done=on_done, on_error=failed, owner=self, describe=describe)

    def say(self, text: str, kind: str = "success") -> None:
        """A message in the page's banner (also sent to the status bar for success)."""
        self.banner.show_message(kind, text)
        if kind == "success":
            self.sig_status.emit(text)
