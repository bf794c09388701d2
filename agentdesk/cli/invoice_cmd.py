"""`agentdesk invoice list|show|pdf|issue|credit`: invoices and credit notes from the command line.

Numbers are written as printed on the document, `INV-2026-000001` (or `INV-2026-1`); `#123` names an
invoice by its database id (drafts have no number yet).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agentdesk.cli.billing_cmd import customer_id_of
from agentdesk.cli.common import open_database
from agentdesk.domain.money import format_money
from agentdesk.domain.periods import format_date
from agentdesk.services import invoices


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = subparsers.add_parser("invoice", help="invoices: list, show, pdf, issue, credit")
    sub = cmd.add_subparsers(dest="invoice_command", metavar="ACTION", required=True)

    lst = sub.add_parser("list", help="list invoices, newest first")
    lst.add_argument("--customer", metavar="ACCOUNT|ID")
    lst.add_argument("--state", choices=("draft", "issued", "credited"))
    lst.add_argument("--kind", choices=("invoice", "credit_note"))
    lst.add_argument("--period", metavar="YYYY-MM", help="invoices whose service period touches this month")
    lst.add_argument("--unpaid", action="store_true", help="issued invoices with a balance")
    lst.add_argument("--limit", type=int, default=50)
    lst.set_defaults(handler=list_command)

    show = sub.add_parser("show", help="one invoice with its lines and payments")
    show.add_argument("number", metavar="NUMBER")
    show.set_defaults(handler=show_command)

    pdf = sub.add_parser("pdf", help="write invoices as PDF files")
    pdf.add_argument("numbers", nargs="+", metavar="NUMBER")
    pdf.add_argument("-o", "--output-dir", type=Path, default=Path("."), metavar="DIR")
    pdf.add_argument("--combined", action="store_true", help="one PDF with all of them (for printing)")
    pdf.add_argument("--name", default="invoices.pdf", help="file name of the combined PDF")
    pdf.set_defaults(handler=pdf_command)

    issue = sub.add_parser("issue", help="issue a draft (it takes the next number)")
    issue.add_argument("number", metavar="#ID")
    issue.set_defaults(handler=issue_command)

    credit = sub.add_parser("credit", help="credit an issued invoice in full with a credit note")
    credit.add_argument("number", metavar="NUMBER")
    credit.add_argument("--reason", required=True)
    credit.set_defaults(handler=credit_command)


def list_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        customer = customer_id_of(db, args.customer) if args.customer else None
        rows = invoices.list_invoices(db, customer_id=customer, state=args.state, kind=args.kind, period=args.period,
                                      unpaid_only=args.unpaid, limit=args.limit)
    finally:
        db.dispose()
    if not rows:
        print("No invoices match")
        return 0
    print(f"{'Number':<18} {'Kind':<11} {'State':<9} {'Customer':<11} {'Issued':<10} {'Total':>11} {'Balance':>11}")
    for inv in rows:
        issued = format_date(inv.issue_date) if inv.issue_date else ""
        print(f"{inv.number:<18} {inv.kind:<11} {inv.state:<9} {inv.account_number:<11} {issued:<10} "
              f"{format_money(inv.gross_total):>11} {format_money(inv.balance):>11}")
    return 0


def show_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        detail = invoices.get_invoice(db, invoices.resolve(db, args.number).id)
    finally:
        db.dispose()
    inv = detail.invoice
    print(f"{'Credit note' if inv.kind == 'credit_note' else 'Invoice'} {inv.number} ({inv.state})")
    if inv.credits_number:
        print(f"  credits:   {inv.credits_number}")
    print(f"  customer:  {inv.account_number} {inv.buyer_name}" + (f", VAT {detail.buyer_vat_id}" if detail.buyer_vat_id else ""))
    print(f"  issued:    {format_date(inv.issue_date) if inv.issue_date else '-'}, due "
          f"{format_date(inv.due_date) if inv.due_date else '-'}")
    for line in detail.lines:
        discount = f" -{format_money(line.discount)}" if line.discount else ""
        print(f"  {line.line_no:>2}. {line.description[:50]:<50} {format_money(line.gross):>10}{discount:>10}"
              f" {format_money(line.net):>10}  VAT {line.tax_rate}%")
        if line.discount_label:
            print(f"      {line.discount_label}")
    print(f"  net {format_money(inv.net_total)} + VAT {format_money(inv.tax_total)} = "
          f"{format_money(inv.gross_total)} {inv.currency} (discounts {format_money(inv.discount_total)})")
    if inv.term_discount_amount and inv.term_discount_date:
        print(f"  less {format_money(inv.term_discount_amount)} if paid by {format_date(inv.term_discount_date)}")
    if inv.cumulative_discount_amount:
        print(f"  less {format_money(inv.cumulative_discount_amount)} at payment")
    for p in detail.payments:
        taken = f" (+ discount {format_money(p.term_discount_taken)})" if p.term_discount_taken else ""
        print(f"  paid {format_money(p.amount)} {p.currency} on {format_date(p.received_on)}{taken}")
    print(f"  balance {format_money(inv.balance)} {inv.currency}")
    return 0


def pdf_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        ids = [invoices.resolve(db, number).id for number in args.numbers]
        paths = invoices.write_pdfs(db, ids, args.output_dir, combined=args.combined, combined_name=args.name)
    finally:
        db.dispose()
    for path in paths:
        print(path)
    return 0


def issue_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        inv = invoices.issue_invoice(db, invoices.resolve(db, args.number).id)
    finally:
        db.dispose()
    print(f"Issued {inv.number}")
    return 0


def credit_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        original = invoices.resolve(db, args.number)
        note = invoices.create_credit_note(db, original.id, args.reason)
    finally:
        db.dispose()
    print(f"Credit note {note.number} issued for {original.number} ({format_money(note.gross_total)} {note.currency})")
    return 0
