"""`agentdesk demo-data`: fill a database with realistic demo data and the demo users, as the installer."""

from __future__ import annotations

import argparse
import datetime as dt

from agentdesk import bootstrap
from agentdesk.cli.common import ensure_schema, settings_from
from agentdesk.demo import data
from agentdesk.domain.errors import ValidationError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = subparsers.add_parser(
        "demo-data",
        help="load demo customers, tickets, offers and users (runs as the installer)",
        description="Fill the database with demo data in one transaction. Refuses if there are customers "
        "already, unless --append.",
    )
    demo.add_argument("--customers", type=int, default=data.SMALL_CUSTOMERS, metavar="N",
                      help=f"number of customers (default {data.SMALL_CUSTOMERS})")
    demo.add_argument("--tickets", type=int, default=data.SMALL_TICKETS, metavar="N",
                      help=f"number of tickets (default {data.SMALL_TICKETS})")
    demo.add_argument("--seed", type=int, default=data.SMALL_SEED, metavar="S",
                      help="random seed: the same seed and day give the same data")
    demo.add_argument("--today", metavar="YYYY-MM-DD", help="the day the data is made for (default: today)")
    demo.add_argument("--append", action="store_true", help="add to a database that has customers already")
    demo.set_defaults(handler=demo_data_command)


def parse_day(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError("today", f"--today must be a date like 2025-03-31, not '{value}'") from None


def demo_data_command(args: argparse.Namespace) -> int:
    # Check what we can before touching the database, so a typo costs nothing.
    data.check_sizes(args.customers, args.tickets)
    today = parse_day(args.today)
    settings = settings_from(args)
    ensure_schema(settings)
    db = bootstrap.connect_url(bootstrap.installer_url(settings))
    try:
        summary = data.load_demo_data(
            db, customers=args.customers, tickets=args.tickets, seed=args.seed, today=today,
            append=args.append, progress=print,
        )
    finally:
        db.dispose()
    states = ", ".join(f"{state} {count:,}" for state, count in summary.tickets_by_state.items())
    print(
        f"loaded {summary.customers:,} customers, {summary.subscriptions:,} subscriptions, {summary.jobs:,} jobs, "
        f"{summary.tickets:,} tickets ({states}), {summary.offers:,} offers, "
        f"{summary.adhoc_discounts:,} ad hoc discounts in {summary.seconds:.1f} s"
    )
    print("demo users (password " + data.DEMO_PASSWORD + "): " + ", ".join(u.name for u in data.DEMO_USERS))
    return 0
