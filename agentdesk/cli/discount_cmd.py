"""`agentdesk discount ...`: ad hoc discounts from the command line - what waits for my approval, approve
or cancel one (managers), confirm an approved assignment (the agent), and accounting's approval or
send-back. The database decides who may do each; a refusal prints its one-line reason and exits 2.

Without --version, approve and cancel act on the discount as it is now (a script has no stale screen to
protect); give --version to refuse if someone changed it since you looked.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from agentdesk.bootstrap import Database
from agentdesk.cli.common import open_database
from agentdesk.domain.money import format_money
from agentdesk.domain.periods import format_date
from agentdesk.services import accounting, approvals, tickets
from agentdesk.services.offers import DiscountInfo


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    discount = subparsers.add_parser("discount", help="ad hoc discounts: pending, approve, cancel, confirm")
    sub = discount.add_subparsers(dest="discount_command", metavar="ACTION", required=True)

    pending = sub.add_parser("pending", help="discounts waiting for my units' approval")
    pending.add_argument("--all", action="store_true", help="every unit's, not only mine")
    pending.set_defaults(handler=pending_command)

    show = sub.add_parser("show", help="one discount")
    show.add_argument("id", type=int)
    show.set_defaults(handler=show_command)

    approve = sub.add_parser("approve", help="approve a pending discount (managers of its unit)")
    approve.add_argument("id", type=int)
    approve.add_argument("--version", type=int, help="refuse if the discount changed since this version")
    approve.set_defaults(handler=approve_command)

    cancel = sub.add_parser("cancel", help="cancel (refuse) a pending discount")
    cancel.add_argument("id", type=int)
    cancel.add_argument("--reason", required=True)
    cancel.add_argument("--version", type=int)
    cancel.set_defaults(handler=cancel_command)

    confirm = sub.add_parser("confirm", help="confirm a ticket's approved discount: on to accounting")
    confirm.add_argument("ticket", help="ticket number, e.g. T-000123")
    confirm.set_defaults(handler=confirm_command)

    book = sub.add_parser("accounting-approve", help="accounting: store the billing item records, close the ticket")
    book.add_argument("ticket")
    book.set_defaults(handler=accounting_approve_command)

    back = sub.add_parser("send-back", help="accounting: return the ticket to its agent")
    back.add_argument("ticket")
    back.add_argument("--reason", required=True)
    back.set_defaults(handler=send_back_command)


def _run(args: argparse.Namespace, work: Callable[[Database], int]) -> int:
    db = open_database(args)
    try:
        return work(db)
    finally:
        db.dispose()


def _describe(d: DiscountInfo) -> str:
    value = (f"{format_money(d.amount)}" if d.amount is not None
             else f"{format_money(d.percentage)}%" if d.percentage is not None
             else f"{d.free_periods} free period(s)")
    when = f" from {format_date(d.effective_date)}" if d.effective_date else ""
    until = f" until {format_date(d.expiration_date)}" if d.expiration_date else ""
    return f"discount {d.id} {d.definition_code} {value}{when}{until}: {d.state.replace('_', ' ')}"


def pending_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        found = approvals.pending_approvals(db, all_units=args.all)
        for p in found:
            print(f"{p.discount_id:>6} v{p.version}  {p.definition_code:<16} {p.value_text:<22} "
                  f"{p.periods:>3} x {format_money(p.cost_per_period)} = {format_money(p.total_cost)} "
                  f"({format_money(p.cost_percent)}% of service)")
            print(f"        {p.account_number} {p.customer_name} ({p.segment}, value "
                  f"{format_money(p.lifetime_value, thousands=True)}); cap {p.cap_text}; by {p.provided_by} "
                  f"on ticket {p.ticket_number or '-'}")
        print(f"{len(found)} discount{'s' if len(found) != 1 else ''} waiting")
        return 0

    return _run(args, work)


def show_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        d = approvals.get_discount(db, args.id)
        print(_describe(d))
        print(f"  provided by {d.provided_by} on {d.provided_on:%d/%m/%Y %H:%M}; approval {d.approval_method}")
        if d.approved_by and d.approved_on:
            print(f"  approved by {d.approved_by} on {d.approved_on:%d/%m/%Y %H:%M}")
        if d.cancelled_by and d.cancelled_on:
            print(f"  cancelled by {d.cancelled_by} on {d.cancelled_on:%d/%m/%Y %H:%M}: {d.cancel_reason}")
        print(f"  billing items: {', '.join(str(i) for i in d.billing_item_ids)}; EDIFICE type {d.edifice_type}")
        return 0

    return _run(args, work)


def approve_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        version = args.version if args.version is not None else approvals.get_discount(db, args.id).version
        print("approved " + _describe(approvals.approve_discount(db, args.id, version)))
        return 0

    return _run(args, work)


def cancel_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        version = args.version if args.version is not None else approvals.get_discount(db, args.id).version
        print("cancelled " + _describe(approvals.cancel_discount(db, args.id, version, args.reason)))
        return 0

    return _run(args, work)


def confirm_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        t = tickets.find_ticket(db, args.ticket)
        summary = approvals.confirm_assignment(db, t.id, t.version)
        print(f"confirmed: ticket {summary.number} is in the accounting queue")
        return 0

    return _run(args, work)


def accounting_approve_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        t = tickets.find_ticket(db, args.ticket)
        result = accounting.accounting_approve(db, t.id, t.version)
        for r in result.records:
            print(f"record {r.id}: {r.service_description} ({r.service_frequency}, {format_money(r.service_cost)}) "
                  f"less {format_money(r.approved_discount)} = {format_money(r.discount_percent)}%, "
                  f"{r.discount_frequency}")
        print(f"ticket {result.ticket.number} closed: {result.ticket.resolution}")
        return 0

    return _run(args, work)


def send_back_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        t = tickets.find_ticket(db, args.ticket)
        summary = accounting.send_back(db, t.id, t.version, args.reason)
        print(f"ticket {summary.number} sent back to {summary.assigned_to}")
        return 0

    return _run(args, work)
