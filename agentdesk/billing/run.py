"""The billing run for one period: a plain function with abort, progress and log hooks.

``run_billing(db, "2026-11")`` invoices every customer with something due in November 2026 (subscriptions
due that month, completed jobs not yet billed), applying only Approved discounts (see
:mod:`agentdesk.billing.plan` for the rules and the rounding: half-up to the cent per line).

How it runs:

* Customers are taken in batches (default 500) by keyset over the customer id, each batch in **one
  transaction**: read, plan, write invoices + lines + discount uses + billing item records, mark jobs
  billed, **issue** the invoices (gap-free numbers, in customer order), record progress on the run row.
  Memory is bounded by the batch size.
* Each batch first locks the period's ``billing_run`` row, so two workers on one period take turns batch
  by batch instead of racing; the customers a batch takes are those without an invoice of this run, read
  after the lock, so nothing is billed twice. Even without the lock the unique keys (one invoice per run
  and customer; one discount use per item and period) would refuse a second copy.
* A run that is killed (process killed, connection cut) loses only its open batch, which the database
  rolls back whole. Running the period again continues where the committed batches stopped and ends with
  exactly what an uninterrupted run gives, invoice numbers included. Running a finished period again adds
  nothing (it bills only what has appeared since, e.g. a customer whose missing address was added).
* A customer that cannot be invoiced (no billing address, or data the database refuses) is skipped with a
  reason, recorded in ``billing_run_problem`` and reported in the summary; nothing of it is half-written.
* ``preview=True`` follows the same path (same reads, same planning) in read-only transactions and writes
  nothing, so any role may preview, and nothing is locked.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from agentdesk.billing import loader
from agentdesk.billing.numbering import series_for
from agentdesk.billing.periods import BillingPeriod, parse_period
from agentdesk.billing.plan import BillingTerms, CustomerData, CustomerProblem, PlannedInvoice, plan_invoice
from agentdesk.billing.writer import write_invoices
from agentdesk.bootstrap import Database
from agentdesk.db.errors import translate
from agentdesk.domain.discounts import DiscountDefinition
from agentdesk.domain.money import ZERO

log_ = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
# A batch waits this long for another worker's batch of the same period (or the invoice counter).
BATCH_LOCK_TIMEOUT = "120s"

# Crash-test hook (used by tests/billing): pause inside batch N, after writing and before committing, and
# write this connection's backend pid to a file, so a test can kill the process or the connection there.
PAUSE_BATCH_ENV = "AGENTDESK_BILLING_PAUSE_BATCH"
PAUSE_FILE_ENV = "AGENTDESK_BILLING_PAUSE_FILE"
PAUSE_SECONDS_ENV = "AGENTDESK_BILLING_PAUSE_SECONDS"


@dataclass(frozen=True)
class SkippedCustomer:
    customer_id: int
    account_number: str
    reason: str


@dataclass(frozen=True)
class RunSummary:
    """What a billing pass did (``invoices``...) and where the period's run stands (``run_...``)."""

    period: str
    preview: bool
    run_id: int | None
    state: str  # the run's state: running, completed, aborted, failed; "preview" for a preview
    invoices: int  # created by this pass (or that a preview would create)
    amount_billed: Decimal  # their total due, VAT included
    amount_discounted: Decimal  # discounts deducted on them
    payment_discounts: Decimal  # term / cumulative-term discounts printed on them (taken at payment)
    customers_total: int
    customers_done: int
    skipped: tuple[SkippedCustomer, ...] = ()
    aborted: bool = False
    run_invoices: int = 0  # the whole period so far
    run_amount_billed: Decimal = ZERO
    run_amount_discounted: Decimal = ZERO
    invoice_ids: tuple[int, ...] = field(default=(), repr=False)  # created by this pass


def _noop_progress(_done: int, _total: int) -> None:
    return None


def _noop_log(_message: str) -> None:
    return None


def _pause_for_crash_test(session: Session, batch_no: int) -> None:
    wanted = os.environ.get(PAUSE_BATCH_ENV)
    if not wanted or int(wanted) != batch_no:
        return
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(str(pid), encoding="utf-8")
    time.sleep(float(os.environ.get(PAUSE_SECONDS_ENV, "60")))


def _plan_batch(customers: Sequence[CustomerData], period: BillingPeriod, terms: BillingTerms,
                autos: Sequence[DiscountDefinition]) -> tuple[list[PlannedInvoice], list[CustomerProblem]]:
    plans: list[PlannedInvoice] = []
    problems: list[CustomerProblem] = []
    for customer in customers:
        try:
            result = plan_invoice(customer, period, terms, autos)
        except (ValueError, ArithmeticError) as exc:  # inconsistent data for this one customer
            result = CustomerProblem(customer.id, customer.account_number,
                                     f"Customer {customer.account_number}: cannot compute the invoice ({exc})")
        if isinstance(result, CustomerProblem):
            problems.append(result)
        elif result is not None:
            plans.append(result)
    return plans, problems


def _write_batch(session: Session, plans: list[PlannedInvoice], problems: list[CustomerProblem], *,
                 run_id: int, period: BillingPeriod, series: str,
                 currency: str) -> tuple[list[PlannedInvoice], list[int]]:
    """Write the batch; if the database refuses it, write customer by customer and skip the refused ones.

    Returns the plans written and their invoice ids."""
    try:
        with session.begin_nested():
            done = write_invoices(session, plans, run_id=run_id, period_start=period.start, series=series,
                                  currency=currency)
        return plans, list(done.invoice_ids)
    except OperationalError:
        raise
    except DBAPIError:
        log_.warning("batch refused by the database; retrying customer by customer to find the cause")
    written: list[PlannedInvoice] = []
    ids: list[int] = []
    for plan in plans:
        try:
            with session.begin_nested():
                one = write_invoices(session, [plan], run_id=run_id, period_start=period.start, series=series,
                                     currency=currency)
            written.append(plan)
            ids.extend(one.invoice_ids)
        except OperationalError:
            raise
        except DBAPIError as exc:
            problems.append(CustomerProblem(plan.customer_id, plan.account_number,
                                            f"Customer {plan.account_number}: {translate(exc)}"))
    return written, ids


def _record_problems(session: Session, run_id: int, invoiced: Sequence[int],
                     problems: Sequence[CustomerProblem]) -> None:
    if invoiced:
        session.execute(text("DELETE FROM billing_run_problem WHERE billing_run_id = :r AND customer_id = ANY(:c)"),
                        {"r": run_id, "c": list(invoiced)})
    if problems:
        session.execute(text(
            "INSERT INTO billing_run_problem (billing_run_id, customer_id, message) VALUES (:r, :c, :m) "
            "ON CONFLICT (billing_run_id, customer_id) DO UPDATE SET message = EXCLUDED.message, noted_at = now()"
        ), [{"r": run_id, "c": p.customer_id, "m": p.message} for p in problems])


def _count(session: Session, period: BillingPeriod, run_id: int | None, only: Sequence[int] | None) -> int:
    if only is None:
        return loader.count_due_customers(session, period, run_id)
    ids = loader.next_due_customers(session, period, 0, max(len(only), 1), only)
    return len(ids) - len(loader.invoiced_customers(session, run_id, ids))


def _open_run(db: Database, period: BillingPeriod) -> int:
    with db.session() as s:
        s.execute(text(
            "INSERT INTO billing_run (period_start, period_end) VALUES (:ps, :pe) ON CONFLICT (period_start) DO NOTHING"
        ), {"ps": period.start, "pe": period.end})
        return int(s.execute(text("SELECT id FROM billing_run WHERE period_start = :ps"),
                             {"ps": period.start}).scalar_one())


def _existing_run(db: Database, period: BillingPeriod) -> int | None:
    with db.session() as s:
        found = s.execute(text("SELECT id FROM billing_run WHERE period_start = :ps"), {"ps": period.start}).scalar()
        return int(found) if found is not None else None


def run_billing(
    db: Database,
    period: str | BillingPeriod,
    *,
    preview: bool = False,
    abort: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] = _noop_progress,
    log: Callable[[str], None] = _noop_log,
    batch_size: int = DEFAULT_BATCH_SIZE,
    customer_ids: Sequence[int] | None = None,
) -> RunSummary:
    """Bill ``period`` (``"YYYY-MM"``); see the module docstring. Returns what this pass did.

    ``abort`` is asked between batches (the batch under way always finishes); ``progress(done, total)``
    is called after each batch with customers handled so far; ``log`` receives one line per step.
    ``customer_ids`` limits the pass to those customers (a preview of a few, or a test).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    per = period if isinstance(period, BillingPeriod) else parse_period(period)
    if preview:
        return _preview_run(db, per, abort, progress, log, batch_size, customer_ids)
    run_id = _open_run(db, per)
    try:
        return _billing_pass(db, per, run_id, abort, progress, log, batch_size, customer_ids)
    except BaseException as exc:
        _mark_failed(db, run_id, exc)
        raise


def _mark_failed(db: Database, run_id: int, exc: BaseException) -> None:
    state = "aborted" if isinstance(exc, KeyboardInterrupt) else "failed"
    try:
        with db.session() as s:
            s.execute(text("UPDATE billing_run SET state = :st, last_error = :e WHERE id = :id AND state = 'running'"),
                      {"st": state, "e": f"{type(exc).__name__}: {exc}"[:2000], "id": run_id})
    except Exception:  # the database may be the thing that failed; the exception itself says enough
        log_.warning("could not record the failure of billing run %s", run_id, exc_info=True)


def _billing_pass(db: Database, period: BillingPeriod, run_id: int, abort: Callable[[], bool],
                  progress: Callable[[int, int], None], log: Callable[[str], None], batch_size: int,
                  only: Sequence[int] | None) -> RunSummary:
    with db.session() as s:
        total = _count(s, period, run_id, only)
        autos = loader.auto_definitions(s, period)
        s.execute(text("SET LOCAL lock_timeout = '" + BATCH_LOCK_TIMEOUT + "'"))
        s.execute(text(
            "UPDATE billing_run SET state = 'running', finished_at = NULL, last_error = NULL,"
            " customers_total = customers_done + :t WHERE id = :id"), {"t": total, "id": run_id})
    log(f"billing {period.label}: {total} customer(s) to bill (run {run_id})")
    progress(0, total)

    after = 0
    handled = invoices = 0
    billed = discounted = payment_discounts = ZERO
    skipped: list[SkippedCustomer] = []
    created: list[int] = []
    aborted = False
    batch_no = 0
    while True:
        if abort():
            aborted = True
            log(f"billing {period.label}: stopped on request after {handled} customer(s); run it again to continue")
            break
        batch_no += 1
        with db.session() as s:
            s.execute(text("SET LOCAL lock_timeout = '" + BATCH_LOCK_TIMEOUT + "'"))
            s.execute(text("SELECT id FROM billing_run WHERE id = :id FOR UPDATE"), {"id": run_id})
            ids = loader.next_due_customers(s, period, after, batch_size, only)
            if not ids:
                break
            done_already = loader.invoiced_customers(s, run_id, ids)  # read after the lock: never billed twice
            fresh = [c for c in ids if c not in done_already]
            terms, prefix = loader.billing_terms(s)
            customers = loader.load_customers(s, fresh, period, lock_jobs=True)
            plans, problems = _plan_batch(customers, period, terms, autos)
            series = series_for(prefix, terms.issue_date.year)
            written, new_ids = _write_batch(s, plans, problems, run_id=run_id, period=period, series=series,
                                            currency=terms.currency)
            batch_billed = sum((p.gross_total for p in written), ZERO)
            batch_discounted = sum((p.discount_total for p in written), ZERO)
            _record_problems(s, run_id, [p.customer_id for p in written], problems)
            s.execute(text(
                "UPDATE billing_run SET invoices_created = invoices_created + :n, customers_done = customers_done + :n,"
                " amount_billed = amount_billed + :b, amount_discounted = amount_discounted + :d,"
                " last_customer_id = :last WHERE id = :id"
            ), {"n": len(written), "b": batch_billed, "d": batch_discounted, "last": ids[-1], "id": run_id})
            _pause_for_crash_test(s, batch_no)
        # Committed: only now does the batch count.
        after = ids[-1]
        handled += len(fresh)
        invoices += len(written)
        created.extend(new_ids)
        billed += batch_billed
        discounted += batch_discounted
        payment_discounts += sum((p.term_discount_amount + p.cumulative_discount_amount for p in written), ZERO)
        for p in problems:
            skipped.append(SkippedCustomer(p.customer_id, p.account_number, p.message))
            log(f"skipped: {p.message}")
        log(f"batch {batch_no}: {len(written)} invoice(s) issued, {len(problems)} customer(s) skipped")
        progress(min(handled, max(total, handled)), max(total, handled))

    with db.session() as s:
        if aborted:
            s.execute(text("UPDATE billing_run SET state = 'aborted' WHERE id = :id"), {"id": run_id})
        elif only is None:
            s.execute(text("UPDATE billing_run SET state = 'completed', finished_at = now() WHERE id = :id"),
                      {"id": run_id})
        row = s.execute(text(
            "SELECT state, invoices_created, amount_billed, amount_discounted FROM billing_run WHERE id = :id"
        ), {"id": run_id}).one()
    log(f"billing {period.label}: {invoices} invoice(s) issued, {len(skipped)} customer(s) skipped"
        + (" (stopped early)" if aborted else ""))
    return RunSummary(
        period=period.label, preview=False, run_id=run_id, state=str(row[0]), invoices=invoices,
        amount_billed=billed, amount_discounted=discounted, payment_discounts=payment_discounts,
        customers_total=total, customers_done=handled, skipped=tuple(skipped), aborted=aborted,
        run_invoices=int(row[1]), run_amount_billed=row[2], run_amount_discounted=row[3], invoice_ids=tuple(created),
    )


def _preview_run(db: Database, period: BillingPeriod, abort: Callable[[], bool],
                 progress: Callable[[int, int], None], log: Callable[[str], None], batch_size: int,
                 only: Sequence[int] | None) -> RunSummary:
    run_id = _existing_run(db, period)
    with db.session() as s:
        s.execute(text("SET TRANSACTION READ ONLY"))
        total = _count(s, period, run_id, only)
        autos = loader.auto_definitions(s, period)
    log(f"preview of {period.label}: {total} customer(s) to bill; nothing will be written")
    progress(0, total)
    after = handled = invoices = 0
    billed = discounted = payment_discounts = ZERO
    skipped: list[SkippedCustomer] = []
    aborted = False
    while True:
        if abort():
            aborted = True
            break
        with db.session() as s:
            s.execute(text("SET TRANSACTION READ ONLY"))
            ids = loader.next_due_customers(s, period, after, batch_size, only)
            if not ids:
                break
            done_already = loader.invoiced_customers(s, run_id, ids)
            fresh = [c for c in ids if c not in done_already]
            terms, _prefix = loader.billing_terms(s)
            customers = loader.load_customers(s, fresh, period, lock_jobs=False)
            s.rollback()
        plans, problems = _plan_batch(customers, period, terms, autos)
        after = ids[-1]
        handled += len(fresh)
        invoices += len(plans)
        billed += sum((p.gross_total for p in plans), ZERO)
        discounted += sum((p.discount_total for p in plans), ZERO)
        payment_discounts += sum((p.term_discount_amount + p.cumulative_discount_amount for p in plans), ZERO)
        skipped.extend(SkippedCustomer(p.customer_id, p.account_number, p.message) for p in problems)
        progress(handled, max(total, handled))
    return RunSummary(
        period=period.label, preview=True, run_id=run_id, state="preview", invoices=invoices, amount_billed=billed,
        amount_discounted=discounted, payment_discounts=payment_discounts, customers_total=total,
        customers_done=handled, skipped=tuple(skipped), aborted=aborted,
    )


def plan_customers(db: Database, period: str | BillingPeriod, customer_ids: Sequence[int], *,
                   with_discounts: bool = True, require_address: bool = True,
                   ) -> list[PlannedInvoice | CustomerProblem | None]:
    """The plans of these customers for ``period`` exactly as a run would make them (read-only)."""
    per = period if isinstance(period, BillingPeriod) else parse_period(period)
    with db.session() as s:
        s.execute(text("SET TRANSACTION READ ONLY"))
        terms, _prefix = loader.billing_terms(s)
        autos = loader.auto_definitions(s, per)
        customers = {c.id: c for c in loader.load_customers(s, customer_ids, per, lock_jobs=False)}
        s.rollback()
    return [plan_invoice(customers[cid], per, terms, autos, with_discounts=with_discounts,
                         require_address=require_address) if cid in customers else None
            for cid in customer_ids]
