"""Company settings: letterhead, bank, invoicing, e-mail (SMTP) and the products' tax rates.

Every field is checked as the user types (agentdesk.services.settings.settings_problems names the field and
the fix); Save is enabled only when the whole form is valid and writes everything, tax rates included, in
one unit of work. Revert throws the edits away and reloads.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agentdesk.domain.errors import ValidationError
from agentdesk.gui.backoffice.common import (
    BackofficePage,
    FormValidator,
    button_row,
    error_text,
    field_row,
    heading,
    label,
    money,
)
from agentdesk.gui.context import AppContext
from agentdesk.services import settings as settings_service
from agentdesk.services.settings import LABELS, CompanySettingsData, ProductTax

TEXT_FIELDS = (
    "name", "address_line1", "address_line2", "postal_code", "city", "country", "vat_id", "phone", "email",
    "website", "iban", "bic", "bank_name", "currency", "invoice_series", "credit_note_series", "smtp_host",
    "smtp_sender",
)
PLACEHOLDERS = {
    "country": "CY", "currency": "EUR", "invoice_series": "INV", "credit_note_series": "CN",
    "smtp_host": "mail.example.com (empty: e-mails stay in the outbox folder)", "smtp_port": "587",
    "smtp_sender": "care@example.com", "iban": "CY17 0020 0128 0000 0012 0052 7600", "bic": "BCYPCY2N",
    "email": "billing@example.com", "website": "www.example.com",
}
GROUPS = (
    ("Letterhead", ("name", "address_line1", "address_line2", "postal_code", "city", "country", "vat_id",
                    "phone", "email", "website")),
    ("Bank details (printed on invoices)", ("iban", "bic", "bank_name")),
    ("Invoicing and offers", ("currency", "invoice_series", "credit_note_series", "payment_terms_days",
                              "offer_validity_days")),
    ("E-mail to customers (SMTP)", ("smtp_host", "smtp_port", "smtp_sender")),
)


class SettingsPage(BackofficePage):
    """Company settings editor (administrators)."""

    title = "Company settings"
    icon_name = "settings"
    roles = frozenset({"admin"})

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.loaded: CompanySettingsData | None = None
        self.products: list[ProductTax] = []
        self._filling = False
        self.summary = QLabel()
        self.summary.setStyleSheet("color:#c93c3c;")
        self.summary.hide()
        self.validator = FormValidator(self.summary, self)
        self.edits: dict[str, QLineEdit] = {}
        self.spins: dict[str, QSpinBox] = {}

        form_host = QWidget()
        grid = QGridLayout(form_host)
        grid.setContentsMargins(0, 0, 8, 0)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(12)
        boxes = [self._group(title, names) for title, names in GROUPS]
        grid.addWidget(boxes[0], 0, 0, 2, 1)
        grid.addWidget(boxes[1], 0, 1)
        grid.addWidget(boxes[2], 1, 1)
        grid.addWidget(boxes[3], 2, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self._tax_group(), 2, 1, 2, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(3, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(form_host)

        self.save_button = QPushButton("Save settings")
        self.save_button.setObjectName("primary")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(self.refresh)
        self.dirty_label = QLabel()
        self.dirty_label.setProperty("role", "hint")

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Company settings", "The letterhead and bank details printed on invoices and "
                                 "letters, invoice numbering, offer validity, e-mail delivery and tax rates."))
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.summary)
        row = button_row(self.dirty_label, self.revert_button, self.save_button, stretch_first=False)
        row.insertStretch(1, 1)
        layout.addLayout(row)

    # -- building ------------------------------------------------------------------------------------------

    def _group(self, title: str, names: tuple[str, ...]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in names:
            widget: QWidget
            if name in ("payment_terms_days", "offer_validity_days"):
                spin = QSpinBox()
                spin.setRange(0, 365) if name == "payment_terms_days" else spin.setRange(1, 365)
                spin.setSuffix(" days")
                spin.valueChanged.connect(self._edited)
                self.spins[name] = spin
                widget = spin
            else:
                edit = QLineEdit()
                edit.setObjectName(name)
                edit.setPlaceholderText(PLACEHOLDERS.get(name, ""))
                if name in settings_service.MAX_LENGTHS:
                    edit.setMaxLength(settings_service.MAX_LENGTHS[name] + 1)  # +1: let the check speak
                edit.textChanged.connect(self._edited)
                self.edits[name] = edit
                widget = edit
            required = name in settings_service.REQUIRED
            caption = LABELS[name] + (" *" if required else "")
            form.addRow(caption, field_row(widget, self.validator.add(name, widget)))
        return box

    def _tax_group(self) -> QGroupBox:
        box = QGroupBox("Tax rates by product")
        layout = QVBoxLayout(box)
        self.tax_table = QTableWidget(0, 4)
        self.tax_table.setHorizontalHeaderLabels(["Product", "Type", "Price", "Tax rate"])
        self.tax_table.verticalHeader().setVisible(False)
        self.tax_table.horizontalHeader().setStretchLastSection(False)
        self.tax_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tax_table.setMinimumHeight(240)
        self.tax_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.tax_table)
        hint = QLabel("A new rate applies to invoices issued from now on; issued invoices keep theirs.")
        hint.setWordWrap(True)
        hint.setProperty("role", "hint")
        layout.addWidget(hint)
        self.tax_spins: dict[str, QDoubleSpinBox] = {}
        return box

    # -- loading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        db = self.db

        def load() -> tuple[CompanySettingsData, list[ProductTax]]:
            return settings_service.get_settings(db), settings_service.list_products(db)

        self.call(load, self._fill, describe="load the company settings")

    def _fill(self, result: tuple[CompanySettingsData, list[ProductTax]]) -> None:
        data, products = result
        self._filling = True
        try:
            self.loaded = data
            self.products = products
            for name in TEXT_FIELDS:
                self.edits[name].setText(getattr(data, name) or "")
            self.edits["smtp_port"].setText("" if data.smtp_port is None else str(data.smtp_port))
            for name, spin in self.spins.items():
                spin.setValue(getattr(data, name))
            self.tax_table.setRowCount(len(products))
            self.tax_spins = {}
            for row, p in enumerate(products):
                self.tax_table.setItem(row, 0, QTableWidgetItem(f"{p.name} ({p.code})"))
                self.tax_table.setItem(row, 1, QTableWidgetItem(label(p.type)))
                price = QTableWidgetItem(money(p.price))
                price.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.tax_table.setItem(row, 2, price)
                rate = QDoubleSpinBox()
                rate.setDecimals(2)
                rate.setRange(0, 100)
                rate.setSuffix(" %")
                rate.setValue(float(p.tax_rate))
                rate.valueChanged.connect(self._edited)
                self.tax_table.setCellWidget(row, 3, rate)
                self.tax_spins[p.code] = rate
            for col in (1, 2):
                self.tax_table.resizeColumnToContents(col)
            self.tax_table.setColumnWidth(3, 120)
        finally:
            self._filling = False
        self._edited()

    # -- editing -------------------------------------------------------------------------------------------

    def form_data(self) -> CompanySettingsData | ValidationError:
        """The form as settings data, or the problem that stops it from being read (a non-number port)."""
        assert self.loaded is not None
        values: dict[str, Any] = {name: self.edits[name].text() for name in TEXT_FIELDS}
        for name in ("address_line2", "bic", "bank_name", "phone", "email", "website", "smtp_host", "smtp_sender"):
            values[name] = values[name].strip() or None
        values["country"] = values["country"].strip()
        values["currency"] = values["currency"].strip()
        values["iban"] = values["iban"].strip()
        port_text = self.edits["smtp_port"].text().strip()
        if port_text and not port_text.isdigit():
            return ValidationError("smtp_port", "SMTP port must be a whole number such as 587")
        values["smtp_port"] = int(port_text) if port_text else None
        for name, spin in self.spins.items():
            values[name] = spin.value()
        return dataclasses.replace(self.loaded, **values)

    def tax_rates(self) -> dict[str, Decimal]:
        rates: dict[str, Decimal] = {}
        for code, spin in self.tax_spins.items():
            try:
                rates[code] = Decimal(f"{spin.value():.2f}")
            except InvalidOperation:  # pragma: no cover - a spin box always holds a number
                continue
        return rates

    def changed_rates(self) -> dict[str, Decimal]:
        before = {p.code: p.tax_rate for p in self.products}
        return {code: rate for code, rate in self.tax_rates().items() if before.get(code) != rate}

    def problems(self) -> list[ValidationError]:
        data = self.form_data()
        if isinstance(data, ValidationError):
            return [data]
        return settings_service.settings_problems(data)

    def is_dirty(self) -> bool:
        data = self.form_data()
        if self.loaded is None:
            return False
        if isinstance(data, ValidationError):
            return True
        return dataclasses.replace(data, updated_at=None) != dataclasses.replace(self.loaded, updated_at=None) \
            or bool(self.changed_rates())

    def _edited(self, *_args: object) -> None:
        if self._filling or self.loaded is None:
            return
        valid = self.validator.show(self.problems())
        dirty = self.is_dirty()
        self.save_button.setEnabled(valid and dirty)
        self.revert_button.setEnabled(dirty)
        if not valid:
            self.dirty_label.setText(f"{len(self.validator.messages)} field(s) to fix before saving")
        else:
            self.dirty_label.setText("Unsaved changes" if dirty else "")

    def save(self) -> None:
        problems = self.problems()
        if not self.validator.show(problems):
            widget = self.validator.first_invalid()
            if widget is not None:
                widget.setFocus()
            self.say(problems[0].message, "error")
            return
        data = self.form_data()
        assert not isinstance(data, ValidationError)
        rates = self.changed_rates()
        db = self.db
        self.save_button.setEnabled(False)

        def saved(result: CompanySettingsData) -> None:
            self.say("Settings saved. New invoices and letters use them from now on.")
            self.refresh()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ValidationError):
                self.validator.show([exc])
            self.say(error_text(exc), "error")
            self._edited()

        self.call(lambda: settings_service.update_settings(db, data, tax_rates=rates), saved,
                  describe="save the company settings", on_error=failed)
