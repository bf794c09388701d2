"""Payments against issued invoices, with the EDIFICE discounts that are taken at payment.

* **Term** discount ("less X if paid by DATE"): taken with the first payment received on or before the
  invoice's ``term_discount_date``; a payment after that date gets nothing.
* **Cumulative term** discount (e.g. senior citizens): taken with the first payment, whatever its date.
* What a payment and its discount settle is added to ``invoice.paid_total`` by the database (trigger
  ``apply_payment``), which also refuses a payment beyond the balance, in another currency, or against
  anything but an issued invoice; this service checks the same first to say so clearly.
* Balance = ``gross_total - paid_total``. A discount is never more than the balance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text

from agentdesk.billing.numbering import format_number
from agentdesk.bootstrap import Database
from agentdesk.domain.errors import NotFound, RuleViolation, ValidationError
from agentdesk.domain.money import CENT, ZERO, format_money
from agentdesk.domain.periods import format_date


@dataclass(frozen=True)
class PaymentResult:
    payment_id: int
    invoice_id: int
    invoice_number: str
    amount: Decimal
    currency: str
    discount_taken: Decimal  # term / cumulative-term discount settled with this payment
    paid_total: Decimal
    balance: Decimal


def discount_due_at_payment(*, term_amount: Decimal, term_date: dt.date | None, cumulative_amount: Decimal,
                            already_taken: Decimal, received_on: dt.date, balance: Decimal) -> Decimal:
    """The payment discount a payment received on ``received_on`` settles (see the module docstring)."""
    offered = cumulative_amount
    if term_amount > 0 and term_date is not None and received_on <= term_date:
        offered += term_amount
    return max(min(offered - already_taken, balance), ZERO)


def record_payment(db: Database, invoice_id: int, amount: Decimal, currency: str, received_on: dt.date,
                   method: str = "bank_transfer", reference: str | None = None) -> PaymentResult:
    """Record a payment; the discount due at payment is taken with it. Clear errors for wrong inputs."""
    if not isinstance(amount, Decimal):
        raise ValidationError("amount", "The amount must be a decimal amount such as 20.00")
    if amount <= 0:
        raise ValidationError("amount", "A payment must be more than 0.00")
    if amount != amount.quantize(CENT):
        raise ValidationError("amount", f"The amount {amount} has more than 2 decimals")
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError("currency", f"'{currency}' is not a currency code: use three letters such as EUR")
    with db.session() as s:
        inv = s.execute(text(
            "SELECT id, kind, state, series, number, currency, gross_total, paid_total, term_discount_amount,"
            " term_discount_date, cumulative_discount_amount FROM invoice WHERE id = :id FOR UPDATE"
        ), {"id": invoice_id}).mappings().first()
        if inv is None:
            raise NotFound("Invoice", invoice_id)
        number = format_number(inv["series"], inv["number"])
        today = s.execute(text("SELECT current_date")).scalar_one()
        if received_on > today:
            raise ValidationError("received_on", f"A payment cannot be received after today ({format_date(today)}): "
                                                 "check the date")
        if inv["kind"] != "invoice" or inv["state"] != "issued":
            what = "a credit note" if inv["kind"] != "invoice" else f"{inv['state']}"
            raise RuleViolation(f"{number} is {what}: payments are recorded against issued invoices only")
        if currency != inv["currency"]:
            raise ValidationError("currency",
                                  f"Invoice {number} is in {inv['currency']}, the payment in {currency}: "
                                  f"record the amount received in {inv['currency']}")
        balance = inv["gross_total"] - inv["paid_total"]
        if balance <= 0:
            raise RuleViolation(f"Invoice {number} is already paid in full")
        already = s.execute(text("SELECT coalesce(sum(term_discount_taken), 0) FROM payment WHERE invoice_id = :id"),
                            {"id": invoice_id}).scalar_one()
        discount = discount_due_at_payment(
            term_amount=inv["term_discount_amount"], term_date=inv["term_discount_date"],
            cumulative_amount=inv["cumulative_discount_amount"], already_taken=already, received_on=received_on,
            balance=balance)
        payable = balance - discount
        if amount > payable:
            after = f" after the discount of {format_money(discount)} taken at payment" if discount else ""
            raise ValidationError(
                "amount",
                f"The payment of {format_money(amount)} {currency} is more than the balance of "
                f"{format_money(payable)} {currency} on invoice {number}{after}",
            )
        payment_id = int(s.execute(text(
            "INSERT INTO payment (invoice_id, amount, currency, received_on, method, reference, term_discount_taken)"
            " VALUES (:i, :a, :c, :d, :m, :r, :t) RETURNING id"
        ), {"i": invoice_id, "a": amount, "c": currency, "d": received_on, "m": method, "r": reference,
            "t": discount}).scalar_one())
        paid_total = s.execute(text("SELECT paid_total FROM invoice WHERE id = :id"), {"id": invoice_id}).scalar_one()
    return PaymentResult(payment_id=payment_id, invoice_id=invoice_id, invoice_number=number, amount=amount,
                         currency=currency, discount_taken=discount, paid_total=paid_total,
                         balance=inv["gross_total"] - paid_total)


def describe(result: PaymentResult) -> str:
    """One line for the CLI and the status bar."""
    discount = f", discount taken {format_money(result.discount_taken)}" if result.discount_taken else ""
    settled = "paid in full" if result.balance == 0 else f"balance {format_money(result.balance)} {result.currency}"
    return (f"Payment of {format_money(result.amount)} {result.currency} recorded on {result.invoice_number}"
            f"{discount}; {settled}")


def term_offer_text(term_amount: Decimal, term_date: dt.date | None) -> str:
    if term_amount <= 0 or term_date is None:
        return ""
    return f"less {format_money(term_amount)} if paid by {format_date(term_date)}"
