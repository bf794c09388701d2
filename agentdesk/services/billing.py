"""Billing use cases: start a run (in the background or here), see where a run stands, preview bills.

* :func:`start_run` queues a ``billing_run`` job for the worker (one per period at a time).
* :func:`run_period` runs it in this process with abort/progress/log hooks (the CLI's progress bar, the
  GUI's progress dialog) and returns the :class:`~agentdesk.billing.run.RunSummary`.
* :func:`preview_customer` shows one customer's bill for a period before and after discounts, exactly as
  the run would make it; nothing is written.
* :func:`preview_with_discount` shows a subscription's bill before and after a discount that does not
  exist yet (the offer wizard), with the domain's line maths over the subscription's items.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text

from agentdesk.billing import loader
from agentdesk.billing.jobs import Job, enqueue
from agentdesk.billing.periods import BillingPeriod, parse_period, subscription_span
from agentdesk.billing.plan import CustomerProblem, PlannedInvoice, plan_invoice
from agentdesk.billing.run import RunSummary, SkippedCustomer, plan_customers, run_billing
from agentdesk.bootstrap import Database
from agentdesk.domain.billing_math import AppliedDiscount, periods_in_duration
from agentdesk.domain.discounts import BillingFrequency
from agentdesk.domain.errors import NotFound, RuleViolation
from agentdesk.domain.money import ZERO, percent_of, round_money
from agentdesk.domain.periods import add_months

__all__ = [
    "BillComparison",
    "BillPreview",
    "CustomerPreview",
    "OfferPreview",
    "PreviewLine",
    "RunStatus",
    "enqueue",
    "preview_customer",
    "preview_offer",
    "preview_run",
    "preview_with_discount",
    "run_period",
    "run_status",
    "start_run",
]


# -- runs --------------------------------------------------------------------------------------------------


def start_run(db: Database, period: str) -> Job:
    """Queue the billing run of ``period`` for the worker; a run already queued or running is returned."""
    per = parse_period(period)
    return enqueue(db, "billing_run", {"period": per.label}, dedupe_key=f"billing_run:{per.label}", priority=3)


def run_period(db: Database, period: str, *, abort: Callable[[], bool] = lambda: False,
               progress: Callable[[int, int], None] = lambda _d, _t: None,
               log: Callable[[str], None] = lambda _m: None) -> RunSummary:
    """Run (or continue) the billing of ``period`` in this process. Needs the accounting role."""
    return run_billing(db, period, abort=abort, progress=progress, log=log)


def preview_run(db: Database, period: str, *, abort: Callable[[], bool] = lambda: False,
                progress: Callable[[int, int], None] = lambda _d, _t: None) -> RunSummary:
    """What running ``period`` now would bill, without writing anything."""
    return run_billing(db, period, preview=True, abort=abort, progress=progress)


@dataclass(frozen=True)
class RunStatus:
    run_id: int
    period: str
    state: str
    started_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    invoices: int
    amount_billed: Decimal
    amount_discounted: Decimal
    customers_total: int
    customers_done: int
    last_error: str | None
    problems: tuple[SkippedCustomer, ...]


def run_status(db: Database, period: str) -> RunStatus:
    per = parse_period(period)
    with db.session() as s:
        row = s.execute(text("SELECT * FROM billing_run WHERE period_start = :ps"), {"ps": per.start}).mappings().first()
        if row is None:
            raise NotFound("Billing run", per.label)
        problems = s.execute(text(
            "SELECT p.customer_id, c.account_number, p.message FROM billing_run_problem p "
            "JOIN customer c ON c.id = p.customer_id WHERE p.billing_run_id = :r ORDER BY p.customer_id"
        ), {"r": row["id"]}).all()
    return RunStatus(
        run_id=row["id"], period=per.label, state=row["state"], started_by=row["started_by"],
        started_at=row["started_at"], finished_at=row["finished_at"], invoices=row["invoices_created"],
        amount_billed=row["amount_billed"], amount_discounted=row["amount_discounted"],
        customers_total=row["customers_total"], customers_done=row["customers_done"], last_error=row["last_error"],
        problems=tuple(SkippedCustomer(int(p[0]), p[1], p[2]) for p in problems),
    )


def list_runs(db: Database, limit: int = 24) -> list[RunStatus]:
    with db.session() as s:
        starts = [r[0] for r in s.execute(text(
            "SELECT period_start FROM billing_run ORDER BY period_start DESC LIMIT :n"), {"n": limit})]
    return [run_status(db, BillingPeriod.of(start).label) for start in starts]


# -- previews ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewLine:
    description: str
    frequency: str
    period_start: dt.date
    period_end: dt.date  # exclusive
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal
    discount_label: str | None
    payment_discount: Decimal


@dataclass(frozen=True)
class BillPreview:
    """One bill: its lines and totals (``total`` = net + VAT, the amount due)."""

    lines: tuple[PreviewLine, ...]
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal
    payment_discount: Decimal
    term_discount_date: dt.date | None

    @classmethod
    def empty(cls) -> BillPreview:
        return cls((), ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, None)

    @classmethod
    def of(cls, plan: PlannedInvoice | None) -> BillPreview:
        if plan is None:
            return cls.empty()
        return cls(
            lines=tuple(PreviewLine(
                description=x.description, frequency=x.frequency, period_start=x.period_start,
                period_end=x.period_end, gross=x.gross, discount=x.discount, net=x.net, tax=x.tax, total=x.total,
                discount_label=x.discount_label, payment_discount=x.payment_discount) for x in plan.lines),
            gross=sum((x.gross for x in plan.lines), ZERO), discount=plan.discount_total, net=plan.net_total,
            tax=plan.tax_total, total=plan.gross_total,
            payment_discount=plan.term_discount_amount + plan.cumulative_discount_amount,
            term_discount_date=plan.term_discount_date,
        )


@dataclass(frozen=True)
class CustomerPreview:
    customer_id: int
    period: str
    before: BillPreview  # the same lines with no discount
    after: BillPreview  # the bill as the run would issue it
    problem: str | None  # why the run would skip this customer (e.g. no billing address)

    @property
    def saving(self) -> Decimal:
        return self.before.total - self.after.total


def _as_plan(result: PlannedInvoice | CustomerProblem | None) -> PlannedInvoice | None:
    return result if isinstance(result, PlannedInvoice) else None


def preview_customer(db: Database, customer_id: int, period: str) -> CustomerPreview:
    """The customer's bill for ``period`` before and after discounts, as the run would make it (read-only)."""
    per = parse_period(period)
    with db.session() as s:
        exists = s.execute(text("SELECT 1 FROM customer WHERE id = :c"), {"c": customer_id}).scalar()
    if not exists:
        raise NotFound("Customer", customer_id)
    [after] = plan_customers(db, per, [customer_id], require_address=False)
    [before] = plan_customers(db, per, [customer_id], with_discounts=False, require_address=False)
    [checked] = plan_customers(db, per, [customer_id])
    problem = checked.message if isinstance(checked, CustomerProblem) else None
    return CustomerPreview(customer_id, per.label, BillPreview.of(_as_plan(before)), BillPreview.of(_as_plan(after)),
                           problem)


@dataclass(frozen=True)
class BillComparison:
    subscription_id: int
    period: str
    before: BillPreview  # with the discounts the subscription already has
    after: BillPreview  # with the proposed discount as well

    @property
    def saving(self) -> Decimal:
        return self.before.total - self.after.total


def _next_due_period(frequency: BillingFrequency, start: dt.date, end: dt.date | None,
                     from_period: BillingPeriod) -> BillingPeriod | None:
    per = from_period
    for _ in range(13):
        if subscription_span(frequency, start, end, per) is not None:
            return per
        per = BillingPeriod.of(add_months(per.start, 1))
    return None


def preview_with_discount(db: Database, subscription_id: int, discount: AppliedDiscount, *,
                          period: str | None = None, label: str = "Proposed discount",
                          whole_period: bool = True) -> BillComparison:
    """The subscription's bill before and after ``discount`` (not saved anywhere).

    ``period`` defaults to the first period from this month on in which the subscription is billed. With
    ``whole_period`` (the default, for offers) a whole period is priced even if the subscription starts
    that month or has a cancellation pending; without it the bill is exactly what the run would issue.
    The discount's ``item_ids`` are billing item ids of the subscription (empty = every item). Only this
    subscription's lines are shown; the customer's other services are left out.
    """
    with db.session() as s:
        s.execute(text("SET TRANSACTION READ ONLY"))
        row = s.execute(text(
            "SELECT customer_id, billing_frequency, start_date, end_date FROM subscription WHERE id = :id"
        ), {"id": subscription_id}).first()
        if row is None:
            raise NotFound("Subscription", subscription_id)
        today = s.execute(text("SELECT current_date")).scalar_one()
        frequency = BillingFrequency(row[1])
        end = None if whole_period else row[3]
        per = parse_period(period) if period else _next_due_period(frequency, row[2], end, BillingPeriod.of(today))
        if per is None or subscription_span(frequency, row[2], end, per) is None:
            raise RuleViolation(
                f"Subscription {subscription_id} is not billed in {per.label if per else 'the coming year'}: "
                "nothing to preview")
        terms, _prefix = loader.billing_terms(s)
        autos = loader.auto_definitions(s, per)
        [customer] = loader.load_customers(s, [int(row[0])], per, lock_jobs=False, subscription_ids=[subscription_id])
        s.rollback()
    subs = customer.subscriptions
    if whole_period:
        subs = tuple(dataclasses.replace(x, end_date=None, start_date=min(x.start_date, per.start)) for x in subs)
    only_this = dataclasses.replace(customer, subscriptions=subs, jobs=())
    proposed = dataclasses.replace(discount, ref="proposed")
    before = plan_invoice(only_this, per, terms, autos, require_address=False)
    after = plan_invoice(only_this, per, terms, autos, extra={subscription_id: [proposed]},
                         extra_labels={"proposed": label}, require_address=False)
    return BillComparison(subscription_id, per.label, BillPreview.of(_as_plan(before)), BillPreview.of(_as_plan(after)))


@dataclass(frozen=True)
class OfferPreview:
    """An offer's effect on the bill, per billing period and over the discount's duration (VAT excluded)."""

    per: str  # "month", "quarter", "year"
    before: Decimal  # net charge per period with the discounts the subscription already has
    after: Decimal  # ... and with the offered discount
    saving_per_period: Decimal
    periods: int
    total_saving: Decimal
    percent: Decimal  # saving as a percentage of the charge before
    monthly_before: Decimal
    monthly_after: Decimal
    comparison: BillComparison


_PER = {"monthly": "month", "quarterly": "quarter", "annual": "year"}


def preview_offer(db: Database, ticket_id: int, definition_id: int, amount: Decimal | None,
                  item_ids: Sequence[int]) -> OfferPreview:
    """The offer wizard's bill preview: the ticket's subscription before and after a discount definition.

    ``amount`` is the agreed amount of an amount-range definition; ``item_ids`` the billing items chosen.
    """
    with db.session() as s:
        ticket = s.execute(text("SELECT subscription_id FROM ticket WHERE id = :t"), {"t": ticket_id}).first()
        if ticket is None:
            raise NotFound("Ticket", ticket_id)
        if ticket[0] is None:
            raise RuleViolation("This ticket is about a job: a job is billed once, there is no bill to preview")
        drow = s.execute(text("SELECT * FROM discount_definition WHERE id = :d"), {"d": definition_id}).mappings().first()
        if drow is None:
            raise NotFound("Discount definition", definition_id)
        frequency = BillingFrequency(s.execute(text("SELECT billing_frequency FROM subscription WHERE id = :id"),
                                               {"id": ticket[0]}).scalar_one())
        today = s.execute(text("SELECT current_date")).scalar_one()
    definition = loader.definition_from_row(drow)
    applied = AppliedDiscount.from_definition(definition, ref="proposed", amount=amount, item_ids=item_ids)
    comparison = preview_with_discount(db, int(ticket[0]), applied, label=definition.name)
    periods = periods_in_duration(definition, today, frequency)
    before, after = comparison.before.net, comparison.after.net
    saving = before - after
    months = frequency.months
    return OfferPreview(
        per=_PER[frequency.value], before=before, after=after, saving_per_period=saving, periods=periods,
        total_saving=saving * periods, percent=percent_of(saving, before),
        monthly_before=round_money(before / months), monthly_after=round_money(after / months),
        comparison=comparison,
    )


def problems_text(skipped: Sequence[SkippedCustomer]) -> list[str]:
    return [s.reason for s in skipped]
