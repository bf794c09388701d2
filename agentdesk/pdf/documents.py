"""Plain, frozen input documents for the PDF layer.

The billing worker and the offer services translate their database rows into these dataclasses; the
renderers in :mod:`agentdesk.pdf.invoice` and :mod:`agentdesk.pdf.letter` only ever see these. Money is
always :class:`~decimal.Decimal` and dates are :class:`~datetime.date`.

The constructors check the arithmetic an invoice must satisfy (line net = gross - discount, totals add up,
tax summary matches the lines) so that an inconsistent invoice fails loudly instead of being printed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


class DocumentKind(enum.StrEnum):
    """Whether a billing document charges the customer or gives money back."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


def _require_decimal(owner: object, **values: object) -> None:
    # A float sneaking in would print binary rounding noise on a legal document.
    for name, value in values.items():
        if not isinstance(value, Decimal):
            raise TypeError(f"{type(owner).__name__}.{name} must be a Decimal, got {type(value).__name__}")


def _require_date(owner: object, **values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, date):
            raise TypeError(f"{type(owner).__name__}.{name} must be a date, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Party:
    """A postal addressee: the seller or the buyer of an invoice, or a letter's recipient."""

    name: str
    address_lines: tuple[str, ...]
    postal_code: str
    city: str
    country: str
    vat_id: str | None = None
    email: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("Party.name must not be empty")
        if isinstance(self.address_lines, str):
            raise TypeError("Party.address_lines must be a tuple of lines, not one string")

    @property
    def city_line(self) -> str:
        """Postal code and city as printed on an envelope."""
        return f"{self.postal_code} {self.city}".strip()

    def one_line_address(self) -> str:
        """Name and address on one line (the return-address line above an envelope window)."""
        parts = [self.name, *self.address_lines, self.city_line]
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class CompanyLetterhead:
    """The issuing company: its postal identity plus the details printed in the letterhead and footer."""

    party: Party
    iban: str
    bic: str
    bank_name: str
    website: str
    phone: str
    email: str
    payment_terms_text: str
    footer_text: str

    def __post_init__(self) -> None:
        if not self.party.vat_id:
            # An EU VAT invoice must carry the supplier's VAT identification number.
            raise ValueError("CompanyLetterhead.party.vat_id is required on invoices")


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One billed service for the period, with the discount applied to it.

    ``gross`` is quantity x unit price before the discount; ``net`` is what the customer pays for the line
    before VAT. ``discount_percent`` and ``tax_rate`` are percentages (``Decimal("20")`` means 20 %).
    """

    description: str
    period_text: str
    frequency_text: str
    quantity: Decimal
    unit_price: Decimal
    gross: Decimal
    discount_amount: Decimal
    discount_percent: Decimal
    discount_label: str | None
    net: Decimal
    tax_rate: Decimal

    def __post_init__(self) -> None:
        _require_decimal(
            self,
            quantity=self.quantity,
            unit_price=self.unit_price,
            gross=self.gross,
            discount_amount=self.discount_amount,
            discount_percent=self.discount_percent,
            net=self.net,
            tax_rate=self.tax_rate,
        )
        if self.gross - self.discount_amount != self.net:
            raise ValueError(
                f"InvoiceLine {self.description!r}: gross {self.gross} - discount {self.discount_amount}"
                f" != net {self.net}"
            )

    @property
    def has_discount(self) -> bool:
        return self.discount_amount != 0


@dataclass(frozen=True, slots=True)
class TaxSummaryRow:
    """Taxable amount and VAT for one VAT rate (percent)."""

    rate: Decimal
    taxable: Decimal
    tax: Decimal

    def __post_init__(self) -> None:
        _require_decimal(self, rate=self.rate, taxable=self.taxable, tax=self.tax)


@dataclass(frozen=True, slots=True)
class TermDiscountOffer:
    """A prompt-payment (term) discount: the customer may deduct ``amount`` if paying by ``pay_by``."""

    amount: Decimal
    pay_by: date

    def __post_init__(self) -> None:
        _require_decimal(self, amount=self.amount)
        _require_date(self, pay_by=self.pay_by)
        if self.amount <= 0:
            raise ValueError("TermDiscountOffer.amount must be positive")


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything printed on one invoice or credit note."""

    kind: DocumentKind
    series: str
    number: str
    issue_date: date
    due_date: date
    period_start: date
    period_end: date
    seller: CompanyLetterhead
    buyer: Party
    customer_account_number: str
    lines: tuple[InvoiceLine, ...]
    tax_summary: tuple[TaxSummaryRow, ...]
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    discount_total: Decimal
    term_discount: TermDiscountOffer | None = None
    currency: str = "EUR"
    credited_invoice_number: str | None = None
    payment_reference: str | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _require_decimal(
            self,
            net_total=self.net_total,
            tax_total=self.tax_total,
            gross_total=self.gross_total,
            discount_total=self.discount_total,
        )
        _require_date(
            self,
            issue_date=self.issue_date,
            due_date=self.due_date,
            period_start=self.period_start,
            period_end=self.period_end,
        )
        if not isinstance(self.kind, DocumentKind):
            raise TypeError(f"InvoiceDocument.kind must be a DocumentKind, got {self.kind!r}")
        if not self.number.strip():
            raise ValueError("InvoiceDocument.number must not be empty")
        if not self.lines:
            raise ValueError(f"{self.number}: an invoice needs at least one line")
        if self.period_end < self.period_start:
            raise ValueError(f"{self.number}: period ends before it starts")
        if self.kind is DocumentKind.CREDIT_NOTE and not self.credited_invoice_number:
            raise ValueError(f"{self.number}: a credit note must name the invoice it credits")
        self._check_totals()

    def _check_totals(self) -> None:
        def fail(what: str, printed: Decimal, computed: Decimal) -> None:
            raise ValueError(f"{self.number}: {what} is {printed} but the lines add up to {computed}")

        line_net = sum((line.net for line in self.lines), Decimal(0))
        if line_net != self.net_total:
            fail("net_total", self.net_total, line_net)
        line_discount = sum((line.discount_amount for line in self.lines), Decimal(0))
        if line_discount != self.discount_total:
            fail("discount_total", self.discount_total, line_discount)
        summary_tax = sum((row.tax for row in self.tax_summary), Decimal(0))
        if summary_tax != self.tax_total:
            fail("tax_total", self.tax_total, summary_tax)
        if self.net_total + self.tax_total != self.gross_total:
            fail("gross_total", self.gross_total, self.net_total + self.tax_total)
        taxable_by_rate: dict[Decimal, Decimal] = {}
        for line in self.lines:
            taxable_by_rate[line.tax_rate] = taxable_by_rate.get(line.tax_rate, Decimal(0)) + line.net
        summary_by_rate = {row.rate: row.taxable for row in self.tax_summary}
        if len(summary_by_rate) != len(self.tax_summary) or summary_by_rate != taxable_by_rate:
            raise ValueError(
                f"{self.number}: tax summary {summary_by_rate} does not match the lines' taxable amounts"
                f" per rate {taxable_by_rate}"
            )

    @property
    def is_credit_note(self) -> bool:
        return self.kind is DocumentKind.CREDIT_NOTE

    @property
    def gross_before_discount(self) -> Decimal:
        """Sum of the lines before any discount (what the services would have cost)."""
        return sum((line.gross for line in self.lines), Decimal(0))

    @property
    def reference(self) -> str:
        """The reference the customer quotes when paying: explicit, else the document number."""
        return self.payment_reference or self.number


@dataclass(frozen=True, slots=True)
class OfferLetterDocument:
    """A printed retention offer for a customer without e-mail (the hard-copy notification)."""

    company: CompanyLetterhead
    customer: Party
    letter_date: date
    ticket_number: str
    offer_description: str
    terms_lines: tuple[str, ...]
    monthly_cost_before: Decimal
    monthly_cost_after: Decimal
    total_saving: Decimal
    acceptance_reference: str
    how_to_accept: str
    expiry_date: date
    currency: str = "EUR"
    signatory: str | None = None
    customer_account_number: str | None = None

    def __post_init__(self) -> None:
        _require_decimal(
            self,
            monthly_cost_before=self.monthly_cost_before,
            monthly_cost_after=self.monthly_cost_after,
            total_saving=self.total_saving,
        )
        _require_date(self, letter_date=self.letter_date, expiry_date=self.expiry_date)
        if not self.acceptance_reference.strip():
            raise ValueError("OfferLetterDocument.acceptance_reference must not be empty")
        if self.expiry_date < self.letter_date:
            raise ValueError("OfferLetterDocument: the offer expires before the letter is dated")

    @property
    def monthly_saving(self) -> Decimal:
        return self.monthly_cost_before - self.monthly_cost_after
