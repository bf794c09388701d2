"""`agentdesk ticket ...`: queues and single tickets from the command line, over the same services as the
desktop (list, counts, take, claim, release, assign, verify, update, note, show)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from agentdesk.bootstrap import Database
from agentdesk.cli.common import open_database
from agentdesk.db.models.base import CALL_TYPES, CHANNELS, CUSTOMER_SEGMENTS, TICKET_STATES
from agentdesk.domain.money import format_money
from agentdesk.services import intake, queues, tickets
from agentdesk.services.dto import QueueFilter, QueueRef, TicketSummary


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ticket = subparsers.add_parser("ticket", help="queues and tickets: list, take, show, assign, ...")
    sub = ticket.add_subparsers(dest="ticket_command", metavar="ACTION", required=True)

    lst = sub.add_parser("list", help="list a queue: a unit code (retention, ...), mine, approvals, accounting")
    lst.add_argument("queue", nargs="?", default="mine")
    lst.add_argument("--state", choices=TICKET_STATES)
    lst.add_argument("--call-type", choices=CALL_TYPES)
    lst.add_argument("--segment", choices=CUSTOMER_SEGMENTS)
    lst.add_argument("--due", choices=("overdue", "due_soon"))
    lst.add_argument("--older-than", type=int, metavar="MINUTES", help="created at least this long ago")
    lst.add_argument("--search", metavar="TEXT", help="account number, customer name or ticket number")
    lst.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")
    lst.add_argument("--all", action="store_true", help="every page, not just the first")
    lst.set_defaults(handler=list_command)

    sub.add_parser("counts", help="how many tickets wait in each queue").set_defaults(handler=counts_command)

    take = sub.add_parser("take", help="take the next ticket from my service queues")
    take.add_argument("--unit", metavar="CODE", help="from this unit's queue only")
    take.set_defaults(handler=take_command)

    for name, helptext, handler in (
        ("show", "show a ticket with its customer, notes and timeline", show_command),
        ("claim", "take this queued ticket for myself", claim_command),
        ("release", "put my ticket back in its queue", release_command),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("number", help="ticket number, e.g. T-000123")
        p.set_defaults(handler=handler)

    assign = sub.add_parser("assign", help="give a ticket to someone (managers)")
    assign.add_argument("number")
    # Not "user": that is the global --user (who signs in).
    assign.add_argument("assignee", metavar="USER", help="the login name of the person")
    assign.set_defaults(handler=assign_command)

    verify = sub.add_parser("verify", help="record that the caller is the account holder")
    verify.add_argument("number")
    verify.add_argument("--method", required=True, choices=sorted(intake.VERIFY_METHODS))
    verify.set_defaults(handler=verify_command)

    update = sub.add_parser("update", help="change a ticket's channel, call type, reason or priority")
    update.add_argument("number")
    update.add_argument("--channel", choices=CHANNELS)
    update.add_argument("--call-type", choices=CALL_TYPES)
    update.add_argument("--reason")
    update.add_argument("--priority", type=int, choices=range(1, 6))
    update.add_argument("--requested-end-date", type=dt.date.fromisoformat, metavar="YYYY-MM-DD")
    update.set_defaults(handler=update_command)

    note = sub.add_parser("note", help="add a note to a ticket")
    note.add_argument("number")
    note.add_argument("text")
    note.set_defaults(handler=note_command)


def _row(t: TicketSummary) -> str:
    return (
        f"{t.number:<10} {t.state_label:<17} P{t.priority} {t.due_at:%d/%m %H:%M}  "
        f"{format_money(t.customer_value, thousands=True):>10}  {t.account_number:<12} {t.customer_name[:24]:<24} "
        f"{t.call_type.replace('_', ' '):<18} {t.assigned_to or '-'}"
    )


def _run(args: argparse.Namespace, work: Any) -> int:
    db = open_database(args)
    try:
        result: int = work(db)
        return result
    finally:
        db.dispose()


def list_command(args: argparse.Namespace) -> int:
    filters = QueueFilter(
        state=args.state, call_type=args.call_type, segment=args.segment, due=args.due,
        min_age_minutes=args.older_than, text=args.search,
    )

    def work(db: Database) -> int:
        key = None
        shown = 0
        while True:
            page = queues.list_queue(db, QueueRef.parse(args.queue), filters, key, args.limit)
            for t in page.tickets:
                print(_row(t))
            shown += len(page.tickets)
            if page.next_key is None or not args.all:
                break
            key = page.next_key
        more = " (more: use --all)" if page.next_key is not None and not args.all else ""
        print(f"{shown} ticket{'s' if shown != 1 else ''}{more}")
        return 0

    return _run(args, work)


def counts_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        c = queues.queue_counts(db)
        for u in c.units:
            print(f"{u.unit_name:<30} {u.queued:>7} queued  {u.overdue:>6} overdue")
        print(f"{'Mine':<30} {c.mine:>7}")
        print(f"{'Approvals':<30} {c.approvals:>7}")
        print(f"{'Accounting':<30} {c.accounting:>7}")
        return 0

    return _run(args, work)


def take_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        t = queues.take_next(db, args.unit)
        if t is None:
            print("the queue is empty")
            return 1
        print(f"took {_row(t)}")
        return 0

    return _run(args, work)


def show_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        d = tickets.get_ticket(db, tickets.find_ticket(db, args.number).id)
        t, c = d.ticket, d.customer
        print(f"{t.number}  {t.state_label}{' (' + t.resolution + ')' if t.resolution else ''}  "
              f"queue {t.queue_unit_name}, priority {t.priority}, due {t.due_at:%d/%m/%Y %H:%M}")
        print(f"  {t.call_type.replace('_', ' ')} by {t.channel}; assigned to {t.assigned_to or 'nobody'}; "
              f"caller {'verified by ' + (d.verified_by or '?') if d.verified_at else 'NOT verified'}")
        if d.reason:
            print(f"  reason: {d.reason}")
        print(f"Customer {c.account_number} {c.name} ({c.segment}, {c.tenure_months} months, "
              f"{c.late_payments_12m} late payments, lifetime value {format_money(c.lifetime_value, thousands=True)})")
        print(f"  open invoices: {c.open_invoices_count} ({format_money(c.open_invoices_amount, thousands=True)})")
        s = d.service
        print(f"Service {s.kind} {s.number}: {s.description} [{s.state}]")
        for item in s.items:
            print(f"  {'*' if item.is_main else ' '} {item.product_name:<32} {item.quantity} x "
                  f"{format_money(item.unit_price)} = {format_money(item.amount)}")
        for n in d.notes:
            print(f"Note {n.created_at:%d/%m %H:%M} {n.author}: {n.body}")
        print("Timeline:")
        for e in d.timeline:
            print(f"  {e.at:%d/%m/%Y %H:%M:%S} {e.actor:<16} {e.kind:<16} {e.summary}")
        return 0

    return _run(args, work)


def claim_command(args: argparse.Namespace) -> int:
    return _run(args, lambda db: _print(queues.claim(db, tickets.find_ticket(db, args.number).id), "claimed"))


def release_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        t = tickets.find_ticket(db, args.number)
        return _print(queues.release(db, t.id, t.version), "released")

    return _run(args, work)


def assign_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        t = tickets.find_ticket(db, args.number)
        return _print(queues.assign(db, t.id, args.assignee, t.version), "assigned")

    return _run(args, work)


def verify_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        t = tickets.find_ticket(db, args.number)
        return _print(intake.verify_caller(db, t.id, t.version, args.method), "caller verified on")

    return _run(args, work)


def update_command(args: argparse.Namespace) -> int:
    changes = {
        k: v for k, v in (("channel", args.channel), ("call_type", args.call_type), ("reason", args.reason),
                          ("priority", args.priority), ("requested_end_date", args.requested_end_date))
        if v is not None
    }
    if not changes:
        print("nothing to change: give --channel, --call-type, --reason, --priority or --requested-end-date")
        return 1

    def work(db: Database) -> int:
        t = tickets.find_ticket(db, args.number)
        return _print(tickets.update_ticket(db, t.id, t.version, changes), "updated")

    return _run(args, work)


def note_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        t = tickets.find_ticket(db, args.number)
        tickets.add_note(db, t.id, args.text)
        print(f"note added to {t.number}")
        return 0

    return _run(args, work)


def _print(t: TicketSummary, what: str) -> int:
    print(f"{what} {_row(t)}")
    return 0
