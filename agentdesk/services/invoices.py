"""Invoices: list and look up, issue a draft, correct with a credit note, print to PDF.

Plain frozen dataclasses go out; nothing returned holds a database session. Numbers are printed
``INV-2026-000001`` (see :mod:`agentdesk.billing.numbering`); the database assigns them, gap-free per
series, when a draft is issued. An issued invoice never changes: a correction is a credit note (kind
``credit_note``, own series ``CN-<year>``) for the whole invoice, which marks the original ``credited``;
the customer is then billed again correctly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text

from agentdesk.billing import documents
from agentdesk.billing.numbering import format_number, parse_number, series_for
from agentdesk.billing.periods import parse_period
from agentdesk.bootstrap import Database
from agentdesk.db.models.base import INVOICE_KINDS, INVOICE_STATES
from agentdesk.domain.errors import AgentDeskError, NotFound, RuleViolation, ValidationError


class PdfUnavailable(AgentDeskError):
    """The PDF could not be made: a font or the letterhead is missing (the message says which)."""


@dataclass(frozen=True)
class InvoiceSummary:
    id: int
    number: str  # "INV-2026-000001", or "INV-2026 (draft)"
    kind: str
    state: str
    customer_id: int
    account_number: str
    buyer_name: str
    period_start: dt.date
    period_end: dt.date  # exclusive
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    discount_total: Decimal
    term_discount_amount: Decimal
    term_discount_date: dt.date | None
    cumulative_discount_amount: Decimal
    paid_total: Decimal
    credits_number: str | None
    billing_run_id: int | None

    @property
    def balance(self) -> Decimal:
        """What is still owed (payments and discounts taken at payment are settled amounts)."""
        return self.gross_total - self.paid_total if self.kind == "invoice" and self.state == "issued" else Decimal(0)


@dataclass(frozen=True)
class InvoiceLineView:
    line_no: int
    description: str
    frequency: str
    period_start: dt.date
    period_end: dt.date
    quantity: int
    unit_price: Decimal
    gross: Decimal
    discount: Decimal
    discount_percent: Decimal
    discount_label: str | None
    net: Decimal
    tax_rate: Decimal
    tax: Decimal
    payment_discount: Decimal


@dataclass(frozen=True)
class PaymentView:
    id: int
    amount: Decimal
    currency: str
    received_on: dt.date
    method: str
    reference: str | None
    term_discount_taken: Decimal
    recorded_by: str


@dataclass(frozen=True)
class InvoiceDetail:
    invoice: InvoiceSummary
    lines: tuple[InvoiceLineView, ...]
    payments: tuple[PaymentView, ...]
    buyer_address: str
    buyer_vat_id: str | None
    note: str | None


_SUMMARY_SQL = """
    SELECT i.id, i.series, i.number, i.kind, i.state, i.customer_id, c.account_number, i.buyer_name,
           i.period_start, i.period_end, i.issue_date, i.due_date, i.currency, i.net_total, i.tax_total,
           i.gross_total, i.discount_total, i.term_discount_amount, i.term_discount_date,
           i.cumulative_discount_amount, i.paid_total, o.series AS o_series, o.number AS o_number, i.billing_run_id
    FROM invoice i JOIN customer c ON c.id = i.customer_id LEFT JOIN invoice o ON o.id = i.credits_invoice_id
"""


def _summary(r: Any) -> InvoiceSummary:
    return InvoiceSummary(
        id=int(r["id"]), number=format_number(r["series"], r["number"]), kind=r["kind"], state=r["state"],
        customer_id=int(r["customer_id"]), account_number=r["account_number"], buyer_name=r["buyer_name"],
        period_start=r["period_start"], period_end=r["period_end"], issue_date=r["issue_date"],
        due_date=r["due_date"], currency=r["currency"], net_total=r["net_total"], tax_total=r["tax_total"],
        gross_total=r["gross_total"], discount_total=r["discount_total"],
        term_discount_amount=r["term_discount_amount"], term_discount_date=r["term_discount_date"],
        cumulative_discount_amount=r["cumulative_discount_amount"], paid_total=r["paid_total"],
        credits_number=format_number(r["o_series"], r["o_number"]) if r["o_series"] else None,
        billing_run_id=r["billing_run_id"],
    )


def list_invoices(db: Database, *, customer_id: int | None = None, state: str | None = None,
                  kind: str | None = None, period: str | None = None, billing_run_id: int | None = None,
                  unpaid_only: bool = False, search: str | None = None, limit: int = 200,
                  after_id: int | None = None, min_total: Decimal | None = None,
                  max_total: Decimal | None = None) -> list[InvoiceSummary]:
    """Invoices newest first, filtered (the amount bounds apply to the gross total, inclusive); page with
    ``after_id`` (the last id of the previous page)."""
    where = ["TRUE"]
    params: dict[str, Any] = {"n": max(1, min(limit, 10_000))}
    if customer_id is not None:
        where.append("i.customer_id = :cust")
        params["cust"] = customer_id
    if state is not None:
        if state not in INVOICE_STATES:
            raise ValidationError("state", f"Unknown invoice state '{state}': one of {', '.join(INVOICE_STATES)}")
        where.append("i.state = :state")
        params["state"] = state
    if kind is not None:
        if kind not in INVOICE_KINDS:
            raise ValidationError("kind", f"Unknown kind '{kind}': one of {', '.join(INVOICE_KINDS)}")
        where.append("i.kind = :kind")
        params["kind"] = kind
    if period is not None:
        per = parse_period(period)
        where.append("i.period_start < :pe AND i.period_end > :ps")
        params.update(ps=per.start, pe=per.end)
    if billing_run_id is not None:
        where.append("i.billing_run_id = :run")
        params["run"] = billing_run_id
    if unpaid_only:
        where.append("i.kind = 'invoice' AND i.state = 'issued' AND i.paid_total < i.gross_total")
    if search:
        where.append("(c.account_number ILIKE :q OR i.buyer_name ILIKE :q OR "
                     "(i.series || '-' || lpad(i.number::text, 6, '0')) ILIKE :q)")
        params["q"] = f"%{search.strip()}%"
    if min_total is not None and max_total is not None and max_total < min_total:
        raise ValidationError("max_total", "The upper amount must not be below the lower amount")
    if min_total is not None:
        where.append("i.gross_total >= :lo")
        params["lo"] = min_total
    if max_total is not None:
        where.append("i.gross_total <= :hi")
        params["hi"] = max_total
    if after_id is not None:
        where.append("i.id < :after")
        params["after"] = after_id
    with db.session() as s:
        rows = s.execute(text(_SUMMARY_SQL + " WHERE " + " AND ".join(where) + " ORDER BY i.id DESC LIMIT :n"),
                         params).mappings().all()
    return [_summary(r) for r in rows]


def get_invoice(db: Database, invoice_id: int) -> InvoiceDetail:
    with db.session() as s:
        head = s.execute(text(_SUMMARY_SQL + " WHERE i.id = :id"), {"id": invoice_id}).mappings().first()
        if head is None:
            raise NotFound("Invoice", invoice_id)
        extra = s.execute(text("SELECT buyer_address, buyer_vat_id, note FROM invoice WHERE id = :id"),
                          {"id": invoice_id}).one()
        lines = s.execute(text("SELECT * FROM invoice_line WHERE invoice_id = :id ORDER BY line_no"),
                          {"id": invoice_id}).mappings().all()
        payments = s.execute(text("SELECT * FROM payment WHERE invoice_id = :id ORDER BY id"),
                             {"id": invoice_id}).mappings().all()
    return InvoiceDetail(
        invoice=_summary(head),
        lines=tuple(InvoiceLineView(
            line_no=r["line_no"], description=r["description"], frequency=r["frequency"],
            period_start=r["period_start"], period_end=r["period_end"], quantity=r["quantity"],
            unit_price=r["unit_price"], gross=r["gross_amount"], discount=r["discount_amount"],
            discount_percent=r["discount_percent"], discount_label=r["discount_label"], net=r["net_amount"],
            tax_rate=r["tax_rate"], tax=r["tax_amount"], payment_discount=r["term_discount_amount"],
        ) for r in lines),
        payments=tuple(PaymentView(
            id=r["id"], amount=r["amount"], currency=r["currency"], received_on=r["received_on"],
            method=r["method"], reference=r["reference"], term_discount_taken=r["term_discount_taken"],
            recorded_by=r["recorded_by"],
        ) for r in payments),
        buyer_address=extra[0], buyer_vat_id=extra[1], note=extra[2],
    )


def find_invoice(db: Database, number: str) -> InvoiceSummary:
    """The invoice or credit note printed with ``number`` ("INV-2026-000001", "cn-2026-7")."""
    parsed = parse_number(number)
    with db.session() as s:
        row = s.execute(text(_SUMMARY_SQL + " WHERE i.series = :s AND i.number = :n"),
                        {"s": parsed.series, "n": parsed.number}).mappings().first()
    if row is None:
        raise NotFound("Invoice", str(parsed))
    return _summary(row)


def resolve(db: Database, number_or_id: str) -> InvoiceSummary:
    """A printed number, or a database id given as ``#123`` / ``123``."""
    key = number_or_id.strip().lstrip("#")
    if key.isdigit():
        return invoice_summary(db, int(key))
    return find_invoice(db, number_or_id)


def invoice_summary(db: Database, invoice_id: int) -> InvoiceSummary:
    with db.session() as s:
        row = s.execute(text(_SUMMARY_SQL + " WHERE i.id = :id"), {"id": invoice_id}).mappings().first()
    if row is None:
        raise NotFound("Invoice", f"#{invoice_id}")
    return _summary(row)


def issue_invoice(db: Database, invoice_id: int) -> InvoiceSummary:
    """Issue a draft: it takes the next gap-free number of its kind's series for this year."""
    with db.session() as s:
        row = s.execute(text("SELECT kind, state FROM invoice WHERE id = :id FOR UPDATE"), {"id": invoice_id}).first()
        if row is None:
            raise NotFound("Invoice", invoice_id)
        if row[1] != "draft":
            raise RuleViolation(f"Invoice #{invoice_id} is already {row[1]}")
        prefix_col = "credit_note_series" if row[0] == "credit_note" else "invoice_series"
        prefix, year = s.execute(text(f"SELECT {prefix_col}, extract(year FROM current_date)::int "
                                      "FROM company_settings WHERE id = 1")).one()
        s.execute(text("UPDATE invoice SET series = :s WHERE id = :id"), {"s": series_for(prefix, year), "id": invoice_id})
        s.execute(text("SELECT billing_issue_invoices(:ids)"), {"ids": [invoice_id]})
    return invoice_summary(db, invoice_id)


def create_credit_note(db: Database, invoice_id: int, reason: str) -> InvoiceSummary:
    """Credit an issued invoice in full: an issued credit note (series CN-<year>) and the original credited."""
    if not (reason or "").strip():
        raise ValidationError("reason", "Say why the invoice is credited (it is printed on the credit note)")
    with db.session() as s:
        original = s.execute(text("SELECT * FROM invoice WHERE id = :id FOR UPDATE"), {"id": invoice_id}).mappings().first()
        if original is None:
            raise NotFound("Invoice", invoice_id)
        number = format_number(original["series"], original["number"])
        if original["kind"] != "invoice":
            raise RuleViolation(f"{number} is a credit note: only invoices are credited")
        if original["state"] != "issued":
            raise RuleViolation(f"Invoice {number} is {original['state']}: only an issued invoice can be credited")
        prefix, year = s.execute(text(
            "SELECT credit_note_series, extract(year FROM current_date)::int FROM company_settings WHERE id = 1")).one()
        new_id = int(s.execute(text(
            "INSERT INTO invoice (kind, state, series, customer_id, credits_invoice_id, period_start, period_end,"
            " due_date, currency, buyer_name, buyer_address, buyer_vat_id, net_total, tax_total, gross_total,"
            " discount_total, note) "
            "SELECT 'credit_note', 'draft', :series, customer_id, id, period_start, period_end, current_date, currency,"
            " buyer_name, buyer_address, buyer_vat_id, net_total, tax_total, gross_total, discount_total, :note "
            "FROM invoice WHERE id = :id RETURNING id"
        ), {"series": series_for(prefix, year), "id": invoice_id,
            "note": f"Credits invoice {number} in full. Reason: {reason.strip()}"}).scalar_one())
        s.execute(text(
            "INSERT INTO invoice_line (invoice_id, line_no, billing_item_id, description, frequency, period_start,"
            " period_end, quantity, unit_price, gross_amount, discount_amount, discount_percent, discount_label,"
            " net_amount, tax_rate, tax_amount, edifice_type, term_discount_amount) "
            "SELECT :new, line_no, billing_item_id, description, frequency, period_start, period_end, quantity,"
            " unit_price, gross_amount, discount_amount, discount_percent, discount_label, net_amount, tax_rate,"
            " tax_amount, edifice_type, 0 FROM invoice_line WHERE invoice_id = :id ORDER BY line_no"
        ), {"new": new_id, "id": invoice_id})
        s.execute(text("SELECT billing_issue_invoices(:ids)"), {"ids": [new_id]})
        s.execute(text("UPDATE invoice SET state = 'credited' WHERE id = :id"), {"id": invoice_id})
    return invoice_summary(db, new_id)


# -- PDF ---------------------------------------------------------------------------------------------------


def _render(docs: Sequence[Any], combined: bool) -> list[bytes]:
    from agentdesk.pdf.fonts import FontMissingError
    from agentdesk.pdf.invoice import render_invoice, render_invoices_combined

    try:
        if combined:
            return [render_invoices_combined(docs)]
        return [render_invoice(doc) for doc in docs]
    except FontMissingError as exc:
        raise PdfUnavailable(str(exc)) from exc
    except OSError as exc:  # e.g. an unreadable resource file
        raise PdfUnavailable(f"The invoice PDF could not be made: {exc}") from exc


def invoice_pdf(db: Database, invoice_id: int) -> bytes:
    """The PDF of one issued invoice or credit note."""
    with db.session() as s:
        docs = documents.documents_for(s, [invoice_id])
    return _render(docs, combined=False)[0]


def invoices_pdf_combined(db: Database, invoice_ids: Sequence[int]) -> bytes:
    """One PDF holding these documents in order (each starts on a new page)."""
    if not invoice_ids:
        raise ValidationError("invoices", "Name at least one invoice to print")
    with db.session() as s:
        docs = documents.documents_for(s, invoice_ids)
    return _render(docs, combined=True)[0]


def pdf_file_name(number: str) -> str:
    return f"{number}.pdf"


def write_pdf(db: Database, invoice_id: int, folder: Path) -> Path:
    """Write ``<number>.pdf`` into ``folder`` (created if missing); returns the file's path."""
    with db.session() as s:
        [doc] = documents.documents_for(s, [invoice_id])
    data = _render([doc], combined=False)[0]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / pdf_file_name(doc.number)
    tmp = path.with_suffix(".pdf.part")
    tmp.write_bytes(data)
    tmp.replace(path)  # never a half-written PDF under the real name
    return path


def write_pdfs(db: Database, invoice_ids: Sequence[int], folder: Path, *, combined: bool = False,
               combined_name: str = "invoices.pdf") -> list[Path]:
    """Write one file per invoice, or one combined file; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    with db.session() as s:
        docs = documents.documents_for(s, invoice_ids)
    outputs = _render(docs, combined=combined)
    names = [combined_name] if combined else [pdf_file_name(doc.number) for doc in docs]
    paths = []
    for name, data in zip(names, outputs, strict=True):
        path = folder / name
        tmp = path.with_suffix(".pdf.part")
        tmp.write_bytes(data)
        tmp.replace(path)
        paths.append(path)
    return paths
