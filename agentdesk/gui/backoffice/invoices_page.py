"""Invoices: find them (period, state, customer, amount), read one inside the app, print, save, take payments.

The selected invoice's PDF is rendered by the service (ReportLab) and shown here with QtPdf. Printing goes
through the system's print dialog; several selected invoices print in one go as one combined PDF. A payment
is recorded in a dialog that checks as the user types: more than zero, not over the balance, the invoice's
currency, a date that is not in the future.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agentdesk.domain.errors import ValidationError
from agentdesk.domain.money import parse_money
from agentdesk.gui.backoffice import pdf_view
from agentdesk.gui.backoffice.common import (
    BackofficePage,
    Column,
    FormValidator,
    RowsModel,
    day,
    error_text,
    field_row,
    fit_columns,
    heading,
    label,
    make_table,
    money,
    select_rows,
    selected_rows,
)
from agentdesk.services import invoices as invoice_service
from agentdesk.services import payments as payment_service
from agentdesk.services.invoices import InvoiceSummary
from agentdesk.services.payments import PaymentResult

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext

LIST_LIMIT = 500
STATE_FILTERS = (  # caption, (state, kind, unpaid_only)
    ("Any state", (None, None, False)),
    ("Issued", ("issued", "invoice", False)),
    ("Unpaid", (None, None, True)),
    ("Credited", ("credited", None, False)),
    ("Credit notes", (None, "credit_note", False)),
    ("Drafts", ("draft", None, False)),
)
METHODS = ("bank_transfer", "card", "direct_debit", "cash", "cheque")


def _state_text(i: InvoiceSummary) -> str:
    if i.kind == "credit_note":
        return f"Credit note for {i.credits_number}" if i.credits_number else "Credit note"
    if i.state == "issued":
        if i.balance <= 0:
            return "Paid"
        return "Part paid" if i.paid_total > 0 else "Issued"
    return label(i.state)


def _period(i: InvoiceSummary) -> str:
    """"Oct 2026" for a calendar month, else the first and last day."""
    last = i.period_end - dt.timedelta(days=1)
    if i.period_start.day == 1 and (i.period_end.day == 1) and last.month == i.period_start.month \
            and last.year == i.period_start.year:
        return i.period_start.strftime("%b %Y")
    return f"{i.period_start:%d/%m/%y}–{last:%d/%m/%y}"


COLUMNS: list[Column[InvoiceSummary]] = [
    Column("Number", lambda i: i.number, tooltip=lambda i: f"Issued {day(i.issue_date)}" if i.issue_date else "Draft"),
    Column("Customer", lambda i: i.buyer_name, tooltip=lambda i: f"Account {i.account_number}"),
    Column("Period", _period, tooltip=lambda i: f"{i.period_start:%d/%m/%Y} to "
                                               f"{i.period_end - dt.timedelta(days=1):%d/%m/%Y}"),
    Column("Due", lambda i: day(i.due_date)),
    Column("State", _state_text),
    Column("Total", lambda i: money(i.gross_total), numeric=True),
    Column("Paid", lambda i: money(i.paid_total), numeric=True),
    Column("Balance", lambda i: money(i.balance), numeric=True),
]


def months_back(today: dt.date, count: int) -> list[str]:
    out = []
    year, month = today.year, today.month
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out


def amount_problems(low: str, high: str) -> tuple[Decimal | None, Decimal | None, list[ValidationError]]:
    """The amount filter's bounds, or what is wrong with them."""
    problems: list[ValidationError] = []
    bounds: list[Decimal | None] = []
    for name, text in (("amount_min", low), ("amount_max", high)):
        if not text.strip():
            bounds.append(None)
            continue
        try:
            bounds.append(parse_money(text, "Amount from" if name == "amount_min" else "Amount to"))
        except ValidationError as exc:
            problems.append(ValidationError(name, exc.message))
            bounds.append(None)
    lo, hi = bounds
    if lo is not None and hi is not None and hi < lo:
        problems.append(ValidationError("amount_max", "Amount to must not be below amount from"))
    return lo, hi, problems


# -- the payment dialog ------------------------------------------------------------------------------------


def payment_problems(invoice: InvoiceSummary, amount_text: str, currency: str, received: dt.date,
                     today: dt.date) -> tuple[Decimal | None, list[ValidationError]]:
    """What the dialog checks as the user types (the service and the database check again)."""
    problems: list[ValidationError] = []
    amount: Decimal | None = None
    try:
        amount = parse_money(amount_text, "Amount")
    except ValidationError as exc:
        problems.append(ValidationError("amount", exc.message))
    if amount is not None:
        if amount <= 0:
            problems.append(ValidationError("amount", "Amount must be more than 0.00"))
        elif amount > invoice.balance:
            problems.append(ValidationError(
                "amount", f"Amount is more than the balance of {money(invoice.balance)}: enter at most "
                          f"{invoice.balance:.2f}"))
    if currency != invoice.currency:
        problems.append(ValidationError("currency", f"The invoice is in {invoice.currency}: record the amount "
                                                    f"received in {invoice.currency}"))
    if received > today:
        problems.append(ValidationError("received_on", "The payment date cannot be in the future"))
    elif invoice.issue_date is not None and received < invoice.issue_date:
        problems.append(ValidationError("received_on", f"The payment date is before the invoice was issued "
                                                       f"({day(invoice.issue_date)})"))
    return amount, problems


class PaymentDialog(QDialog):
    """Record one payment against an issued invoice."""

    def __init__(self, invoice: InvoiceSummary, parent: QWidget | None = None, *, today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.invoice = invoice
        self.today = today or dt.date.today()
        self.setWindowTitle(f"Record a payment: {invoice.number}")
        self.setMinimumWidth(460)
        self.validator = FormValidator(None, self)
        info = QLabel(
            f"<b>{invoice.buyer_name}</b> ({invoice.account_number})<br>Total {money(invoice.gross_total)}, "
            f"paid {money(invoice.paid_total)}, <b>balance {money(invoice.balance)}</b>")
        if invoice.term_discount_amount and invoice.term_discount_date:
            info.setText(info.text() + f"<br>Less {money(invoice.term_discount_amount)} if paid by "
                         f"{day(invoice.term_discount_date)} (taken with the payment)")
        if invoice.cumulative_discount_amount:
            info.setText(info.text() + f"<br>Less {money(invoice.cumulative_discount_amount)} at payment")
        info.setWordWrap(True)
        self.amount = QLineEdit(f"{invoice.balance:.2f}")
        self.currency = QComboBox()
        for code in dict.fromkeys((invoice.currency, "EUR", "USD", "GBP")):
            self.currency.addItem(code)
        self.received = QDateEdit(QDate(self.today.year, self.today.month, self.today.day))
        self.received.setCalendarPopup(True)
        self.received.setDisplayFormat("dd/MM/yyyy")
        self.method = QComboBox()
        for m in METHODS:
            self.method.addItem(label(m), m)
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("bank reference (optional)")
        self.reference.setMaxLength(100)
        form = QFormLayout()
        for name, caption, widget in (("amount", "Amount", self.amount), ("currency", "Currency", self.currency),
                                      ("received_on", "Received on", self.received), ("method", "Method", self.method),
                                      ("reference", "Reference", self.reference)):
            form.addRow(caption, field_row(widget, self.validator.add(name, widget)))
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#c93c3c;")
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Record payment")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.amount.textChanged.connect(self.check)
        self.currency.currentIndexChanged.connect(self.check)
        self.received.dateChanged.connect(self.check)
        self.check()

    def received_on(self) -> dt.date:
        d = self.received.date()
        return dt.date(d.year(), d.month(), d.day())

    def check(self, *_args: object) -> bool:
        _amount, problems = payment_problems(self.invoice, self.amount.text(), self.currency.currentText(),
                                             self.received_on(), self.today)
        valid = self.validator.show(problems)
        self.ok_button.setEnabled(valid)
        return valid

    def show_refusal(self, exc: BaseException) -> None:
        """The service or the database refused: say why next to the field, keep the dialog open."""
        if isinstance(exc, ValidationError):
            self.validator.show([exc])
        self.error.setText(error_text(exc))
        self.error.show()

    def values(self) -> dict[str, Any]:
        amount, _ = payment_problems(self.invoice, self.amount.text(), self.currency.currentText(),
                                     self.received_on(), self.today)
        return {"amount": amount, "currency": self.currency.currentText(), "received_on": self.received_on(),
                "method": self.method.currentData(), "reference": self.reference.text().strip() or None}

    def accept(self) -> None:
        if not self.check():
            return
        super().accept()


# -- the page ----------------------------------------------------------------------------------------------


class InvoicesPage(BackofficePage):
    """Invoice list, PDF viewer, printing, saving and payments (accounting)."""

    title = "Invoices"
    icon_name = "letter"
    roles = frozenset({"accounting"})
    shortcut = "Ctrl+Shift+I"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.filter_validator = FormValidator(None, self)
        self.period = QComboBox()
        self.period.addItem("Any period", None)
        for month in months_back(dt.date.today(), 24):
            self.period.addItem(month, month)
        self.state = QComboBox()
        for caption, value in STATE_FILTERS:
            self.state.addItem(caption, value)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Customer name, account or invoice number")
        self.search.setClearButtonEnabled(True)
        self.amount_min = QLineEdit()
        self.amount_min.setPlaceholderText("from")
        self.amount_max = QLineEdit()
        self.amount_max.setPlaceholderText("to")
        for edit in (self.amount_min, self.amount_max):
            edit.setFixedWidth(90)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Period"))
        filters.addWidget(self.period)
        filters.addWidget(QLabel("State"))
        filters.addWidget(self.state)
        filters.addWidget(QLabel("Customer"))
        filters.addWidget(self.search, 1)
        filters.addWidget(QLabel("Total"))
        filters.addWidget(field_row(self.amount_min, self.filter_validator.add("amount_min", self.amount_min)))
        filters.addWidget(QLabel("–"))
        filters.addWidget(field_row(self.amount_max, self.filter_validator.add("amount_max", self.amount_max)))

        self.model: RowsModel[InvoiceSummary] = RowsModel(COLUMNS, self)
        self.model.set_muted(lambda i: i.state == "credited")
        self.table = make_table(self.model, multi=True, stretch=1)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.count_label = QLabel()
        self.count_label.setWordWrap(True)  # a long summary must not stop the list from shrinking
        self.count_label.setMinimumWidth(80)
        self.count_label.setProperty("role", "hint")

        self.pdf = pdf_view.PdfPane()
        self.print_button = QPushButton("Print…")
        self.print_button.clicked.connect(self.print_selected)
        self.save_button = QPushButton("Save PDF…")
        self.save_button.clicked.connect(self.save_selected)
        self.pay_button = QPushButton("Record payment…")
        self.pay_button.setObjectName("primary")
        self.pay_button.clicked.connect(self.record_payment)
        actions = QHBoxLayout()
        actions.addWidget(self.count_label, 1)
        actions.addWidget(self.print_button)
        actions.addWidget(self.save_button)
        actions.addWidget(self.pay_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(actions)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.pdf)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.proportions(split, 64, 36)

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Invoices", "Find invoices, read them as the customer will, print one or a "
                                 "selection in one go, save them as PDF and record payments."))
        layout.addLayout(filters)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(300)  # typing in the search box: query once the user pauses
        self._filter_timer.timeout.connect(self.refresh)
        self.period.currentIndexChanged.connect(self._filters_changed)
        self.state.currentIndexChanged.connect(self._filters_changed)
        self.search.textChanged.connect(self._filters_changed)
        self.amount_min.textChanged.connect(self._filters_changed)
        self.amount_max.textChanged.connect(self._filters_changed)
        self._pdf_for: int | None = None
        self._selection_changed()

    # -- loading -------------------------------------------------------------------------------------------

    def _filters_changed(self, *_args: object) -> None:
        _lo, _hi, problems = amount_problems(self.amount_min.text(), self.amount_max.text())
        if self.filter_validator.show(problems):
            self._filter_timer.start()

    def refresh(self) -> None:
        lo, hi, problems = amount_problems(self.amount_min.text(), self.amount_max.text())
        if not self.filter_validator.show(problems):
            return
        state, kind, unpaid = self.state.currentData()
        period = self.period.currentData()
        search = self.search.text().strip() or None
        db = self.db

        def load() -> list[InvoiceSummary]:
            return invoice_service.list_invoices(db, state=state, kind=kind, period=period, unpaid_only=unpaid,
                                                 search=search, limit=LIST_LIMIT, min_total=lo, max_total=hi)

        self.call(load, self._show, describe="load the invoices")

    def _show(self, rows: list[InvoiceSummary]) -> None:
        keep = {i.id for i in self.selected()}
        self.model.set_rows(rows)
        fit_columns(self.table, stretch_min=120)
        select_rows(self.table, (n for n, i in enumerate(rows) if i.id in keep))
        total = sum((r.gross_total for r in rows), Decimal(0))
        due = sum((r.balance for r in rows), Decimal(0))
        more = " (the newest: narrow the filters for older ones)" if len(rows) >= LIST_LIMIT else ""
        self.count_label.setText(f"{len(rows)} invoice{'s' if len(rows) != 1 else ''}{more} · total {money(total)}"
                                 f" · outstanding {money(due)}")
        self._selection_changed()

    def on_row_changed(self, table: str, row_id: int, op: str) -> None:
        if table == "invoice" and self._activated_once:
            self._filter_timer.start()

    # -- selection -----------------------------------------------------------------------------------------

    def selected(self) -> list[InvoiceSummary]:
        return [self.model.row(r) for r in selected_rows(self.table)]

    def _selection_changed(self, *_args: object) -> None:
        chosen = self.selected()
        n = len(chosen)
        printable = [i for i in chosen if i.state != "draft"]
        self.print_button.setEnabled(bool(printable) and len(printable) == n)
        self.save_button.setEnabled(bool(printable) and len(printable) == n)
        self.print_button.setText(f"Print {n} in one go…" if n > 1 else "Print…")
        self.save_button.setText(f"Save {n} as one PDF…" if n > 1 else "Save PDF…")
        payable = n == 1 and chosen[0].kind == "invoice" and chosen[0].state == "issued" and chosen[0].balance > 0
        self.pay_button.setEnabled(payable)
        self.pay_button.setToolTip("" if payable else "Select one issued invoice with a balance to pay")
        if n == 1 and chosen[0].state != "draft":
            if chosen[0].id != self._pdf_for:
                self._load_pdf(chosen[0])
        elif n == 1:
            self._pdf_for = None
            self.pdf.clear("A draft has no PDF yet: it is printed once issued.")
        else:
            self._pdf_for = None
            self.pdf.clear(f"{n} invoices selected: print or save them as one PDF." if n else
                           "Select an invoice to see it here.")

    def _load_pdf(self, invoice: InvoiceSummary) -> None:
        self._pdf_for = invoice.id
        db = self.db
        self.pdf.clear(f"Rendering {invoice.number}…")

        def done(data: bytes) -> None:
            if self._pdf_for == invoice.id:
                self.pdf.show_pdf(data, invoice.number)

        def failed(exc: BaseException) -> None:
            if self._pdf_for == invoice.id:
                self.pdf.clear(error_text(exc))

        self.call(lambda: invoice_service.invoice_pdf(db, invoice.id), done, describe="render the invoice",
                  on_error=failed)

    # -- printing and saving -------------------------------------------------------------------------------

    def _pdf_bytes(self, chosen: list[InvoiceSummary]) -> Any:
        db = self.db
        ids = [i.id for i in chosen]
        if len(ids) == 1:
            return lambda: invoice_service.invoice_pdf(db, ids[0])
        return lambda: invoice_service.invoices_pdf_combined(db, ids)

    def print_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        title = chosen[0].number if len(chosen) == 1 else f"{len(chosen)} invoices"

        def ready(data: bytes) -> None:
            printer = pdf_view.ask_printer(self, f"Print {title}")
            if printer is None:
                return
            try:
                document, _buffer = pdf_view.load_document(data, self)
                pages = pdf_view.print_pdf(document, printer)
            except Exception as exc:
                self.say(error_text(exc), "error")
                return
            self.say(f"{title} sent to the printer ({pages} page{'s' if pages != 1 else ''}).")

        self.call(self._pdf_bytes(chosen), ready, describe="render the invoices to print")

    def save_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        suggested = (invoice_service.pdf_file_name(chosen[0].number) if len(chosen) == 1
                     else f"invoices-{dt.date.today():%Y%m%d}.pdf")
        path = pdf_view.ask_save_path(self, "Save PDF", suggested)
        if path is None:
            return

        def ready(data: bytes) -> None:
            try:
                pdf_view.save_pdf(data, path)
            except OSError as exc:
                self.say(f"The PDF could not be saved to {path}: {exc.strerror or exc}", "error")
                return
            self.say(f"Saved {path}.")

        self.call(self._pdf_bytes(chosen), ready, describe="render the invoices to save")

    # -- payments ------------------------------------------------------------------------------------------

    def record_payment(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            return
        invoice = chosen[0]
        self._run_payment_dialog(self.payment_dialog(invoice))

    def payment_dialog(self, invoice: InvoiceSummary) -> PaymentDialog:
        return PaymentDialog(invoice, self)

    def _run_payment_dialog(self, dialog: PaymentDialog) -> None:
        """Show the dialog; on OK, record the payment and keep the dialog open with the reason if refused."""
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.submit_payment(dialog)

    def submit_payment(self, dialog: PaymentDialog) -> None:
        values = dialog.values()
        invoice = dialog.invoice
        db = self.db

        def done(result: PaymentResult) -> None:
            self.say(payment_service.describe(result) + ".")
            self._pdf_for = None  # the PDF shows the new paid amount
            self.context.changes.announce("invoice", invoice.id)
            self.refresh()

        def failed(exc: BaseException) -> None:
            dialog.show_refusal(exc)
            self.say(error_text(exc), "error")
            self._run_payment_dialog(dialog)  # back to the dialog, the user's input kept

        self.call(lambda: payment_service.record_payment(db, invoice.id, **values), done,
                  describe="record the payment", on_error=failed)


__all__ = ["InvoicesPage", "PaymentDialog", "amount_problems", "payment_problems"]
