"""`agentdesk payment record|list`: payments received against issued invoices.

`payment record INV-2026-000001 85.00 [--date 2026-11-30] [--currency EUR]` records a payment; a term
discount is taken when the payment is received by the invoice's discount date, a cumulative-term discount
whatever the date. A payment beyond the balance or in another currency is refused with the reason.
"""

from __future__ import annotations

import argparse
import datetime as dt

from agentdesk.cli.common import open_database
from agentdesk.domain.errors import ValidationError
from agentdesk.domain.money import format_money, parse_money
from agentdesk.domain.periods import format_date
from agentdesk.services import invoices, payments


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = subparsers.add_parser("payment", help="payments: record, list")
    sub = cmd.add_subparsers(dest="payment_command", metavar="ACTION", required=True)
    record = sub.add_parser("record", help="record a payment received for an invoice")
    record.add_argument("invoice", metavar="INVOICE", help="invoice number as printed, e.g. INV-2026-000001")
    record.add_argument("amount", metavar="AMOUNT", help="amount received, e.g. 85.00")
    record.add_argument("--date", metavar="YYYY-MM-DD", help="day the payment was received (default: today)")
    record.add_argument("--currency", default="EUR")
    record.add_argument("--method", default="bank_transfer")
    record.add_argument("--reference", help="bank reference")
    record.set_defaults(handler=record_command)
    lst = sub.add_parser("list", help="payments of an invoice")
    lst.add_argument("invoice", metavar="INVOICE")
    lst.set_defaults(handler=list_command)


def parse_day(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError("date", f"'{text}' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-30") from None


def record_command(args: argparse.Namespace) -> int:
    amount = parse_money(args.amount, "amount")
    received = parse_day(args.date)
    db = open_database(args)
    try:
        invoice = invoices.resolve(db, args.invoice)
        result = payments.record_payment(db, invoice.id, amount, args.currency, received, args.method, args.reference)
    finally:
        db.dispose()
    print(payments.describe(result))
    return 0


def list_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        detail = invoices.get_invoice(db, invoices.resolve(db, args.invoice).id)
    finally:
        db.dispose()
    inv = detail.invoice
    if not detail.payments:
        print(f"No payments on {inv.number}; balance {format_money(inv.balance)} {inv.currency}")
        return 0
    for p in detail.payments:
        taken = f", discount taken {format_money(p.term_discount_taken)}" if p.term_discount_taken else ""
        print(f"{format_date(p.received_on)}  {format_money(p.amount):>10} {p.currency}  {p.method}"
              f"{'  ' + p.reference if p.reference else ''}{taken}  (by {p.recorded_by})")
    print(f"balance {format_money(inv.balance)} {inv.currency}")
    return 0
