"""Billing runs and invoices against the real database: progress, cancel and resume (exactly once), the
invoice list and its filters, the PDF inside the app, printing a batch in one go, saving, payments."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from builders import add_subscription, customer_with_subscription, make_customer
from pypdf import PdfReader
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QPushButton
from sqlalchemy import func, select

from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.db.models import Invoice, Payment
from agentdesk.domain.errors import ValidationError
from agentdesk.gui.backoffice import billing_page, page_classes, pdf_view
from agentdesk.gui.backoffice.billing_page import BillingRunsPage
from agentdesk.gui.backoffice.harness import make_context, open_page, wait_idle
from agentdesk.gui.backoffice.invoices_page import InvoicesPage, PaymentDialog, payment_problems
from agentdesk.gui.context import AppContext
from agentdesk.services import billing as billing_service
from agentdesk.services import invoices as invoice_service
from agentdesk.services import payments

pytestmark = pytest.mark.gui
THIS_MONTH = dt.date.today().strftime("%Y-%m")


@pytest.fixture
def context_as(connect_as: Callable[[str], Database], settings: Settings, qapp: object) -> Iterator[Callable[[str], AppContext]]:
    made: list[AppContext] = []

    def make(key: str) -> AppContext:
        context = make_context(settings, connect_as(key))
        made.append(context)
        return context

    yield make
    for context in made:
        context.runner.wait_for_done(20_000)


def invoice_count(installer: Database) -> int:
    with installer.session() as s:
        return int(s.scalar(select(func.count()).select_from(Invoice).where(Invoice.billing_run_id.is_not(None))))


def bill_this_month(installer: Database, accounting: Database, *customers: tuple[str, tuple[str, ...]]) -> dict[str, int]:
    """Customers with these subscriptions, billed for this month by a real run: {name: invoice id}."""
    for name, products in customers:
        add_subscription(installer, make_customer(installer, name=name), products=products)
    summary = billing_service.run_period(accounting, THIS_MONTH)
    assert summary.invoices == len(customers)
    found = invoice_service.list_invoices(accounting, period=THIS_MONTH)
    return {i.buyer_name: i.id for i in found}


def choose_period(page: BillingRunsPage, period: str) -> None:
    page.period.setCurrentIndex(page.period.findData(period))


# -- billing runs -----------------------------------------------------------------------------------------


def test_only_accounting_runs_billing() -> None:
    for role in ("csr", "manager", "admin"):
        assert BillingRunsPage not in page_classes(role) and InvoicesPage not in page_classes(role)
    assert {BillingRunsPage, InvoicesPage} <= set(page_classes("accounting"))


def test_preview_then_run_completes_with_a_summary(qtbot, installer, context_as) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        customer_with_subscription(installer)
    page = open_page(qtbot, BillingRunsPage(context_as("accounting")), lambda p: not p.runner.busy)
    choose_period(page, THIS_MONTH)
    assert page.run_button.text() == "Run billing"

    page.preview_button.click()
    assert page.progress is not None and page.progress.isVisible()
    qtbot.waitUntil(lambda: page.last_summary is not None, timeout=30_000)
    assert page.last_summary.preview and page.last_summary.invoices == 3
    assert "would bill 3 invoices" in page.result.text()
    assert page.progress is None and invoice_count(installer) == 0  # a preview writes nothing

    page.run_button.click()
    qtbot.waitUntil(lambda: page.last_summary is not None and not page.last_summary.preview, timeout=30_000)
    wait_idle(qtbot, page)
    assert "billed 3 invoices" in page.result.text()
    assert page.banner.kind == "success"
    assert invoice_count(installer) == 3
    assert page.model.rowCount() == 1 and page.model.row(0).state == "completed"
    assert page.run_button.text() == "Run again"
    assert "Billing" in page.log.toPlainText()


def test_cancel_stops_between_batches_and_running_again_finishes_exactly_once(
        qtbot, installer, context_as, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        customer_with_subscription(installer)
    page = open_page(qtbot, BillingRunsPage(context_as("accounting")), lambda p: not p.runner.busy)
    page.batch_size = 1
    choose_period(page, THIS_MONTH)

    # Hold the run after its first batch until the user's Cancel has reached it, so the test is not a race.
    real = billing_page.run_billing
    first_pass = threading.Event()

    def held(db, period, *, abort, progress, **kw):  # type: ignore[no-untyped-def]
        def slow_progress(done: int, total: int) -> None:
            progress(done, total)
            if done >= 1 and not first_pass.is_set():
                first_pass.set()
                for _ in range(200):
                    if abort():
                        break
                    threading.Event().wait(0.05)
        return real(db, period, abort=abort, progress=slow_progress, **kw)

    monkeypatch.setattr(billing_page, "run_billing", held)
    page.run_button.click()
    qtbot.waitUntil(lambda: page.progress is not None and page.progress.value() >= 1, timeout=30_000)
    page.progress.findChild(QPushButton).click()  # the dialog's Cancel button, as the user clicks it
    qtbot.waitUntil(lambda: page.last_summary is not None, timeout=30_000)
    wait_idle(qtbot, page)
    stopped = page.last_summary
    assert stopped.aborted and stopped.invoices == 1
    assert page.banner.kind == "warning" and "run again to continue" in page.banner.text
    assert invoice_count(installer) == 1
    assert page.run_button.text() == "Continue run"

    page.last_summary = None
    page.run_button.click()
    qtbot.waitUntil(lambda: page.last_summary is not None, timeout=30_000)
    wait_idle(qtbot, page)
    assert not page.last_summary.aborted and page.last_summary.invoices == 3
    assert invoice_count(installer) == 4  # every customer billed once, none twice

    page.last_summary = None
    page.run_button.click()  # once more: nothing new
    qtbot.waitUntil(lambda: page.last_summary is not None, timeout=30_000)
    assert page.last_summary.invoices == 0 and invoice_count(installer) == 4


# -- invoices ---------------------------------------------------------------------------------------------


def test_payment_checks_name_the_field() -> None:
    invoice = invoice_service.InvoiceSummary(
        id=1, number="INV-2026-000001", kind="invoice", state="issued", customer_id=1, account_number="A-1",
        buyer_name="X", period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 2, 1),
        issue_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 2, 15), currency="EUR",
        net_total=Decimal("100.00"), tax_total=Decimal("19.00"), gross_total=Decimal("119.00"),
        discount_total=Decimal(0), term_discount_amount=Decimal(0), term_discount_date=None,
        cumulative_discount_amount=Decimal(0), paid_total=Decimal("19.00"), credits_number=None,
        billing_run_id=None,
    )
    today = dt.date(2026, 3, 1)
    ok = dt.date(2026, 2, 20)

    def fields(amount: str, currency: str = "EUR", when: dt.date = ok) -> dict[str, str]:
        return {p.field: p.message for p in payment_problems(invoice, amount, currency, when, today)[1]}

    assert fields("100.00") == {}
    assert "more than 0.00" in fields("0")["amount"]
    assert "more than the balance of € 100.00" in fields("100.01")["amount"]
    assert "not an amount" in fields("ten")["amount"]
    assert "in EUR" in fields("10", "USD")["currency"]
    assert "future" in fields("10", when=dt.date(2026, 3, 2))["received_on"]
    assert "before the invoice was issued" in fields("10", when=dt.date(2026, 1, 31))["received_on"]


def test_list_filters_pdf_inside_the_app_payment_and_refusal(qtbot, installer, connect_as, context_as,
                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    context = context_as("accounting")
    ids = bill_this_month(installer, context.db, ("Alpha Trading Ltd", ("FIBRE-100",)),
                          ("Beta Foods Ltd", ("FIBRE-1000", "TV-SPORTS")))
    small, big = ids["Alpha Trading Ltd"], ids["Beta Foods Ltd"]  # 35.58 and 89.01 with VAT
    page = open_page(qtbot, InvoicesPage(context), lambda p: p.model.rowCount() == 2)

    page.amount_min.setText("abc")
    assert "not an amount" in page.filter_validator.messages["amount_min"]
    page.amount_min.setText("50")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=15_000)
    assert page.model.row(0).id == big
    page.amount_min.setText("")
    page.search.setText("Alpha")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and page.model.row(0).id == small, timeout=15_000)
    page.search.setText("")
    page.state.setCurrentIndex(page.state.findText("Credit notes"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=15_000)
    page.state.setCurrentIndex(0)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=15_000)

    row = next(i for i, r in enumerate(page.model.rows()) if r.id == big)
    page.table.selectRow(row)
    qtbot.waitUntil(lambda: page.pdf.document is not None or "Rendering" not in page.pdf.placeholder.text(), timeout=30_000)
    assert page.pdf.document is not None, page.pdf.placeholder.text()
    assert page.pdf.document.pageCount() >= 1 and page.pdf.view.isVisible()
    assert page.pay_button.isEnabled()

    # Over the balance: the dialog says so and will not accept; the service refuses the same.
    invoice = page.model.row(row)
    dialog = PaymentDialog(invoice, page)
    qtbot.addWidget(dialog)
    dialog.amount.setText("89.02")
    assert "more than the balance" in dialog.validator.messages["amount"] and not dialog.ok_button.isEnabled()
    with pytest.raises(ValidationError, match="more than the balance"):
        payments.record_payment(page.db, big, Decimal("89.02"), "EUR", dt.date.today())
    dialog.amount.setText("50.00")
    assert dialog.ok_button.isEnabled()
    page.submit_payment(dialog)
    qtbot.waitUntil(lambda: page.banner.kind == "success" and "recorded" in page.banner.text, timeout=15_000)
    wait_idle(qtbot, page)
    with installer.session() as s:
        assert s.scalar(select(Payment.amount).where(Payment.invoice_id == big)) == Decimal("50.00")
    refreshed = next(r for r in page.model.rows() if r.id == big)
    assert refreshed.balance == Decimal("39.01")


def test_print_a_batch_in_one_go_and_save(qtbot, installer, context_as, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = context_as("accounting")
    bill_this_month(installer, context.db, *((f"Gamma {n} Ltd", ("FIBRE-100",)) for n in range(3)))
    page = open_page(qtbot, InvoicesPage(context), lambda p: p.model.rowCount() == 3)
    page.table.selectAll()
    assert page.print_button.text() == "Print 3 in one go…"

    printed = tmp_path / "printed.pdf"

    def pdf_printer(parent, title):  # type: ignore[no-untyped-def]
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        printer.setResolution(72)
        return printer

    monkeypatch.setattr(pdf_view, "ask_printer", pdf_printer)
    page.print_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and "printer" in page.banner.text, timeout=30_000)
    assert "3 invoices sent to the printer (3 pages)" in page.banner.text
    assert len(PdfReader(io.BytesIO(printed.read_bytes())).pages) == 3

    saved = tmp_path / "batch.pdf"
    monkeypatch.setattr(pdf_view, "ask_save_path", lambda *a: saved)
    page.save_button.click()
    qtbot.waitUntil(lambda: saved.exists(), timeout=30_000)
    reader = PdfReader(io.BytesIO(saved.read_bytes()))
    assert len(reader.pages) == 3
    assert not list(tmp_path.glob("*.part"))

    monkeypatch.setattr(pdf_view, "ask_printer", lambda *a: None)  # the user cancels the print dialog
    page.say("", "info")
    page.print_button.click()
    wait_idle(qtbot, page)
    assert "printer" not in page.banner.text
