"""The discount definitions editor: every field of a definition, checked as the user types and on save.

The checks are the domain's own (`DiscountDefinition.problems`: each names the field and the fix), plus
reading the typed text (a number that is not a number). A definition nobody has used is corrected in place;
one that has been offered or given is never changed: saving creates the next version and retires the old
one (agentdesk.services.definitions decides, the editor says so before the user saves).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agentdesk.domain.discounts import (
    ApprovalMethod,
    BillingFrequency,
    CallType,
    CardSegment,
    CustomerSegment,
    DiscountDefinition,
    DurationKind,
    EdificeType,
    ProductType,
    ValueKind,
)
from agentdesk.domain.errors import ValidationError
from agentdesk.gui.backoffice.common import (
    BackofficePage,
    Column,
    FormValidator,
    RowsModel,
    error_text,
    field_row,
    fit_columns,
    heading,
    label,
    make_table,
    selected_rows,
)
from agentdesk.services import definitions as definitions_service
from agentdesk.services import routing as routing_service
from agentdesk.services import settings as settings_service
from agentdesk.services.definitions import DefinitionInfo

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext


def value_summary(d: DiscountDefinition) -> str:
    if d.value_kind is ValueKind.PERCENTAGE and d.percentage is not None:
        return f"{d.percentage:.2f} %"
    if d.value_kind is ValueKind.AMOUNT and d.amount is not None:
        return f"{d.amount:.2f}"
    if d.value_kind is ValueKind.AMOUNT_RANGE and d.amount_min is not None and d.amount_max is not None:
        return f"{d.amount_min:.2f}–{d.amount_max:.2f}"
    if d.value_kind is ValueKind.FREE_PERIOD:
        return f"{d.free_periods} free period(s)"
    return "—"


def _summary_tip(i: DefinitionInfo) -> str:
    approval = f"approved by {i.approval_unit_name}" if i.approval_unit_name else "no approval needed"
    return f"{i.definition.name}: {value_summary(i.definition)}, {approval}"


COLUMNS: list[Column[DefinitionInfo]] = [
    Column("Code", lambda i: f"{i.code} v{i.version}", tooltip=_summary_tip),
    Column("Name", lambda i: i.definition.name, tooltip=lambda i: i.description),
    Column("Value", lambda i: value_summary(i.definition), tooltip=_summary_tip),
    Column("Status", lambda i: ("Retired" if not i.active else "In use" if i.in_use else "Unused"),
           tooltip=lambda i: "Offered or given: changes make a new version" if i.in_use else "Never offered yet"),
]

NUMBER_FIELDS = {  # field -> (label for messages, kind)
    "percentage": ("Percentage", "decimal"), "amount": ("Amount", "money"), "amount_min": ("Minimum", "money"),
    "amount_max": ("Maximum", "money"), "free_periods": ("Free periods", "int"),
    "duration_periods": ("Number of periods", "int"), "max_applications": ("Cap", "int"),
    "applications_window_months": ("Window", "int"), "max_late_payments": ("Late payments", "int"),
    "min_tenure_months": ("Tenure", "int"), "multiplier": ("Multiplier", "decimal"),
    "step_cap": ("Step cap", "money"), "term_days": ("Days to pay", "int"),
}
VALUE_FIELDS = {
    ValueKind.PERCENTAGE: ("percentage",), ValueKind.AMOUNT: ("amount",),
    ValueKind.AMOUNT_RANGE: ("amount_min", "amount_max"), ValueKind.FREE_PERIOD: ("free_periods",),
}
SET_FIELDS = {
    "product_types": ProductType, "customer_segments": CustomerSegment, "card_segments": CardSegment,
    "call_types": CallType,
}


def parse_number(field: str, text: str) -> tuple[Any, ValidationError | None]:
    """The typed text as a number (None when empty), or the problem that names the field and the fix."""
    text = text.strip().replace(",", ".")
    if not text:
        return None, None
    caption, kind = NUMBER_FIELDS[field]
    if kind == "int":
        try:
            return int(text), None
        except ValueError:
            return None, ValidationError(field, f"{caption} must be a whole number such as 3 (got '{text}')")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, ValidationError(field, f"{caption} must be a number such as 12.50 (got '{text}')")
    if not value.is_finite():
        return None, ValidationError(field, f"{caption} must be a number such as 12.50")
    if kind == "money" and value != value.quantize(Decimal("0.01")):
        return None, ValidationError(field, f"{caption} may have at most 2 decimals (got '{text}')")
    return value, None


def _check_list(values: list[tuple[str, str]]) -> QListWidget:
    box = QListWidget()
    for value, caption in values:
        item = QListWidgetItem(caption)
        item.setData(Qt.ItemDataRole.UserRole, value)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        box.addItem(item)
    box.setFixedHeight(min(24 * len(values) + 6, 120))
    return box


def _checked(box: QListWidget) -> list[str]:
    return [str(box.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(box.count())
            if box.item(i).checkState() == Qt.CheckState.Checked]


def _set_checked(box: QListWidget, values: set[str]) -> None:
    for i in range(box.count()):
        item = box.item(i)
        item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in values
                           else Qt.CheckState.Unchecked)


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


class DefinitionsPage(BackofficePage):
    """List, create and version discount definitions (managers and administrators)."""

    title = "Discount definitions"
    icon_name = "offer"
    roles = frozenset({"manager", "admin"})

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.infos: list[DefinitionInfo] = []
        self.editing: DefinitionInfo | None = None  # None while creating a new one
        self._filling = False
        self._editor_open = False

        self.model: RowsModel[DefinitionInfo] = RowsModel(COLUMNS, self)
        self.model.set_muted(lambda i: not i.active)
        self.table = make_table(self.model, stretch=1)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.show_retired = QCheckBox("Show retired versions")
        self.show_retired.toggled.connect(self.refresh)
        self.new_button = QPushButton("New definition")
        self.new_button.clicked.connect(self.new_definition)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.show_retired)
        row.addStretch(1)
        row.addWidget(self.new_button)
        left_layout.addLayout(row)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color:#c93c3c;")
        self.summary.hide()
        self.validator = FormValidator(self.summary, self)
        self.mode_label = QLabel()
        self.mode_label.setObjectName("versionNote")
        self.mode_label.setWordWrap(True)
        self.mode_label.setStyleSheet("background:rgba(213, 138, 11, 0.14);border:1px solid rgba(213, 138, 11, 0.55);"
                                      "border-radius:4px;padding:6px 8px;")
        self.editor = self._build_editor()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.editor)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(self._revert)
        self.active_button = QPushButton("Stop offering")
        self.active_button.clicked.connect(self.toggle_active)
        self.problem_count = QLabel()
        self.problem_count.setStyleSheet("color:#c93c3c;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.problem_count, 1)
        buttons.addWidget(self.active_button)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.mode_label)
        right_layout.addWidget(scroll, 1)
        right_layout.addWidget(self.summary)
        right_layout.addLayout(buttons)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        self.proportions(split, 40, 60)

        layout = QVBoxLayout(self)
        layout.addWidget(heading(
            "Discount definitions",
            "What agents may offer: value, validity, duration, cap, approval and who qualifies. A definition that "
            "has been offered is never changed: saving creates a new version, and earlier offers keep theirs.",
        ))
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        self._open_editor(False)

    # -- the form ------------------------------------------------------------------------------------------

    def _build_editor(self) -> QWidget:
        host = QWidget()
        grid = QGridLayout(host)
        grid.setContentsMargins(0, 0, 6, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(10)
        v = self.validator
        self.inputs: dict[str, QWidget] = {}

        def line(name: str, placeholder: str = "") -> QLineEdit:
            edit = QLineEdit()
            edit.setObjectName(name)
            edit.setPlaceholderText(placeholder)
            edit.textChanged.connect(self._edited)
            self.inputs[name] = edit
            return edit

        def combo(name: str, items: list[tuple[str, Any]]) -> QComboBox:
            box = QComboBox()
            box.setObjectName(name)
            # Long item texts must not widen the form past the screen: the popup still shows them whole.
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(10)
            for caption, data in items:
                box.addItem(caption, data)
            box.currentIndexChanged.connect(self._edited)
            self.inputs[name] = box
            return box

        def date_edit(name: str) -> QDateEdit:
            edit = QDateEdit()
            edit.setObjectName(name)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd/MM/yyyy")
            edit.setDate(QDate.currentDate())
            edit.dateChanged.connect(self._edited)
            self.inputs[name] = edit
            return edit

        def checkbox(name: str, caption: str) -> QCheckBox:
            box = QCheckBox(caption)
            box.setObjectName(name)
            box.toggled.connect(self._edited)
            self.inputs[name] = box
            return box

        def row(form: QFormLayout, name: str, caption: str, widget: QWidget) -> None:
            form.addRow(caption, field_row(widget, v.add(name, widget)))

        # Identity.
        ident = QGroupBox("Definition")
        f = QFormLayout(ident)
        row(f, "code", "Code", line("code", "e.g. RET-10PCT-3M"))
        row(f, "name", "Name", line("name", "what agents and customers read"))
        self.description = QPlainTextEdit()
        self.description.setFixedHeight(54)
        self.description.setPlaceholderText("When to offer it (shown to agents)")
        self.description.textChanged.connect(self._edited)
        row(f, "description", "Description", self.description)

        # Value.
        value = QGroupBox("Value")
        f = QFormLayout(value)
        row(f, "value_kind", "Kind", combo("value_kind", [(label(k.value), k) for k in ValueKind]))
        row(f, "percentage", "Percentage", line("percentage", "e.g. 15 (per cent of the charge)"))
        row(f, "amount", "Amount per period", line("amount", "e.g. 20.00"))
        pair = QWidget()
        pair_layout = QHBoxLayout(pair)
        pair_layout.setContentsMargins(0, 0, 0, 0)
        pair_layout.addWidget(line("amount_min", "min, e.g. 5.00"))
        pair_layout.addWidget(QLabel("to"))
        pair_layout.addWidget(line("amount_max", "max, e.g. 20.00"))
        f.addRow("Amount range", pair)
        f.addRow("", v.add("amount_min", self.inputs["amount_min"]))
        f.addRow("", v.add("amount_max", self.inputs["amount_max"]))
        row(f, "free_periods", "Free periods", line("free_periods", "e.g. 1"))
        row(f, "billing_frequency", "Billing frequency", combo(
            "billing_frequency", [("Any (and jobs)", None)] + [(label(b.value), b) for b in BillingFrequency]))

        # Validity and duration.
        when = QGroupBox("Validity and duration")
        f = QFormLayout(when)
        row(f, "effective_date", "Offered from", date_edit("effective_date"))
        exp = QWidget()
        exp_layout = QHBoxLayout(exp)
        exp_layout.setContentsMargins(0, 0, 0, 0)
        self.expires = checkbox("expires", "until")
        exp_layout.addWidget(self.expires)
        exp_layout.addWidget(date_edit("expiration_date"), 1)
        row(f, "expiration_date", "Expires", exp)
        v.set_widget("expiration_date", self.inputs["expiration_date"])
        row(f, "duration_kind", "Lasts", combo("duration_kind", [
            ("Once (one period or one job)", DurationKind.ONCE), ("A number of periods", DurationKind.PERIODS),
            ("Until a date", DurationKind.UNTIL_DATE)]))
        row(f, "duration_periods", "Number of periods", line("duration_periods", "e.g. 6"))
        row(f, "duration_until", "Until", date_edit("duration_until"))

        # Approval and cap.
        approval = QGroupBox("Approval and cap")
        f = QFormLayout(approval)
        row(f, "approval", "Approval", combo("approval", [("Automatic", ApprovalMethod.AUTOMATIC),
                                                          ("Manual, by a unit's manager", ApprovalMethod.MANUAL)]))
        row(f, "approval_unit", "Approving unit", combo("approval_unit", [("Choose a unit…", None)]))
        row(f, "max_applications", "Cap per customer", line("max_applications", "empty: no cap"))
        self.inputs["max_applications"].setToolTip("How many times one customer may get it within the window")
        row(f, "applications_window_months", "Within (months)", line("applications_window_months", "12"))
        row(f, "auto_apply", "", checkbox("auto_apply", "Applied by billing itself"))

        # Who qualifies: the check lists side by side, each with its caption and its message under it.
        who = QGroupBox("Who and what qualifies (nothing ticked = any)")
        who_grid = QGridLayout(who)
        who_grid.setHorizontalSpacing(10)
        self.lists: dict[str, QListWidget] = {}

        def check_column(name: str, caption: str, box: QListWidget, row_: int, col: int) -> None:
            box.setObjectName(name)
            box.itemChanged.connect(self._edited)
            box.setMinimumWidth(120)
            self.lists[name] = box
            self.inputs[name] = box
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(QLabel(caption))
            cell.addWidget(field_row(box, v.add(name, box)))
            who_grid.addLayout(cell, row_, col)

        for index, (name, caption, enum) in enumerate((
            ("product_types", "Product types", ProductType), ("customer_segments", "Customer segments",
                                                              CustomerSegment),
            ("card_segments", "Card segments", CardSegment), ("call_types", "Call types", CallType),
        )):
            check_column(name, caption, _check_list([(e.value, label(e.value)) for e in enum]), 0 if index < 2 else 1,
                         index % 2)
        self.product_codes = _check_list([])
        check_column("product_codes", "Products", self.product_codes, 0, 2)
        extra = QFormLayout()
        extra.addRow(field_row(checkbox("main_service_only", "Main service only"),
                               v.add("main_service_only", self.inputs["main_service_only"])))
        extra.addRow(field_row(checkbox("jobs_late_only", "Late jobs only"),
                               v.add("jobs_late_only", self.inputs["jobs_late_only"])))
        extra.addRow("Late payments ≤", field_row(line("max_late_payments", "any"),
                                                  v.add("max_late_payments", self.inputs["max_late_payments"])))
        extra.addRow("Tenure ≥ (months)", field_row(line("min_tenure_months", "any"),
                                                    v.add("min_tenure_months", self.inputs["min_tenure_months"])))
        who_grid.addLayout(extra, 1, 2)
        for col in range(3):
            who_grid.setColumnStretch(col, 1)

        # EDIFICE.
        edifice = QGroupBox("How billing takes it (EDIFICE)")
        f = QFormLayout(edifice)
        row(f, "edifice_type", "Type", combo("edifice_type", [
            ("Trade: deducted on the bill", EdificeType.TRADE),
            ("Term: taken at payment if paid in time", EdificeType.TERM),
            ("Cumulative term: taken at payment", EdificeType.CUMULATIVE_TERM)]))
        row(f, "term_days", "Days to pay", line("term_days", "term only, e.g. 10"))
        row(f, "multiplier", "Multiplier", line("multiplier", "1 = as is; 0.10 = a tenth"))
        row(f, "step_cap", "Step cap per period", line("step_cap", "empty: no cap"))

        grid.addWidget(ident, 0, 0, 1, 2)
        grid.addWidget(value, 1, 0)
        grid.addWidget(when, 1, 1)
        grid.addWidget(approval, 2, 0)
        grid.addWidget(edifice, 2, 1)
        grid.addWidget(who, 3, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        return host

    def _open_editor(self, enabled: bool) -> None:
        self._editor_open = enabled
        self.editor.setEnabled(enabled)
        self.revert_button.setEnabled(enabled)
        self.active_button.setEnabled(enabled and self.editing is not None)
        if not enabled:
            self.save_button.setEnabled(False)
            self.mode_label.setText("Select a definition to change it, or create a new one.")

    # -- loading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        db = self.db
        retired = self.show_retired.isChecked()

        def load() -> tuple[list[DefinitionInfo], list[Any], list[Any]]:
            return (definitions_service.list_definitions(db, include_inactive=retired),
                    routing_service.list_units(db), settings_service.list_products(db))

        self.call(load, self._show, describe="load the discount definitions")

    def _show(self, result: tuple[list[DefinitionInfo], list[Any], list[Any]], select_id: int | None = None) -> None:
        infos, units, products = result
        self.infos = infos
        unit_box = self.inputs["approval_unit"]
        assert isinstance(unit_box, QComboBox)
        if unit_box.count() == 1:
            for u in units:
                unit_box.addItem(u.name, u.code)
        if self.product_codes.count() == 0:
            for p in products:
                item = QListWidgetItem(f"{p.code} – {p.name}")
                item.setData(Qt.ItemDataRole.UserRole, p.code)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.product_codes.addItem(item)
            self.product_codes.setFixedHeight(120)
        keep = select_id if select_id is not None else (self.editing.id if self.editing else None)
        self.model.set_rows(infos)
        fit_columns(self.table, maximum=200, stretch_min=110)
        for i, info in enumerate(infos):
            if info.id == keep:
                self.table.selectRow(i)
                break

    # -- selecting, filling --------------------------------------------------------------------------------

    def _selected(self, *_args: object) -> None:
        rows = selected_rows(self.table)
        if not rows:
            return
        self.editing = self.model.row(rows[0])
        self._fill(self.editing.definition, self.editing.description)

    def new_definition(self) -> None:
        self.table.clearSelection()
        self.editing = None
        today = dt.date.today()
        blank = DiscountDefinition(code="", name="", value_kind=ValueKind.PERCENTAGE, percentage=None,
                                   effective_date=today, expiration_date=dt.date(today.year, 12, 31))
        self._fill(blank, "")
        self.inputs["code"].setFocus()

    def _revert(self) -> None:
        if self.editing is not None:
            self._fill(self.editing.definition, self.editing.description)
        else:
            self.new_definition()

    def _fill(self, d: DiscountDefinition, description: str) -> None:
        self._filling = True
        try:
            def text(name: str, value: Any) -> None:
                widget = self.inputs[name]
                assert isinstance(widget, QLineEdit)
                widget.setText("" if value is None else str(value))

            def choose(name: str, value: Any) -> None:
                widget = self.inputs[name]
                assert isinstance(widget, QComboBox)
                widget.setCurrentIndex(max(0, widget.findData(value)))

            def tick(name: str, value: bool) -> None:
                widget = self.inputs[name]
                assert isinstance(widget, QCheckBox)
                widget.setChecked(value)

            def when(name: str, value: dt.date | None) -> None:
                widget = self.inputs[name]
                assert isinstance(widget, QDateEdit)
                widget.setDate(_qdate(value or dt.date.today()))

            text("code", d.code)
            text("name", d.name)
            self.description.setPlainText(description)
            choose("value_kind", d.value_kind)
            for name in ("percentage", "amount", "amount_min", "amount_max", "free_periods", "duration_periods",
                         "max_applications", "applications_window_months", "max_late_payments",
                         "min_tenure_months", "multiplier", "step_cap", "term_days"):
                text(name, getattr(d, name))
            choose("billing_frequency", d.billing_frequency)
            when("effective_date", d.effective_date)
            tick("expires", d.expiration_date is not None)
            when("expiration_date", d.expiration_date)
            choose("duration_kind", d.duration_kind)
            when("duration_until", d.duration_until or d.expiration_date)
            choose("approval", d.approval)
            choose("approval_unit", d.approval_unit)
            for name in SET_FIELDS:
                _set_checked(self.lists[name], {str(x) for x in getattr(d, name)})
            _set_checked(self.product_codes, set(d.product_codes))
            for name in ("main_service_only", "jobs_late_only", "auto_apply"):
                tick(name, getattr(d, name))
            choose("edifice_type", d.edifice_type)
            code_edit = self.inputs["code"]
            assert isinstance(code_edit, QLineEdit)
            code_edit.setReadOnly(self.editing is not None)  # the code names every version
        finally:
            self._filling = False
        self._open_editor(True)
        self._describe_mode()
        self._edited()

    def _describe_mode(self) -> None:
        info = self.editing
        if info is None:
            self.mode_label.setText("New definition: saving creates version 1.")
            self.save_button.setText("Create definition")
            self.active_button.setText("Stop offering")
        elif info.in_use:
            self.mode_label.setText(
                f"{info.code} version {info.version} has been offered or given, so it is never changed: saving "
                f"creates version {info.version + 1} and retires version {info.version}. Offers already made "
                f"keep version {info.version}'s terms.")
            self.save_button.setText(f"Save as version {info.version + 1}")
        else:
            self.mode_label.setText(f"{info.code} version {info.version} has not been used yet: saving corrects "
                                    "it in place.")
            self.save_button.setText("Save changes")
        if info is not None:
            self.active_button.setText("Stop offering" if info.active else "Offer again")
            if not info.active:
                self.mode_label.setText(self.mode_label.text() + " This version is retired (not offered).")

    # -- reading the form ----------------------------------------------------------------------------------

    def _text(self, name: str) -> str:
        widget = self.inputs[name]
        assert isinstance(widget, QLineEdit)
        return widget.text()

    def _data(self, name: str) -> Any:
        widget = self.inputs[name]
        assert isinstance(widget, QComboBox)
        return widget.currentData()

    def _ticked(self, name: str) -> bool:
        widget = self.inputs[name]
        assert isinstance(widget, QCheckBox)
        return widget.isChecked()

    def _date(self, name: str) -> dt.date:
        widget = self.inputs[name]
        assert isinstance(widget, QDateEdit)
        return _pydate(widget.date())

    def form_definition(self) -> tuple[DiscountDefinition, list[ValidationError]]:
        """The definition the form describes, and the problems reading it (numbers that are not numbers).

        Fields that do not belong to the chosen kinds are sent empty (a percentage discount has no amount).
        """
        problems: list[ValidationError] = []
        numbers: dict[str, Any] = {}
        for name in NUMBER_FIELDS:
            value, problem = parse_number(name, self._text(name))
            numbers[name] = value
            if problem is not None:
                problems.append(problem)
        kind = ValueKind(self._data("value_kind"))
        for k, names in VALUE_FIELDS.items():
            if k is not kind:
                for name in names:
                    numbers[name] = None
        duration = DurationKind(self._data("duration_kind"))
        if duration is not DurationKind.PERIODS:
            numbers["duration_periods"] = None
        edifice = EdificeType(self._data("edifice_type"))
        if edifice is not EdificeType.TERM:
            numbers["term_days"] = None
        if numbers["applications_window_months"] is None:
            if not any(p.field == "applications_window_months" for p in problems):
                problems.append(ValidationError("applications_window_months",
                                                "Window is required: the months over which the cap counts (e.g. 12)"))
            numbers["applications_window_months"] = 12
        if numbers["multiplier"] is None:
            if not any(p.field == "multiplier" for p in problems):
                problems.append(ValidationError("multiplier", "Multiplier is required: 1 takes the value as it is"))
            numbers["multiplier"] = Decimal(1)
        approval = ApprovalMethod(self._data("approval"))
        d = DiscountDefinition(
            id=self.editing.id if self.editing else None,
            code=self._text("code").strip(), version=self.editing.version if self.editing else 1,
            name=self._text("name").strip(), value_kind=kind,
            billing_frequency=BillingFrequency(self._data("billing_frequency")) if self._data("billing_frequency") else None,
            effective_date=self._date("effective_date"),
            expiration_date=self._date("expiration_date") if self._ticked("expires") else None,
            duration_kind=duration,
            duration_until=self._date("duration_until") if duration is DurationKind.UNTIL_DATE else None,
            approval=approval,
            approval_unit=self._data("approval_unit") if approval is ApprovalMethod.MANUAL else None,
            product_types=frozenset(ProductType(x) for x in _checked(self.lists["product_types"])),
            product_codes=frozenset(_checked(self.product_codes)),
            customer_segments=frozenset(CustomerSegment(x) for x in _checked(self.lists["customer_segments"])),
            card_segments=frozenset(CardSegment(x) for x in _checked(self.lists["card_segments"])),
            call_types=frozenset(CallType(x) for x in _checked(self.lists["call_types"])),
            main_service_only=self._ticked("main_service_only"), jobs_late_only=self._ticked("jobs_late_only"),
            auto_apply=self._ticked("auto_apply"), edifice_type=edifice,
            active=self.editing.active if self.editing else True,
            **numbers,
        )
        return d, problems

    def problems(self) -> list[ValidationError]:
        d, problems = self.form_definition()
        found = list(problems)
        unreadable = {p.field for p in problems}
        found.extend(p for p in d.problems() if p.field not in unreadable)
        if len(d.code) > 40:
            found.append(ValidationError("code", "code is too long: at most 40 characters"))
        if len(d.name) > 200:
            found.append(ValidationError("name", "name is too long: at most 200 characters"))
        if self.editing is None and d.code and any(i.code == d.code for i in self.infos):
            found.append(ValidationError("code", f"code {d.code} exists: select it and save a new version instead"))
        return [_capitalised(p) for p in found]

    def changes(self) -> dict[str, Any]:
        """The fields that differ from the definition being edited (empty for a new one)."""
        if self.editing is None:
            return {}
        d, _ = self.form_definition()
        before = self.editing.definition
        return {f.name: getattr(d, f.name) for f in dataclasses.fields(d)
                if f.name not in ("id", "version", "active", "code") and getattr(d, f.name) != getattr(before, f.name)}

    def description_text(self) -> str:
        return self.description.toPlainText().strip()

    def is_dirty(self) -> bool:
        if self.editing is None:
            return True
        return bool(self.changes()) or self.description_text() != self.editing.description.strip()

    def _edited(self, *_args: object) -> None:
        if self._filling or not self._editor_open:
            return
        kind = ValueKind(self._data("value_kind"))
        for k, names in VALUE_FIELDS.items():
            for name in names:
                self.inputs[name].setEnabled(k is kind)
        self.inputs["duration_periods"].setEnabled(self._data("duration_kind") == DurationKind.PERIODS)
        self.inputs["duration_until"].setEnabled(self._data("duration_kind") == DurationKind.UNTIL_DATE)
        self.inputs["expiration_date"].setEnabled(self._ticked("expires"))
        self.inputs["approval_unit"].setEnabled(self._data("approval") == ApprovalMethod.MANUAL)
        self.inputs["term_days"].setEnabled(self._data("edifice_type") == EdificeType.TERM)
        problems = self.problems()
        valid = self.validator.show(problems)
        dirty = self.is_dirty()
        self.save_button.setEnabled(valid and dirty)
        n = len(self.validator.messages)
        self.problem_count.setText("" if valid else f"{n} field{'s' if n != 1 else ''} to fix before saving")

    # -- saving --------------------------------------------------------------------------------------------

    def save(self) -> None:
        problems = self.problems()
        if not self.validator.show(problems):
            widget = self.validator.first_invalid()
            if widget is not None:
                widget.setFocus()
            self.say(problems[0].message, "error")
            return
        db = self.db
        d, _ = self.form_definition()
        description = self.description_text()
        editing = self.editing
        changes = self.changes()
        retired = self.show_retired.isChecked()

        def work() -> tuple[DefinitionInfo, tuple[list[DefinitionInfo], list[Any], list[Any]]]:
            if editing is None:
                saved = definitions_service.create_definition(db, d, description)
            else:
                saved = definitions_service.save_changes(db, editing.id, description=description, **changes)
            return saved, (definitions_service.list_definitions(db, include_inactive=retired),
                           routing_service.list_units(db), settings_service.list_products(db))

        def done(result: tuple[DefinitionInfo, tuple[list[DefinitionInfo], list[Any], list[Any]]]) -> None:
            saved, lists = result
            if editing is not None and saved.version > editing.version:
                text = (f"{saved.code} version {saved.version} saved; version {editing.version} is retired and "
                        "keeps its offers.")
            elif editing is None:
                text = f"{saved.code} created (version 1)."
            else:
                text = f"{saved.code} version {saved.version} saved."
            self.editing = saved
            self._show(lists, saved.id)
            self.say(text)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ValidationError):
                self.validator.show([_capitalised(exc)])
            self.say(error_text(exc), "error")

        self.save_button.setEnabled(False)
        self.call(work, done, describe="save the discount definition", on_error=failed)

    def toggle_active(self) -> None:
        info = self.editing
        if info is None:
            return
        db = self.db
        retired = self.show_retired.isChecked() or info.active  # keep a just-retired row visible

        def work() -> tuple[DefinitionInfo, tuple[list[DefinitionInfo], list[Any], list[Any]]]:
            saved = definitions_service.set_definition_active(db, info.id, not info.active)
            return saved, (definitions_service.list_definitions(db, include_inactive=retired),
                           routing_service.list_units(db), settings_service.list_products(db))

        def done(result: tuple[DefinitionInfo, tuple[list[DefinitionInfo], list[Any], list[Any]]]) -> None:
            saved, lists = result
            self.editing = saved
            if not saved.active:
                self.show_retired.blockSignals(True)
                self.show_retired.setChecked(True)
                self.show_retired.blockSignals(False)
            self._show(lists, saved.id)
            self.say(f"{saved.code} version {saved.version} " + ("is offered again." if saved.active
                                                                 else "is no longer offered."))

        self.call(work, done, describe="change whether the definition is offered")


def _capitalised(p: ValidationError) -> ValidationError:
    message = p.message[:1].upper() + p.message[1:]
    return ValidationError(p.field, message)


__all__ = ["DefinitionsPage", "parse_number", "value_summary"]
