"""Routing rules: which queue a new ticket lands in. A list on the left, the selected rule's editor on the right.

The editor checks as the user types (agentdesk.services.routing.rule_problems); Save creates or updates the
rule in one unit of work. Managers may add and change rules; deleting is for administrators.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agentdesk.db.models.base import CALL_TYPES, CHANNELS, CUSTOMER_SEGMENTS
from agentdesk.domain.errors import ValidationError
from agentdesk.domain.money import parse_money
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
from agentdesk.gui.context import AppContext
from agentdesk.services import routing as routing_service
from agentdesk.services.routing import RuleInfo, RuleInput, UnitInfo

COLUMNS: list[Column[RuleInfo]] = [
    Column("#", lambda r: str(r.position), numeric=True),
    Column("Rule", lambda r: r.name + ("" if r.active else " (inactive)")),
    Column("When", lambda r: r.criteria_text()),
    Column("Queue", lambda r: r.unit_name),
    Column("Priority", lambda r: str(r.priority), numeric=True),
    Column("Due in", lambda r: _minutes(r.due_minutes), numeric=True),
]


def _minutes(value: int) -> str:
    if value % 60 == 0:
        return f"{value // 60} h"
    return f"{value} min"


def _combo(values: tuple[str, ...]) -> QComboBox:
    box = QComboBox()
    box.addItem("Any", None)
    for v in values:
        box.addItem(label(v), v)
    return box


class RoutingPage(BackofficePage):
    """Routing rules list and editor."""

    title = "Routing rules"
    icon_name = "queue"
    roles = frozenset({"manager", "admin"})

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        can_delete = context.user.role == "admin"
        self.can_delete = can_delete
        self.units: list[UnitInfo] = []
        self.editing: RuleInfo | None = None  # None = a new rule
        self._filling = False

        self.model: RowsModel[RuleInfo] = RowsModel(COLUMNS, self)
        self.model.set_muted(lambda r: not r.active)
        self.table = make_table(self.model, stretch=1)
        self.table.selectionModel().selectionChanged.connect(self._selected)

        self.validator = FormValidator(None, self)
        self.position = QSpinBox()
        self.position.setRange(0, 9999)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Gold cancellations, fast lane")
        self.unit = QComboBox()
        self.segment = _combo(CUSTOMER_SEGMENTS)
        self.call_type = _combo(CALL_TYPES)
        self.channel = _combo(CHANNELS)
        self.min_value = QLineEdit()
        self.min_value.setPlaceholderText("empty: any value")
        self.priority = QSpinBox()
        self.priority.setRange(0, 9)
        self.due = QSpinBox()
        self.due.setRange(0, 100000)
        self.due.setSingleStep(30)
        self.due.setSuffix(" min")
        self.active = QCheckBox("Active")

        editor = QGroupBox("Rule")
        form = QFormLayout(editor)
        for name, caption, widget in (
            ("position", "Position", self.position),
            ("name", "Name", self.name),
            ("unit_code", "Send to queue of", self.unit),
            ("segment", "Customer segment", self.segment),
            ("call_type", "Call type", self.call_type),
            ("channel", "Channel", self.channel),
            ("min_lifetime_value", "Lifetime value at least", self.min_value),
            ("priority", "Priority (1 = urgent)", self.priority),
            ("due_minutes", "Answer within", self.due),
        ):
            form.addRow(caption, field_row(widget, self.validator.add(name, widget)))
        form.addRow("", self.active)
        explain = QLabel("Rules are tried by position, lowest first; the first active rule whose criteria all "
                         "match decides the queue. 'Any' matches every value.")
        explain.setWordWrap(True)
        explain.setProperty("role", "hint")
        form.addRow(explain)

        for w in (self.name, self.min_value):
            w.textChanged.connect(self._edited)
        for s in (self.position, self.priority, self.due):
            s.valueChanged.connect(self._edited)
        for c in (self.unit, self.segment, self.call_type, self.channel):
            c.currentIndexChanged.connect(self._edited)
        self.active.toggled.connect(self._edited)

        self.new_button = QPushButton("New rule")
        self.new_button.clicked.connect(self.new_rule)
        self.save_button = QPushButton("Save rule")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete)
        self.delete_button.setVisible(can_delete)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.save_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(editor)
        right_layout.addLayout(buttons)
        right_layout.addStretch(1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Routing rules", "Which service queue a new cancellation ticket lands in, "
                                 "with what priority and how soon it must be answered."))
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        self._set_editor_enabled(False)

    # -- loading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        db = self.db
        self.call(lambda: (routing_service.list_units(db), routing_service.list_rules(db)), self._loaded_rules,
                  describe="load the routing rules")

    def _loaded_rules(self, result: tuple[list[UnitInfo], list[RuleInfo]], select_id: int | None = None) -> None:
        units, rules = result
        self.units = [u for u in units if u.is_service_queue]
        current = self.unit.currentData()
        self.unit.blockSignals(True)
        self.unit.clear()
        self.unit.addItem("Choose a queue…", "")
        for u in self.units:
            self.unit.addItem(u.name, u.code)
        self.unit.setCurrentIndex(max(0, self.unit.findData(current)))
        self.unit.blockSignals(False)
        keep = select_id if select_id is not None else (self.editing.id if self.editing else None)
        self.model.set_rows(rules)
        fit_columns(self.table)
        for row, rule in enumerate(rules):
            if rule.id == keep:
                self.table.selectRow(row)
                break

    # -- editing -------------------------------------------------------------------------------------------

    def _set_editor_enabled(self, enabled: bool) -> None:
        for w in (self.position, self.name, self.unit, self.segment, self.call_type, self.channel, self.min_value,
                  self.priority, self.due, self.active):
            w.setEnabled(enabled)
        self.save_button.setEnabled(enabled and self.validator.valid)
        self.delete_button.setEnabled(enabled and self.editing is not None)

    def _selected(self, *_args: object) -> None:
        rows = selected_rows(self.table)
        if not rows:
            return
        self.editing = self.model.row(rows[0])
        self._fill(self.editing.as_input())

    def new_rule(self) -> None:
        self.table.clearSelection()
        self.editing = None
        taken = {r.position for r in self.model.rows()}
        position = 10
        while position in taken:
            position += 10
        self._fill(RuleInput(position=position, name="", unit_code=""))
        self.name.setFocus()

    def _fill(self, rule: RuleInput) -> None:
        self._filling = True
        try:
            self.position.setValue(rule.position)
            self.name.setText(rule.name)
            self.unit.setCurrentIndex(max(0, self.unit.findData(rule.unit_code)))
            for combo, value in ((self.segment, rule.segment), (self.call_type, rule.call_type),
                                 (self.channel, rule.channel)):
                combo.setCurrentIndex(max(0, combo.findData(value)))
            self.min_value.setText("" if rule.min_lifetime_value is None else f"{rule.min_lifetime_value:.2f}")
            self.priority.setValue(rule.priority)
            self.due.setValue(rule.due_minutes)
            self.active.setChecked(rule.active)
        finally:
            self._filling = False
        self._set_editor_enabled(True)
        self._edited()

    def form_rule(self) -> RuleInput | ValidationError:
        value: Decimal | None = None
        text = self.min_value.text().strip()
        if text:
            try:
                value = parse_money(text, "Minimum lifetime value")
            except ValidationError as exc:
                return ValidationError("min_lifetime_value", exc.message)
        return RuleInput(
            position=self.position.value(), name=self.name.text(), unit_code=self.unit.currentData() or "",
            segment=self.segment.currentData(), call_type=self.call_type.currentData(),
            channel=self.channel.currentData(), min_lifetime_value=value, priority=self.priority.value(),
            due_minutes=self.due.value(), active=self.active.isChecked(),
        )

    def problems(self) -> list[ValidationError]:
        rule = self.form_rule()
        if isinstance(rule, ValidationError):
            return [rule]
        out = routing_service.rule_problems(rule)
        clash = next((r for r in self.model.rows() if r.position == rule.position
                      and (self.editing is None or r.id != self.editing.id)), None)
        if clash is not None:
            out.append(ValidationError("position", f"Position {rule.position} is taken by '{clash.name}': "
                                                   "choose a free one"))
        return out

    def _edited(self, *_args: object) -> None:
        if self._filling:
            return
        valid = self.validator.show(self.problems())
        self.save_button.setEnabled(valid and self.name.isEnabled())

    def save(self) -> None:
        problems = self.problems()
        if not self.validator.show(problems):
            self.say(problems[0].message, "error")
            return
        rule = self.form_rule()
        assert isinstance(rule, RuleInput)
        db = self.db
        editing = self.editing

        def work() -> tuple[RuleInfo, list[UnitInfo], list[RuleInfo]]:
            if editing is None:
                saved = routing_service.create_rule(db, rule)
            else:
                saved = routing_service.update_rule(db, editing.id, rule)
            return saved, routing_service.list_units(db), routing_service.list_rules(db)

        def done(result: tuple[RuleInfo, list[UnitInfo], list[RuleInfo]]) -> None:
            saved, units, rules = result
            self.editing = saved
            self.say(f"Rule '{saved.name}' saved at position {saved.position}.")
            self._loaded_rules((units, rules), saved.id)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ValidationError):
                self.validator.show([exc])
            self.say(error_text(exc), "error")

        self.call(work, done, describe="save the routing rule", on_error=failed)

    def delete(self) -> None:
        if self.editing is None:
            return
        rule = self.editing
        answer = QMessageBox.question(self, "Delete rule", f"Delete the rule '{rule.name}'? Tickets already "
                                      "routed keep their queue.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        db = self.db

        def done(result: tuple[list[UnitInfo], list[RuleInfo]]) -> None:
            self.editing = None
            self.say(f"Rule '{rule.name}' deleted.")
            self._loaded_rules(result)
            self._set_editor_enabled(False)

        def work() -> tuple[list[UnitInfo], list[RuleInfo]]:
            routing_service.delete_rule(db, rule.id)
            return routing_service.list_units(db), routing_service.list_rules(db)

        self.call(work, done, describe="delete the routing rule")
