"""Small dialogs of the ticket screen. Each has a classmethod ``ask`` so tests can answer it in one place.

``ask`` opens the dialog modally and returns the answer (None / False when cancelled). The keyboard path
is always: type or pick, then Enter (the default button), or Esc to cancel.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

VERIFY_LABELS = {
    "security_question": "Security question answered",
    "pin": "Account PIN given",
    "date_of_birth_and_address": "Date of birth and address confirmed",
    "callback": "Called back on the number on file",
    "email_link": "Confirmed through a link sent to the e-mail on file",
    "in_person": "Identity document shown in person",
}


class VerifyDialog(QDialog):
    """How the caller proved to be the account holder."""

    def __init__(self, customer: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Verify the caller")
        self.method = QComboBox()
        self.method.setObjectName("verifyMethod")
        for key, text in VERIFY_LABELS.items():
            self.method.addItem(text, key)
        intro = QLabel(f"Confirm that the caller is <b>{customer}</b>, the account holder. How did they prove it?")
        intro.setWordWrap(True)
        buttons = QDialogButtonBox()
        ok = buttons.addButton("Caller verified", QDialogButtonBox.ButtonRole.AcceptRole)
        ok.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&Method:", self.method)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)

    @classmethod
    def ask(cls, customer: str, parent: QWidget | None = None) -> str | None:
        dialog = cls(customer, parent)
        return str(dialog.method.currentData()) if dialog.exec() == QDialog.DialogCode.Accepted else None


class EndDateDialog(QDialog):
    """The last day of service when the customer leaves (defaults to the requested one, or the period end)."""

    def __init__(self, text: str, default: dt.date | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Proceed with the cancellation")
        label = QLabel(text)
        label.setWordWrap(True)
        self.use_default = QComboBox()
        self.use_default.addItem("End of the current billing period (or the date the customer asked for)", None)
        self.use_default.addItem("On a date I choose", "date")
        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("dd/MM/yyyy")
        start = default or dt.date.today()
        self.date.setDate(QDate(start.year, start.month, start.day))
        self.date.setEnabled(False)
        self.use_default.currentIndexChanged.connect(lambda i: self.date.setEnabled(i == 1))
        buttons = QDialogButtonBox()
        yes = buttons.addButton("Cancel the service", QDialogButtonBox.ButtonRole.AcceptRole)
        yes.setObjectName("confirmCancellation")
        back = buttons.addButton("Go back", QDialogButtonBox.ButtonRole.RejectRole)
        back.setDefault(True)  # the destructive answer is never the default
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&Last day:", self.use_default)
        form.addRow("", self.date)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def chosen(self) -> dt.date | None:
        if self.use_default.currentData() is None:
            return None
        d = self.date.date()
        return dt.date(d.year(), d.month(), d.day())

    @classmethod
    def ask(cls, text: str, default: dt.date | None, parent: QWidget | None = None) -> tuple[bool, dt.date | None]:
        dialog = cls(text, default, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False, None
        return True, dialog.chosen()
