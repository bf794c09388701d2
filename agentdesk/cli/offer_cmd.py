"""`agentdesk offer ...`: discounts for a ticket, offers and the customer's answer, from the command line.

`offer accept REF` is the inbound acceptance channel: a mail gateway or a web form that received the
customer's acceptance reference runs it (signed in as a team member), so the acceptance is recorded and
the discount assigned exactly as when a CSR clicks Accept. The other actions mirror the desktop's offer
wizard over the same services (suggest, make, decline, cancel-service, other sales offers, list) plus the
worker's two jobs for running by hand (deliver the outbox, lapse expired offers).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from agentdesk.bootstrap import Database
from agentdesk.cli.common import open_database, settings_from
from agentdesk.domain.money import format_money, parse_money
from agentdesk.domain.periods import format_date
from agentdesk.services import eligibility, offers, outbox, tickets


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    offer = subparsers.add_parser("offer", help="discount offers: suggest, make, accept, decline, list")
    sub = offer.add_subparsers(dest="offer_command", metavar="ACTION", required=True)

    accept = sub.add_parser("accept", help="record a customer's acceptance by its reference (inbound channel)")
    accept.add_argument("ref", help="the acceptance reference the customer quoted, e.g. ZX-7K4Q-9MDP")
    accept.add_argument("--channel", default="reference", choices=offers.ACCEPT_CHANNELS,
                        help="how the acceptance arrived (default: reference)")
    accept.set_defaults(handler=accept_command)

    lst = sub.add_parser("list", help="the offers made on a ticket")
    lst.add_argument("ticket", help="ticket number, e.g. T-000123")
    lst.set_defaults(handler=list_command)

    suggest = sub.add_parser("suggest", help="every active discount judged for a ticket, best first")
    suggest.add_argument("ticket")
    suggest.add_argument("--eligible", action="store_true", help="only the eligible ones")
    suggest.add_argument("--next", action="store_true", help="leave out what the customer already declined")
    suggest.set_defaults(handler=suggest_command)

    make = sub.add_parser("make", help="offer a discount definition on a ticket and queue the notification")
    make.add_argument("ticket")
    make.add_argument("code", help="discount definition code, e.g. ZX-SUB-RANGE")
    make.add_argument("--amount", help="the amount agreed, for a definition with an amount range")
    make.add_argument("--item", type=int, action="append", metavar="ID",
                      help="billing item id to discount (repeatable; default: the definition's items)")
    make.add_argument("--by", choices=offers.NOTIFY_CHANNELS, default="email", help="send by email or letter")
    make.set_defaults(handler=make_command)

    decline = sub.add_parser("decline", help="record that the customer declined an offer")
    decline.add_argument("ref", help="acceptance reference or offer id")
    decline.add_argument("--reason", required=True)
    decline.set_defaults(handler=decline_command)

    sales = sub.add_parser("sales", help="other sales offers for a ticket: cheaper packages, add-ons to drop")
    sales.add_argument("ticket")
    sales.set_defaults(handler=sales_command)

    cancel = sub.add_parser("cancel-service", help="the customer leaves: cancel the service, close the ticket")
    cancel.add_argument("ticket")
    cancel.add_argument("--end-date", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                        help="the first day without service (default: the requested date, else the end of "
                             "the current billing period)")
    cancel.set_defaults(handler=cancel_command)

    deliver = sub.add_parser("deliver", help="send pending e-mails and letters now (the worker does this too)")
    deliver.add_argument("--limit", type=int, default=50)
    deliver.set_defaults(handler=deliver_command)

    sub.add_parser("lapse", help="mark offers past their expiry as lapsed").set_defaults(handler=lapse_command)


def _run(args: argparse.Namespace, work: Callable[[Database], int]) -> int:
    db = open_database(args)
    try:
        return work(db)
    finally:
        db.dispose()


def _ticket(db: Database, key: str) -> tuple[int, int]:
    t = tickets.find_ticket(db, key)
    return t.id, t.version


def accept_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        a = offers.accept_offer(db, args.ref, args.channel)
        d = a.discount
        print(f"accepted {a.offer.acceptance_ref}: {a.offer.name} ({a.offer.terms['value']['text']})")
        print(f"discount {d.id} is {d.state.replace('_', ' ')}; ticket {a.offer.terms['ticket']} is "
              f"{a.ticket_state.replace('_', ' ')}")
        return 0

    return _run(args, work)


def list_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        ticket_id, _version = _ticket(db, args.ticket)
        found = offers.list_offers(db, ticket_id)
        for o in found:
            t = o.terms
            print(f"{o.acceptance_ref}  {o.state:<9} {o.code:<16} {t['value']['text']:<22} "
                  f"saving {t['total_saving']:>8} {t['currency']}  valid until {format_date(o.expires_at.date())}"
                  f"  by {o.made_by}")
            if o.accepted_at:
                print(f"    accepted {o.accepted_at:%d/%m/%Y %H:%M} by {o.accepted_channel}, "
                      f"recorded by {o.accepted_recorded_by}; terms hash {o.terms_hash[:12]}...")
            if o.decline_reason:
                print(f"    declined: {o.decline_reason}")
        print(f"{len(found)} offer{'s' if len(found) != 1 else ''}")
        return 0

    return _run(args, work)


def suggest_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        ticket_id, _version = _ticket(db, args.ticket)
        found = eligibility.eligibility_for_ticket(db, ticket_id, exclude_declined=args.next)
        for s in found:
            if args.eligible and not s.eligible:
                continue
            mark = "yes" if s.eligible else "no "
            approval = "manager" if s.needs_approval else "auto"
            print(f"{s.rank:>2}. {mark} {s.code:<20} {s.value_text:<26} {s.periods:>3} x "
                  f"{format_money(s.cost_per_period):>8} = {format_money(s.total_cost):>9} "
                  f"({format_money(s.cost_percent)}% of service)  {approval}")
            for reason in s.reasons:
                print(f"      {reason}")
        return 0

    return _run(args, work)


def make_command(args: argparse.Namespace) -> int:
    amount: Decimal | None = parse_money(args.amount) if args.amount is not None else None

    def work(db: Database) -> int:
        ticket_id, version = _ticket(db, args.ticket)
        found = [s for s in eligibility.eligibility_for_ticket(db, ticket_id) if s.code == args.code.upper()]
        if not found:
            print(f"agentdesk: there is no active discount definition {args.code}")
            return 2
        o = offers.make_offer(db, ticket_id, version, found[0].definition_id, amount=amount,
                              billing_item_ids=args.item, channel=args.by)
        print(f"offered {o.name}: {o.terms['value']['text']}, saving {o.terms['total_saving']} "
              f"{o.terms['currency']}")
        print(f"acceptance reference {o.acceptance_ref}, valid until {format_date(o.expires_at.date())}; "
              f"{args.by} queued")
        return 0

    return _run(args, work)


def decline_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        offer = offers.get_offer(db, args.ref)
        info = offers.decline_offer(db, offer.id, args.reason)
        print(f"declined {info.offer.acceptance_ref}")
        if info.next_best is not None:
            n = info.next_best
            print(f"next best: {n.code} {n.name} ({n.value_text}, total {format_money(n.total_cost)})")
        else:
            print("no other discount is eligible: see 'agentdesk offer sales' or 'agentdesk offer cancel-service'")
        return 0

    return _run(args, work)


def sales_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        ticket_id, _version = _ticket(db, args.ticket)
        found = offers.other_sales_offers(db, ticket_id)
        for x in found:
            print(f"{x.title:<48} {format_money(x.current_price):>8} -> {format_money(x.new_price):>8}  "
                  f"saves {format_money(x.saving_per_period)} per {x.per}")
        if not found:
            print("no other sales offer for this service")
        return 0

    return _run(args, work)


def cancel_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        ticket_id, version = _ticket(db, args.ticket)
        info = offers.proceed_with_cancellation(db, ticket_id, version, args.end_date)
        last = f" with effect from {format_date(info.end_date)}" if info.end_date else ""
        print(f"cancelled {info.service_number}{last}; ticket {info.ticket_number} closed")
        return 0

    return _run(args, work)


def deliver_command(args: argparse.Namespace) -> int:
    settings = settings_from(args)

    def work(db: Database) -> int:
        report = outbox.deliver_pending(db, settings, args.limit)
        for r in report.results:
            where = str(r.path) if r.path else r.via
            print(f"message {r.message_id} ({r.kind}): {r.state}{' -> ' + where if r.state == 'sent' else ''}"
                  f"{' (' + r.error + ')' if r.error else ''}")
        print(f"{report.sent} sent, {report.failed} not sent")
        return 0 if report.failed == 0 else 1

    return _run(args, work)


def lapse_command(args: argparse.Namespace) -> int:
    def work(db: Database) -> int:
        lapsed = offers.lapse_expired_offers(db)
        print(f"{len(lapsed)} offer{'s' if len(lapsed) != 1 else ''} lapsed")
        return 0

    return _run(args, work)
