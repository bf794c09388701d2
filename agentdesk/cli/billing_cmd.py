"""`agentdesk billing run|start|status|preview`: bill a period, here or through the worker.

`billing run --period 2026-11` bills in this process with a plain-text progress bar on stderr and ends
with a summary on stdout; `--preview` computes the same without writing anything. Ctrl-C stops after the
batch under way (everything billed so far stays billed; running the period again continues).
Exit status: 0 done, 1 some customers were skipped (listed), 3 stopped before the end.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TextIO

from sqlalchemy import text

from agentdesk.billing.periods import parse_period
from agentdesk.billing.run import RunSummary
from agentdesk.bootstrap import Database
from agentdesk.cli.common import open_database
from agentdesk.domain.errors import NotFound
from agentdesk.domain.money import format_money
from agentdesk.services import billing


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = subparsers.add_parser("billing", help="billing runs: run, start, status, preview")
    sub = cmd.add_subparsers(dest="billing_command", metavar="ACTION", required=True)

    run = sub.add_parser("run", help="bill a period now, in this process (safe to repeat: adds nothing twice)")
    run.add_argument("--period", required=True, metavar="YYYY-MM", help="the month to bill, e.g. 2026-11")
    run.add_argument("--preview", action="store_true", help="compute the run without writing anything")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=run_command)

    start = sub.add_parser("start", help="queue the run of a period for the background worker")
    start.add_argument("--period", required=True, metavar="YYYY-MM")
    start.set_defaults(handler=start_command)

    status = sub.add_parser("status", help="where the run of a period stands, and the customers it skipped")
    status.add_argument("--period", required=True, metavar="YYYY-MM")
    status.set_defaults(handler=status_command)

    preview = sub.add_parser("preview", help="one customer's bill for a period, before and after discounts")
    preview.add_argument("--period", required=True, metavar="YYYY-MM")
    preview.add_argument("--customer", required=True, metavar="ACCOUNT|ID", help="account number or customer id")
    preview.set_defaults(handler=preview_command)


class ProgressBar:
    """`[#########...........]  45%  4500/10000 customers` on stderr; one line per step when not a terminal."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_line = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        fraction = 1.0 if total <= 0 else min(done / total, 1.0)
        filled = int(self.width * fraction)
        text = f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%}  {done}/{total} customers"
        if self.tty:
            self.stream.write("\r" + text)
            self._shown = True
        elif time.monotonic() - self._last_line >= 1.0 or done >= total:
            self.stream.write(text + "\n")
            self._last_line = time.monotonic()
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()


def _stop_on_ctrl_c() -> tuple[Callable[[], bool], Callable[[], None]]:
    """First Ctrl-C (or SIGTERM): stop after the batch under way. Second Ctrl-C: interrupt now."""
    requested = {"stop": False}
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, _frame: FrameType | None) -> None:
        if requested["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested["stop"] = True
        print("\nagentdesk: stopping after the batch under way (Ctrl-C again to interrupt now)", file=sys.stderr)

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return (lambda: requested["stop"]), restore


def print_summary(summary: RunSummary, out: TextIO | None = None) -> None:
    out = out if out is not None else sys.stdout
    what = "Preview of" if summary.preview else "Billing"
    state = "nothing was written" if summary.preview else summary.state
    print(f"{what} {summary.period}: {state}{' (stopped early)' if summary.aborted else ''}", file=out)
    verb = "would be issued" if summary.preview else "issued"
    print(f"  {f'invoices {verb}:':<21}{summary.invoices}", file=out)
    print(f"  amount billed:       {format_money(summary.amount_billed, thousands=True)}", file=out)
    print(f"  amount discounted:   {format_money(summary.amount_discounted, thousands=True)}", file=out)
    if summary.payment_discounts:
        print(f"  payment discounts:   {format_money(summary.payment_discounts, thousands=True)}"
              " (term / cumulative term, taken at payment)", file=out)
    if not summary.preview and summary.run_invoices != summary.invoices:
        print(f"  whole period so far: {summary.run_invoices} invoices, "
              f"{format_money(summary.run_amount_billed, thousands=True)} billed", file=out)
    if summary.skipped:
        print(f"  customers skipped:   {len(summary.skipped)}", file=out)
        for skipped in summary.skipped[:50]:
            print(f"    - {skipped.reason}", file=out)
        if len(summary.skipped) > 50:
            print(f"    ... and {len(summary.skipped) - 50} more (agentdesk billing status --period "
                  f"{summary.period})", file=out)


def run_command(args: argparse.Namespace) -> int:
    parse_period(args.period)  # a malformed period is refused before anything connects
    db = open_database(args)
    bar = ProgressBar()
    abort, restore = _stop_on_ctrl_c()
    try:
        progress = (lambda _d, _t: None) if args.quiet else bar
        if args.preview:
            summary = billing.preview_run(db, args.period, abort=abort, progress=progress)
        else:
            summary = billing.run_period(db, args.period, abort=abort, progress=progress)
    finally:
        bar.close()
        restore()
        db.dispose()
    print_summary(summary)
    if summary.aborted:
        return 3
    return 1 if summary.skipped else 0


def start_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        job = billing.start_run(db, args.period)
    finally:
        db.dispose()
    print(f"Billing run for {job.payload.get('period')} queued as job {job.id} ({job.state}); "
          "a running 'agentdesk worker' will take it")
    return 0


def status_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        status = billing.run_status(db, args.period)
    finally:
        db.dispose()
    print(f"Billing {status.period}: {status.state} (run {status.run_id}, started by {status.started_by} "
          f"at {status.started_at:%d/%m/%Y %H:%M})")
    print(f"  customers: {status.customers_done} of {status.customers_total} invoiced")
    print(f"  invoices:  {status.invoices}, billed {format_money(status.amount_billed, thousands=True)}, "
          f"discounted {format_money(status.amount_discounted, thousands=True)}")
    if status.last_error:
        print(f"  last error: {status.last_error}")
    for problem in status.problems:
        print(f"  - {problem.reason}")
    return 0 if not status.problems else 1


def customer_id_of(db: Database, key: str) -> int:
    """A customer's id from its account number (or its id)."""
    with db.session() as s:
        found = s.execute(text("SELECT id FROM customer WHERE account_number = :k OR id::text = :k ORDER BY id LIMIT 1"),
                          {"k": key.strip()}).scalar()
    if found is None:
        raise NotFound("Customer", key)
    return int(found)


def preview_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        preview = billing.preview_customer(db, customer_id_of(db, args.customer), args.period)
    finally:
        db.dispose()
    if not preview.after.lines:
        print(f"Nothing to bill for customer {args.customer} in {preview.period}")
        return 0
    print(f"Bill preview for customer {args.customer}, {preview.period} (nothing is written)")
    for line in preview.after.lines:
        label = f"  [{line.discount_label}]" if line.discount_label else ""
        print(f"  {line.description[:46]:<46} {format_money(line.gross):>10} {('-' + format_money(line.discount)) if line.discount else '':>10}"
              f" {format_money(line.net):>10}{label}")
    print(f"  before discounts: {format_money(preview.before.total)} due (VAT included)")
    print(f"  after discounts:  {format_money(preview.after.total)} due (VAT included), saving "
          f"{format_money(preview.saving)}")
    if preview.after.payment_discount:
        print(f"  taken at payment: {format_money(preview.after.payment_discount)}")
    if preview.problem:
        print(f"  warning: {preview.problem}")
    return 0
