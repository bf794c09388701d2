"""Benchmark: a billing run over many subscriptions, ~10 % of them with an approved discount.

Loads --subscriptions customers, each with one monthly subscription (main service, and an add-on on every
other one), approved discounts on --discount-share of them (15 % for 6 periods, some with their items
listed), all bulk-loaded as the installer with INSERT ... SELECT generate_series. Then bills one period as
an accounting user with `run_billing` (batches of --batch-size customers, one transaction each, invoices
issued in the batch) and reports invoices/s, the batch time, and peak memory: the process's maximum RSS
(resource.getrusage) before and after the run, and with --tracemalloc the peak of Python allocations
during the run (tracemalloc slows Python down; the rate is then lower).

Runs on its own embedded PostgreSQL in a temporary folder, so nobody's data is touched:
    /work/venv/bin/python benchmarks/bench_billing.py --subscriptions 10000     # quick
    /work/venv/bin/python benchmarks/bench_billing.py                           # 100,000
Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from agentdesk import bootstrap, embedded
from agentdesk.bootstrap import Database
from agentdesk.db import migrate
from agentdesk.demo.reference import load_reference_data
from agentdesk.services import users

DATABASE = "agentdesk_bench"
PASSWORD = "bench-password-123"
ACCOUNTANT = "bench_accountant"
PERIOD = "2026-11"


@dataclass
class BenchDatabase:
    installer: Database
    accounting: Database
    url: object


@contextlib.contextmanager
def bench_server(keep: bool = False) -> Iterator[embedded.EmbeddedServer]:
    """A throw-away embedded server (fsync off) in a temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="agentdesk-bench-"))
    server = embedded.start(root, unsafe_fast=True, delete_on_exit=not keep)
    try:
        yield server
    finally:
        server.release()


def prepare(server: embedded.EmbeddedServer, *, pool_size: int = 5) -> BenchDatabase:
    """Create the schema, the reference data and an accounting user."""
    import datetime as dt

    url = server.admin_url(DATABASE)
    migrate.upgrade(url)
    installer = bootstrap.connect_url(url, pool_size=pool_size)
    with installer.session() as s:
        load_reference_data(s, dt.date(2026, 11, 1))
    users.add_user(installer, ACCOUNTANT, role="accounting", password=PASSWORD, display_name="Bench Accountant",
                   units=("accounting",))
    accounting = bootstrap.connect_url(server.url(ACCOUNTANT, PASSWORD, DATABASE), pool_size=pool_size)
    return BenchDatabase(installer, accounting, url)


def load_subscriptions(db: Database, count: int, discount_share: float) -> None:
    """Customers, subscriptions, billing items and approved discounts, all set-based."""
    every = max(int(round(1 / discount_share)), 1) if discount_share > 0 else 0
    with db.session() as s:
        s.execute(text(
            "INSERT INTO customer (account_number, name, email, address_line1, postal_code, city, country, segment,"
            " customer_since) SELECT 'B' || lpad(g::text, 9, '0'), 'Bench customer ' || g, 'c' || g || '@example.org',"
            " g || ' Ledra Street', '1011', 'Nicosia', 'CY', (ARRAY['platinum','gold','silver','bronze'])[1 + g % 4],"
            " date '2020-01-01' FROM generate_series(1, :n) g"), {"n": count})
        s.execute(text(
            "INSERT INTO subscription (number, customer_id, billing_frequency, state, start_date) "
            "SELECT 'BS' || lpad(c.id::text, 9, '0'), c.id, 'monthly', 'active', date '2026-01-01' FROM customer c"))
        s.execute(text(
            "INSERT INTO billing_item (subscription_id, product_id, is_main, quantity, unit_price) "
            "SELECT s.id, p.id, true, 1, p.price FROM subscription s "
            "JOIN product p ON p.code = (ARRAY['FIBRE-100','FIBRE-500','FIBRE-1000'])[1 + s.id % 3]"))
        s.execute(text(
            "INSERT INTO billing_item (subscription_id, product_id, is_main, quantity, unit_price) "
            "SELECT s.id, p.id, false, 1, p.price FROM subscription s JOIN product p ON p.code = 'STATIC-IP' "
            "WHERE s.id % 2 = 0"))
        if every:
            s.execute(text(
                "INSERT INTO adhoc_discount (customer_id, subscription_id, definition_id, definition_code, state,"
                " approval_method, value_kind, percentage, edifice_type, multiplier, periods_total) "
                "SELECT s.customer_id, s.id, d.id, d.code, 'approved', 'automatic', 'percentage', d.percentage,"
                " 'trade', 1, 6 FROM subscription s JOIN discount_definition d ON d.code = 'RET-15PCT-6M' AND d.active "
                "WHERE s.id % :every = 0"), {"every": every})
            # Half of them name the main service as their item (the rest apply to every item).
            s.execute(text(
                "INSERT INTO adhoc_discount_item (discount_id, billing_item_id) "
                "SELECT a.id, bi.id FROM adhoc_discount a JOIN billing_item bi ON bi.subscription_id = a.subscription_id"
                " AND bi.is_main WHERE a.id % 2 = 0 AND a.provided_on = now()"))
        s.execute(text("ANALYZE"))


def maxrss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--discount-share", type=float, default=0.10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--tracemalloc", action="store_true", help="also measure Python's peak allocations")
    parser.add_argument("--keep", action="store_true", help="keep the server's folder afterwards")
    args = parser.parse_args(argv)

    from agentdesk.billing.run import run_billing

    with bench_server(args.keep) as server:
        db = prepare(server)
        started = time.perf_counter()
        load_subscriptions(db.installer, args.subscriptions, args.discount_share)
        print(f"loaded {args.subscriptions:,} subscriptions in {time.perf_counter() - started:.1f} s")
        with db.installer.session() as s:
            discounts = s.execute(text("SELECT count(*) FROM adhoc_discount")).scalar_one()
        print(f"approved discounts: {discounts:,} ({discounts / max(args.subscriptions, 1):.0%})")

        batches: list[float] = []
        last = [time.perf_counter()]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            batches.append(now - last[0])
            last[0] = now
            if done and (len(batches) % 20 == 0 or done >= total):
                print(f"  {done:,}/{total:,} customers", file=sys.stderr)

        rss_before = maxrss_mib()
        if args.tracemalloc:
            tracemalloc.start()
        started = time.perf_counter()
        last[0] = started
        summary = run_billing(db.accounting, PERIOD, batch_size=args.batch_size, progress=progress)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
        if args.tracemalloc:
            tracemalloc.stop()
        rss_after = maxrss_mib()

        batch_times = sorted(batches[1:]) or [0.0]
        print(f"billing run {PERIOD}: {summary.invoices:,} invoices issued in {elapsed:.1f} s "
              f"= {summary.invoices / elapsed:,.0f} invoices/s")
        print(f"  amount billed {summary.amount_billed:,}, discounted {summary.amount_discounted:,}, "
              f"skipped {len(summary.skipped)}")
        print(f"  batch of {args.batch_size}: median {batch_times[len(batch_times) // 2]:.2f} s, "
              f"max {batch_times[-1]:.2f} s")
        print(f"  peak RSS: {rss_before:.0f} MiB before the run, {rss_after:.0f} MiB after")
        if peak is not None:
            print(f"  tracemalloc peak during the run: {peak:.1f} MiB")
        with db.installer.session() as s:
            numbers = s.execute(text("SELECT count(*), min(number), max(number) FROM invoice")).one()
        print(f"  invoice numbers {numbers[1]}..{numbers[2]} for {numbers[0]:,} invoices (gap-free)")
        again = time.perf_counter()
        rerun = run_billing(db.accounting, PERIOD, batch_size=args.batch_size)
        print(f"  running the period again: {rerun.invoices} new invoices in {time.perf_counter() - again:.1f} s")
        db.accounting.dispose()
        db.installer.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
