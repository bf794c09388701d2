"""Invoices after the run: PDF text, credit notes, payments with term and cumulative-term discounts."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from agentdesk.billing.numbering import parse_number
from agentdesk.billing.run import run_billing
from agentdesk.domain.errors import AgentDeskError, RuleViolation, ValidationError
from agentdesk.services import invoices, payments

from .builders import YEAR, Builder, period


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def discounted_invoice(build: Builder, accounting) -> invoices.InvoiceSummary:
    customer = build.customer(name="Andreas Ioannou", vat_id="CY99887766L")
    sub = build.subscription(customer)
    build.discount("ZX-SUB-RANGE", subscription=sub, amount="20.00", item_ids=[sub.item_ids[0]])
    run_billing(accounting, period(3))
    return invoices.list_invoices(accounting, customer_id=customer)[0]


def test_pdf_shows_the_reduced_amount_the_discount_and_the_vat_fields(discounted_invoice, accounting):
    data = invoices.invoice_pdf(accounting, discounted_invoice.id)

    content = _pdf_text(data)
    assert discounted_invoice.number == f"INV-{YEAR}-000001"
    assert discounted_invoice.number in content
    assert "9.90" in content  # 29.90 less the 20.00 discount
    assert "-20.00" in content and "Serious complaint credit" in content
    assert "CY99887766L" in content and "CY10123456X" in content  # buyer's and seller's VAT ids
    assert "Andreas Ioannou" in content
    assert "€11.78" in content  # 9.90 + 1.88 VAT due
    assert "rounded half-up to the cent" in content


def test_pdf_command_writes_one_file_each_or_one_combined(build: Builder, accounting, tmp_path: Path):
    for _ in range(3):
        build.subscription(build.customer())
    run_billing(accounting, period(4))
    numbers = [i.number for i in invoices.list_invoices(accounting)]

    ids = [invoices.resolve(accounting, n).id for n in numbers]
    files = invoices.write_pdfs(accounting, ids, tmp_path / "each")
    combined = invoices.write_pdfs(accounting, ids, tmp_path / "all", combined=True)

    assert sorted(p.name for p in files) == sorted(f"{n}.pdf" for n in numbers)
    [one] = combined
    reader = PdfReader(str(one))
    assert len(reader.pages) == 3
    assert all(n in _pdf_text(one.read_bytes()) for n in numbers)


def test_missing_font_is_a_clear_error(discounted_invoice, accounting, tmp_path, monkeypatch):
    import agentdesk.pdf.fonts as fonts

    monkeypatch.setenv(fonts.RESOURCES_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(invoices.PdfUnavailable, match="Font file .* is missing"):
        invoices.invoice_pdf(accounting, discounted_invoice.id)


def test_missing_letterhead_is_a_clear_error(discounted_invoice, accounting, installer):
    with installer.session() as s:
        s.execute(text("DELETE FROM company_settings"))
    with pytest.raises(AgentDeskError, match="company settings"):
        invoices.invoice_pdf(accounting, discounted_invoice.id)


def test_invoice_numbers_parse_in_the_printed_form():
    assert parse_number("INV-2026-000001").series == "INV-2026"
    assert parse_number("inv-2026-7").number == 7
    assert parse_number("CN-2026/12").series == "CN-2026"
    with pytest.raises(ValidationError, match="INV-2026-000001"):
        parse_number("2026-1-INV")


def test_credit_note_has_its_own_series_and_marks_the_original_credited(discounted_invoice, accounting, build):
    note = invoices.create_credit_note(accounting, discounted_invoice.id, "wrong price plan")

    assert note.number == f"CN-{YEAR}-000001" and note.kind == "credit_note" and note.state == "issued"
    assert note.credits_number == discounted_invoice.number
    assert note.gross_total == discounted_invoice.gross_total
    original = invoices.invoice_summary(accounting, discounted_invoice.id)
    assert original.state == "credited" and original.balance == 0
    content = _pdf_text(invoices.invoice_pdf(accounting, note.id))
    assert "Credit note" in content and discounted_invoice.number in content and "wrong price plan" in content
    with pytest.raises(RuleViolation, match="only an issued invoice"):
        invoices.create_credit_note(accounting, discounted_invoice.id, "again")


def test_issued_invoices_cannot_be_edited(discounted_invoice, accounting):
    with pytest.raises(RuleViolation, match="credit note"), accounting.session() as s:
        s.execute(text("UPDATE invoice SET net_total = 1 WHERE id = :i"), {"i": discounted_invoice.id})


# -- payments --------------------------------------------------------------------------------------------------


@pytest.fixture
def term_invoice(build: Builder, accounting) -> invoices.InvoiceSummary:
    customer = build.customer()
    sub = build.subscription(customer)
    build.discount("EDI-TERM-10", subscription=sub, item_ids=list(sub.item_ids))
    run_billing(accounting, period(3))
    return invoices.list_invoices(accounting, customer_id=customer)[0]


def test_term_discount_is_printed_and_taken_when_paid_by_the_date(term_invoice, accounting, build):
    inv = term_invoice
    assert inv.term_discount_amount == Decimal("2.99") and inv.gross_total == Decimal("35.58")
    assert inv.discount_total == 0  # a term discount is not deducted on the bill
    assert inv.term_discount_date == inv.issue_date + dt.timedelta(days=10)
    assert "if paid by" in _pdf_text(invoices.invoice_pdf(accounting, inv.id))
    build.backdate_invoice(inv.id, 10)  # issued ten days ago: today is the last day of the discount
    inv = invoices.invoice_summary(accounting, inv.id)

    result = payments.record_payment(accounting, inv.id, Decimal("32.59"), "EUR", inv.term_discount_date)

    assert result.discount_taken == Decimal("2.99") and result.balance == 0
    assert invoices.invoice_summary(accounting, inv.id).paid_total == Decimal("35.58")


def test_term_discount_is_not_taken_after_the_date(term_invoice, accounting, build):
    build.backdate_invoice(term_invoice.id, 11)  # issued eleven days ago: the discount date was yesterday
    inv = invoices.invoice_summary(accounting, term_invoice.id)
    late = inv.term_discount_date + dt.timedelta(days=1)
    assert late == dt.date.today()

    result = payments.record_payment(accounting, inv.id, Decimal("32.59"), "EUR", late)

    assert result.discount_taken == 0 and result.balance == Decimal("2.99")
    with pytest.raises(ValidationError, match="more than the balance of 2.99"):
        payments.record_payment(accounting, inv.id, Decimal("3.00"), "EUR", late)
    payments.record_payment(accounting, inv.id, Decimal("2.99"), "EUR", late)
    assert invoices.invoice_summary(accounting, inv.id).balance == 0


def test_cumulative_term_discount_is_taken_whatever_the_date(build: Builder, accounting):
    customer = build.customer(segment="bronze")
    sub = build.subscription(customer, items=(("FIBRE-500", True),))
    build.discount("EDI-CUMTERM-SENIOR", subscription=sub, item_ids=list(sub.item_ids))  # manager approves
    run_billing(accounting, period(3))
    [inv] = invoices.list_invoices(accounting, customer_id=customer)
    assert inv.cumulative_discount_amount == Decimal("4.49") and inv.term_discount_amount == 0

    build.backdate_invoice(inv.id, 200)  # long overdue: still taken
    result = payments.record_payment(accounting, inv.id, inv.gross_total - Decimal("4.49"), "EUR", dt.date.today())

    assert result.discount_taken == Decimal("4.49") and result.balance == 0


def test_payment_errors_are_clear_and_leave_balances_right(term_invoice, accounting):
    inv = term_invoice
    with pytest.raises(ValidationError, match="in EUR, the payment in USD"):
        payments.record_payment(accounting, inv.id, Decimal("10.00"), "USD", inv.issue_date)
    with pytest.raises(ValidationError, match="more than the balance of 32.59 EUR .* after the discount of 2.99"):
        payments.record_payment(accounting, inv.id, Decimal("40.00"), "EUR", inv.issue_date)
    with pytest.raises(ValidationError, match="more than 0.00"):
        payments.record_payment(accounting, inv.id, Decimal("0"), "EUR", inv.issue_date)
    with pytest.raises(ValidationError, match="2 decimals"):
        payments.record_payment(accounting, inv.id, Decimal("1.005"), "EUR", inv.issue_date)
    with pytest.raises(ValidationError, match="after today"):
        payments.record_payment(accounting, inv.id, Decimal("1.00"), "EUR", dt.date.today() + dt.timedelta(days=1))
    assert invoices.invoice_summary(accounting, inv.id).paid_total == 0

    payments.record_payment(accounting, inv.id, Decimal("10.00"), "EUR", inv.issue_date)  # partial, on time
    after = invoices.invoice_summary(accounting, inv.id)
    assert after.paid_total == Decimal("12.99") and after.balance == Decimal("22.59")
    payments.record_payment(accounting, inv.id, Decimal("22.59"), "EUR", inv.issue_date)
    with pytest.raises(RuleViolation, match="already paid in full"):
        payments.record_payment(accounting, inv.id, Decimal("0.01"), "EUR", inv.issue_date)


def test_the_database_refuses_an_overpayment_even_without_the_service(term_invoice, accounting):
    with pytest.raises(ValidationError, match="more than the balance"), accounting.session() as s:
        s.execute(text("INSERT INTO payment (invoice_id, amount, currency, received_on) VALUES (:i, 100, 'EUR', now())"),
                  {"i": term_invoice.id})
    with pytest.raises(ValidationError, match="in EUR, the payment in GBP") as refused, accounting.session() as s:
        s.execute(text("INSERT INTO payment (invoice_id, amount, currency, received_on) VALUES (:i, 1, 'GBP', now())"),
                  {"i": term_invoice.id})
    assert refused.value.field == "currency"
    assert invoices.invoice_summary(accounting, term_invoice.id).paid_total == 0


def test_payment_on_a_credited_invoice_is_refused(term_invoice, accounting):
    invoices.create_credit_note(accounting, term_invoice.id, "duplicate")
    with pytest.raises(RuleViolation, match="issued invoices only"):
        payments.record_payment(accounting, term_invoice.id, Decimal("1.00"), "EUR", term_invoice.issue_date)


def test_list_filters_by_gross_amount_in_the_database(discounted_invoice, accounting):
    total = discounted_invoice.gross_total  # 11.78: 9.90 after the discount, plus VAT
    assert [i.id for i in invoices.list_invoices(accounting, min_total=total, max_total=total)] == [discounted_invoice.id]
    assert invoices.list_invoices(accounting, min_total=total + Decimal("0.01")) == []
    assert invoices.list_invoices(accounting, max_total=total - Decimal("0.01")) == []
    with pytest.raises(ValidationError, match="must not be below"):
        invoices.list_invoices(accounting, min_total=Decimal("10"), max_total=Decimal("5"))
