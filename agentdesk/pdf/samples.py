"""Consistent sample documents for previews, the PDF benchmark and the PDF tests.

The numbers are computed the way the billing run computes them (line net = gross - discount, VAT per rate
rounded half-up to the cent), so every sample passes :class:`InvoiceDocument`'s own checks.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from agentdesk.pdf.documents import (
    CompanyLetterhead,
    DocumentKind,
    InvoiceDocument,
    InvoiceLine,
    OfferLetterDocument,
    Party,
    TaxSummaryRow,
    TermDiscountOffer,
)

_CENT = Decimal("0.01")

SELLER = CompanyLetterhead(
    party=Party(
        name="Nordlicht Telecom GmbH",
        address_lines=("Hafenstraße 12",),
        postal_code="20457",
        city="Hamburg",
        country="Germany",
        vat_id="DE812345678",
    ),
    iban="DE89370400440532013000",
    bic="COBADEFFXXX",
    bank_name="Commerzbank Hamburg",
    website="www.nordlicht-telecom.example",
    phone="+49 40 1234 5670",
    email="billing@nordlicht-telecom.example",
    payment_terms_text="Payable within 14 days of the issue date without deduction unless a prompt payment "
    "discount is shown. Direct debit customers need not transfer anything.",
    footer_text="Nordlicht Telecom GmbH · Registered at Amtsgericht Hamburg HRB 123456 · "
    "Managing directors: Ingrid Sørensen, Jürgen Weiß",
)

BUYER = Party(
    name="Zoë Müller-Łukasiewicz",
    address_lines=("Kastanienallee 7", "3. OG links"),
    postal_code="10435",
    city="Berlin",
    country="Germany",
    vat_id="DE298765432",
    email="zoe@example.org",
)

_SERVICES = (
    ("Fibre Internet 250 Mbit/s", Decimal("49.99")),
    ("TV Premium package", Decimal("24.90")),
    ("Mobile plan 20 GB", Decimal("19.99")),
    ("Router rental", Decimal("4.99")),
    ("Static IP address", Decimal("5.00")),
    ("Additional SIM card", Decimal("9.95")),
    ("Cloud backup 100 GB", Decimal("2.99")),
    ("Sports channel bundle", Decimal("14.99")),
)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def sample_lines(
    count: int, *, discount_every: int = 4, multiple_every: int = 7, tax_rate: Decimal = Decimal("19")
) -> list[InvoiceLine]:
    """``count`` monthly lines; every ``discount_every``-th line carries a 20 % retention discount and
    every ``multiple_every``-th has quantity 2 (0 turns either off)."""
    lines = []
    for i in range(count):
        name, price = _SERVICES[i % len(_SERVICES)]
        quantity = Decimal(2) if multiple_every and i % multiple_every == multiple_every - 2 else Decimal(1)
        gross = _cents(quantity * price)
        if discount_every and i % discount_every == 0:
            percent = Decimal("20")
            discount = _cents(gross * percent / 100)
            label = f"Retention discount {discount}/month"
        else:
            percent, discount, label = Decimal(0), Decimal("0.00"), None
        lines.append(
            InvoiceLine(
                description=name if i < len(_SERVICES) else f"{name} (line {i + 1})",
                period_text="1–31 Jan 2026",
                frequency_text="Monthly",
                quantity=quantity,
                unit_price=price,
                gross=gross,
                discount_amount=discount,
                discount_percent=percent,
                discount_label=label,
                net=gross - discount,
                tax_rate=tax_rate,
            )
        )
    return lines


def invoice_from_lines(
    lines: list[InvoiceLine],
    *,
    number: str = "INV-2026-000123",
    kind: DocumentKind = DocumentKind.INVOICE,
    buyer: Party = BUYER,
    term_discount: bool = True,
    credited_invoice_number: str | None = None,
) -> InvoiceDocument:
    """Wrap lines in a complete document with a matching VAT summary and totals."""
    taxable: dict[Decimal, Decimal] = {}
    for line in lines:
        taxable[line.tax_rate] = taxable.get(line.tax_rate, Decimal(0)) + line.net
    summary = tuple(
        TaxSummaryRow(rate=rate, taxable=amount, tax=_cents(amount * rate / 100))
        for rate, amount in sorted(taxable.items())
    )
    net = sum((line.net for line in lines), Decimal(0))
    tax = sum((row.tax for row in summary), Decimal(0))
    issue = date(2026, 2, 1)
    offer = None
    if term_discount and kind is DocumentKind.INVOICE:
        offer = TermDiscountOffer(amount=_cents((net + tax) * Decimal("0.02")), pay_by=issue + timedelta(days=10))
    return InvoiceDocument(
        kind=kind,
        series=number.split("-", 1)[0],
        number=number,
        issue_date=issue,
        due_date=issue + timedelta(days=14),
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        seller=SELLER,
        buyer=buyer,
        customer_account_number="100234",
        lines=tuple(lines),
        tax_summary=summary,
        net_total=net,
        tax_total=tax,
        gross_total=net + tax,
        discount_total=sum((line.discount_amount for line in lines), Decimal(0)),
        term_discount=offer,
        credited_invoice_number=credited_invoice_number,
        payment_reference=f"{number} / 100234",
    )


def sample_invoice(line_count: int = 5, **kwargs: object) -> InvoiceDocument:
    """A complete sample invoice with ``line_count`` lines (keyword arguments go to :func:`invoice_from_lines`)."""
    return invoice_from_lines(sample_lines(line_count), **kwargs)  # type: ignore[arg-type]


def sample_offer_letter() -> OfferLetterDocument:
    return OfferLetterDocument(
        company=SELLER,
        customer=BUYER,
        letter_date=date(2026, 1, 12),
        ticket_number="T-2026-004711",
        offer_description="Stay with Nordlicht and keep your Fibre Internet 250 Mbit/s at a retention "
        "discount of €20.00 per month for the next 12 months.",
        terms_lines=(
            "The discount of €20.00 per month applies to Fibre Internet 250 Mbit/s from your next invoice.",
            "It runs for 12 monthly invoices and then ends automatically; your contract continues at the "
            "regular price.",
            "Your cancellation request of 10 Jan 2026 is withdrawn when you accept this offer.",
            "All other terms of your contract stay unchanged.",
        ),
        monthly_cost_before=Decimal("79.88"),
        monthly_cost_after=Decimal("59.88"),
        total_saving=Decimal("240.00"),
        acceptance_reference="ACC-7Q4M-2KXP",
        how_to_accept="Call us free of charge on 0800 123 4567 and quote your acceptance reference, or "
        "sign and return the slip below in the enclosed envelope.",
        expiry_date=date(2026, 2, 11),
        signatory="Jonas Becker, Customer Care",
        customer_account_number="100234",
    )
