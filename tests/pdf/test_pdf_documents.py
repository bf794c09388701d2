"""The document dataclasses refuse inconsistent or mistyped invoices before anything is printed."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from agentdesk.pdf.documents import DocumentKind, InvoiceLine, TaxSummaryRow, TermDiscountOffer
from agentdesk.pdf.samples import SELLER, invoice_from_lines, sample_lines, sample_offer_letter


def _line() -> InvoiceLine:
    return sample_lines(1)[0]


def test_sample_invoice_is_consistent() -> None:
    doc = invoice_from_lines(sample_lines(9))
    assert doc.net_total + doc.tax_total == doc.gross_total
    assert doc.gross_before_discount - doc.discount_total == doc.net_total
    assert doc.reference == "INV-2026-000123 / 100234"
    assert dataclasses.replace(doc, payment_reference=None).reference == "INV-2026-000123"


def test_line_net_must_equal_gross_minus_discount() -> None:
    with pytest.raises(ValueError, match="net"):
        dataclasses.replace(_line(), net=Decimal("1.00"))


def test_money_must_be_decimal() -> None:
    with pytest.raises(TypeError, match="unit_price must be a Decimal"):
        dataclasses.replace(_line(), unit_price=49.99)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tax must be a Decimal"):
        TaxSummaryRow(rate=Decimal("19"), taxable=Decimal("1"), tax=0.19)  # type: ignore[arg-type]


def test_totals_must_add_up() -> None:
    doc = invoice_from_lines(sample_lines(3))
    with pytest.raises(ValueError, match="gross_total"):
        dataclasses.replace(doc, gross_total=doc.gross_total + Decimal("0.01"))
    with pytest.raises(ValueError, match="discount_total"):
        dataclasses.replace(doc, discount_total=Decimal("0"))
    with pytest.raises(ValueError, match="net_total"):
        dataclasses.replace(doc, net_total=doc.net_total - Decimal("1"))


def test_tax_summary_must_match_lines_per_rate() -> None:
    doc = invoice_from_lines(sample_lines(3))
    wrong_rate = tuple(dataclasses.replace(row, rate=Decimal("7")) for row in doc.tax_summary)
    with pytest.raises(ValueError, match="tax summary"):
        dataclasses.replace(doc, tax_summary=wrong_rate)


def test_credit_note_needs_the_credited_invoice() -> None:
    with pytest.raises(ValueError, match="credit note"):
        invoice_from_lines(sample_lines(2), kind=DocumentKind.CREDIT_NOTE)


def test_invoice_needs_lines_and_a_sane_period() -> None:
    doc = invoice_from_lines(sample_lines(2))
    with pytest.raises(ValueError, match="at least one line"):
        dataclasses.replace(doc, lines=(), tax_summary=(), net_total=Decimal(0), tax_total=Decimal(0),
                            gross_total=Decimal(0), discount_total=Decimal(0))
    with pytest.raises(ValueError, match="period"):
        dataclasses.replace(doc, period_end=date(2025, 12, 31))


def test_seller_needs_a_vat_id() -> None:
    with pytest.raises(ValueError, match="vat_id"):
        dataclasses.replace(SELLER, party=dataclasses.replace(SELLER.party, vat_id=None))


def test_term_discount_and_letter_validation() -> None:
    with pytest.raises(ValueError, match="positive"):
        TermDiscountOffer(amount=Decimal("0"), pay_by=date(2026, 2, 1))
    letter = sample_offer_letter()
    assert letter.monthly_saving == Decimal("20.00")
    with pytest.raises(ValueError, match="expires before"):
        dataclasses.replace(letter, expiry_date=date(2025, 1, 1))


def test_documents_are_frozen() -> None:
    doc = invoice_from_lines(sample_lines(1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.number = "X"  # type: ignore[misc]
