"""Billing runs, invoices and their lines, gap-free numbering, payments, discount applications."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.db.models.base import (
    EDIFICE_TYPES,
    INVOICE_KINDS,
    INVOICE_STATES,
    RUN_STATES,
    Base,
    Money,
    Percent,
    Timestamp,
    created_at_column,
    one_of,
)


class BillingRun(Base):
    """One run per period; running it again resumes it and adds nothing already billed."""

    __tablename__ = "billing_run"
    __table_args__ = (
        one_of("state", RUN_STATES),
        CheckConstraint("period_end > period_start", name="period_ordered"),
        UniqueConstraint("period_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)  # exclusive
    state: Mapped[str] = mapped_column(String(20), server_default="running")
    started_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    started_at: Mapped[Timestamp] = created_at_column()
    finished_at: Mapped[Timestamp | None]
    invoices_created: Mapped[int] = mapped_column(Integer, server_default="0")
    amount_billed: Mapped[Money] = mapped_column(server_default="0")
    amount_discounted: Mapped[Money] = mapped_column(server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # Progress, written in each batch's transaction: customers to bill when the latest pass began, customers
    # invoiced so far and the keyset position (highest customer id handled by the latest committed batch).
    customers_total: Mapped[int] = mapped_column(Integer, server_default="0")
    customers_done: Mapped[int] = mapped_column(Integer, server_default="0")
    last_customer_id: Mapped[int | None] = mapped_column(BigInteger)


class BillingRunProblem(Base):
    """A customer a billing run could not invoice (e.g. no billing address), and why.

    One row per run and customer; deleted again in the batch that finally invoices the customer, so the
    table always lists exactly what is still unbilled for a reason someone must fix.
    """

    __tablename__ = "billing_run_problem"
    __table_args__ = (UniqueConstraint("billing_run_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    billing_run_id: Mapped[int] = mapped_column(ForeignKey("billing_run.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    message: Mapped[str] = mapped_column(Text)
    noted_at: Mapped[Timestamp] = created_at_column()


class InvoiceCounter(Base):
    """Gap-free numbering: the next number of a series, taken under a row lock in the issuing transaction."""

    __tablename__ = "invoice_counter"
    __table_args__ = (CheckConstraint("next_number >= 1", name="next_positive"),)

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_number: Mapped[int] = mapped_column(BigInteger, server_default="1")


class Invoice(Base):
    """Draft -> Issued. An issued invoice is never edited; a credit note corrects it."""

    __tablename__ = "invoice"
    __table_args__ = (
        one_of("kind", INVOICE_KINDS),
        one_of("state", INVOICE_STATES),
        UniqueConstraint("series", "number"),
        CheckConstraint("(state = 'draft') = (number IS NULL)", name="issued_has_number"),
        CheckConstraint("(state = 'draft') = (issue_date IS NULL)", name="issued_has_date"),
        CheckConstraint("(kind = 'credit_note') = (credits_invoice_id IS NOT NULL)", name="credit_note_refers"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint(
            "net_total >= 0 AND tax_total >= 0 AND gross_total >= 0 AND discount_total >= 0 AND paid_total >= 0",
            name="totals_non_negative",
        ),
        CheckConstraint("gross_total = net_total + tax_total", name="gross_is_net_plus_tax"),
        CheckConstraint("term_discount_amount >= 0", name="term_discount_non_negative"),
        CheckConstraint("cumulative_discount_amount >= 0", name="cumulative_discount_non_negative"),
        # Exactly once: one invoice per customer per billing run.
        Index(
            "uq_invoice_run_customer",
            "billing_run_id",
            "customer_id",
            unique=True,
            postgresql_where=text("kind = 'invoice' AND billing_run_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), server_default="invoice")
    state: Mapped[str] = mapped_column(String(20), server_default="draft")
    series: Mapped[str] = mapped_column(String(20))
    number: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    billing_run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_run.id"))
    credits_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), server_default="EUR")
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_address: Mapped[str] = mapped_column(Text)
    buyer_vat_id: Mapped[str | None] = mapped_column(String(40))
    net_total: Mapped[Money] = mapped_column(server_default="0")
    tax_total: Mapped[Money] = mapped_column(server_default="0")
    gross_total: Mapped[Money] = mapped_column(server_default="0")
    discount_total: Mapped[Money] = mapped_column(server_default="0")
    term_discount_amount: Mapped[Money] = mapped_column(server_default="0")
    term_discount_date: Mapped[dt.date | None] = mapped_column(Date)
    # EDIFICE cumulative term: printed on the bill and taken at payment whatever the payment date.
    cumulative_discount_amount: Mapped[Money] = mapped_column(server_default="0")
    note: Mapped[str | None] = mapped_column(Text)  # printed on the document (e.g. why a credit note was issued)
    paid_total: Mapped[Money] = mapped_column(server_default="0")
    issued_by: Mapped[str | None] = mapped_column(String(63))
    issued_at: Mapped[Timestamp | None]
    created_at: Mapped[Timestamp] = created_at_column()


class InvoiceLine(Base):
    __tablename__ = "invoice_line"
    __table_args__ = (
        UniqueConstraint("invoice_id", "line_no"),
        one_of("edifice_type", EDIFICE_TYPES),
        CheckConstraint("gross_amount >= 0", name="gross_non_negative"),
        CheckConstraint("discount_amount >= 0 AND discount_amount <= gross_amount", name="discount_within_gross"),
        CheckConstraint("net_amount = gross_amount - discount_amount", name="net_is_gross_less_discount"),
        CheckConstraint("tax_rate BETWEEN 0 AND 100", name="tax_rate_range"),
        CheckConstraint("tax_amount >= 0", name="tax_non_negative"),
        CheckConstraint("discount_percent BETWEEN 0 AND 100", name="percent_range"),
        CheckConstraint("term_discount_amount >= 0", name="term_discount_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    billing_item_id: Mapped[int | None] = mapped_column(ForeignKey("billing_item.id"))
    description: Mapped[str] = mapped_column(String(300))
    frequency: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer, server_default="1")
    unit_price: Mapped[Money]
    gross_amount: Mapped[Money]
    discount_amount: Mapped[Money] = mapped_column(server_default="0")
    discount_percent: Mapped[Percent] = mapped_column(server_default="0")
    discount_label: Mapped[str | None] = mapped_column(String(300))
    net_amount: Mapped[Money]
    tax_rate: Mapped[Percent]
    tax_amount: Mapped[Money]
    edifice_type: Mapped[str | None] = mapped_column(String(20))
    term_discount_amount: Mapped[Money] = mapped_column(server_default="0")


class DiscountApplication(Base):
    """One use of an ad hoc discount on one billing item in one period: counts periods, enforces once."""

    __tablename__ = "discount_application"
    __table_args__ = (
        UniqueConstraint("discount_id", "billing_item_id", "period_start"),
        # Automatic (definition-based) applications have no discount row: the same exactly-once key for them.
        Index(
            "uq_discount_application_auto",
            "definition_id",
            "billing_item_id",
            "period_start",
            unique=True,
            postgresql_where=text("discount_id IS NULL"),
        ),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    discount_id: Mapped[int | None] = mapped_column(ForeignKey("adhoc_discount.id"))
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("discount_definition.id"))
    billing_item_id: Mapped[int] = mapped_column(ForeignKey("billing_item.id"))
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("invoice_line.id", ondelete="CASCADE"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Money]


class Payment(Base):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_discount_taken >= 0", name="term_discount_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(30), server_default="bank_transfer")
    reference: Mapped[str | None] = mapped_column(String(100))
    term_discount_taken: Mapped[Money] = mapped_column(server_default="0")
    recorded_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    recorded_at: Mapped[Timestamp] = created_at_column()


__all__ = [
    "BillingRun",
    "BillingRunProblem",
    "DiscountApplication",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "Payment",
]
