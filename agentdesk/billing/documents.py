"""From stored invoices to the PDF layer's plain documents (:class:`agentdesk.pdf.documents.InvoiceDocument`).

The seller comes from ``company_settings``; the buyer from the snapshot taken when the invoice was made
(name, address, VAT id), so a later change of the customer's address never alters an issued invoice.
Service periods are stored end-exclusive and printed inclusive ("1-30 Nov 2026").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from agentdesk.billing.numbering import format_number
from agentdesk.billing.plan import ROUNDING_NOTE
from agentdesk.domain.billing_math import term_discount_note
from agentdesk.domain.errors import AgentDeskError, NotFound
from agentdesk.pdf import formatting
from agentdesk.pdf.documents import (
    CompanyLetterhead,
    DocumentKind,
    InvoiceDocument,
    InvoiceLine,
    Party,
    TaxSummaryRow,
    TermDiscountOffer,
)

_FREQUENCY_TEXT = {"monthly": "Monthly", "quarterly": "Quarterly", "annual": "Annual", "once": "One-off"}


def letterhead(session: Session) -> CompanyLetterhead:
    """The issuing company, from the one row of ``company_settings``."""
    row = session.execute(text("SELECT * FROM company_settings WHERE id = 1")).mappings().first()
    if row is None or not (row["vat_id"] or "").strip():
        raise AgentDeskError(
            "The company settings (letterhead: name, address, VAT id, bank) are missing: an administrator must "
            "enter them before invoices can be printed"
        )
    party = Party(
        name=row["name"], address_lines=tuple(x for x in (row["address_line1"], row["address_line2"]) if x),
        postal_code=row["postal_code"], city=row["city"], country=row["country"], vat_id=row["vat_id"],
        email=row["email"], phone=row["phone"],
    )
    days = int(row["payment_terms_days"])
    return CompanyLetterhead(
        party=party, iban=row["iban"], bic=row["bic"] or "", bank_name=row["bank_name"] or "",
        website=row["website"] or "", phone=row["phone"] or "", email=row["email"] or "",
        payment_terms_text=f"Payable within {days} days of the issue date, quoting the payment reference.",
        footer_text=f"{row['name']} · VAT ID {row['vat_id']}",
    )


def buyer_party(name: str, address: str, vat_id: str | None) -> Party:
    """The buyer from the invoice's snapshot: street lines, then "postal code city", then the country."""
    lines = [line.strip() for line in (address or "").splitlines() if line.strip()]
    country = lines.pop() if len(lines) >= 3 else ""
    city_line = lines.pop() if len(lines) >= 2 else ""
    return Party(name=name, address_lines=tuple(lines), postal_code="", city=city_line, country=country,
                 vat_id=vat_id)


def _line(row: Any) -> InvoiceLine:
    last_day = max(row["period_end"] - timedelta(days=1), row["period_start"])
    return InvoiceLine(
        description=row["description"], period_text=formatting.period(row["period_start"], last_day),
        frequency_text=_FREQUENCY_TEXT.get(row["frequency"], row["frequency"]),
        quantity=Decimal(row["quantity"]), unit_price=row["unit_price"], gross=row["gross_amount"],
        discount_amount=row["discount_amount"], discount_percent=row["discount_percent"],
        discount_label=row["discount_label"], net=row["net_amount"], tax_rate=row["tax_rate"],
    )


def _tax_summary(lines: Sequence[Any]) -> tuple[TaxSummaryRow, ...]:
    bands: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for row in lines:
        taxable, tax = bands.get(row["tax_rate"], (Decimal(0), Decimal(0)))
        bands[row["tax_rate"]] = (taxable + row["net_amount"], tax + row["tax_amount"])
    return tuple(TaxSummaryRow(rate, taxable, tax) for rate, (taxable, tax) in sorted(bands.items()))


def documents_for(session: Session, invoice_ids: Sequence[int]) -> list[InvoiceDocument]:
    """The printable documents of these issued invoices / credit notes, in the order given (3 queries)."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids:
        return []
    seller = letterhead(session)
    heads = {int(r["id"]): r for r in session.execute(text(
        "SELECT i.*, c.account_number, o.series AS credited_series, o.number AS credited_number "
        "FROM invoice i JOIN customer c ON c.id = i.customer_id LEFT JOIN invoice o ON o.id = i.credits_invoice_id "
        "WHERE i.id = ANY(:ids)"), {"ids": ids}).mappings()}
    missing = [i for i in ids if i not in heads]
    if missing:
        raise NotFound("Invoice", missing[0])
    lines: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(text(
            "SELECT * FROM invoice_line WHERE invoice_id = ANY(:ids) ORDER BY invoice_id, line_no"), {"ids": ids}
    ).mappings():
        lines[int(row["invoice_id"])].append(row)
    return [_document(heads[i], lines[i], seller) for i in ids]


def _document(head: Any, rows: Sequence[Any], seller: CompanyLetterhead) -> InvoiceDocument:
    number = format_number(head["series"], head["number"])
    if head["state"] == "draft" or head["issue_date"] is None:
        raise AgentDeskError(f"Invoice {number} is a draft: issue it before printing it")
    credit = head["kind"] == "credit_note"
    notes: list[str] = []
    if head["note"]:
        notes.append(head["note"])
    if head["cumulative_discount_amount"] and not credit:
        notes.append(f"Cumulative term discount: {term_discount_note(head['cumulative_discount_amount'], None)}"
                     " (whatever the payment date).")
    notes.append(ROUNDING_NOTE)
    term = None
    if not credit and head["term_discount_amount"] and head["term_discount_date"]:
        term = TermDiscountOffer(head["term_discount_amount"], head["term_discount_date"])
    return InvoiceDocument(
        kind=DocumentKind.CREDIT_NOTE if credit else DocumentKind.INVOICE,
        series=head["series"], number=number, issue_date=head["issue_date"],
        due_date=head["due_date"] or head["issue_date"], period_start=head["period_start"],
        period_end=max(head["period_end"] - timedelta(days=1), head["period_start"]), seller=seller,
        buyer=buyer_party(head["buyer_name"], head["buyer_address"], head["buyer_vat_id"]),
        customer_account_number=head["account_number"], lines=tuple(_line(r) for r in rows),
        tax_summary=_tax_summary(rows), net_total=head["net_total"], tax_total=head["tax_total"],
        gross_total=head["gross_total"], discount_total=head["discount_total"], term_discount=term,
        currency=head["currency"],
        credited_invoice_number=format_number(head["credited_series"], head["credited_number"]) if credit else None,
        notes=tuple(notes),
    )
