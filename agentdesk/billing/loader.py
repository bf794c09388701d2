"""Database reads of the billing run: which customers are due, and their data as plain dataclasses.

Every query takes the batch's customer ids, so a batch costs a fixed number of round trips whatever its
size, and nothing outside the batch is held in memory. Only discounts in state **Approved** are read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from agentdesk.billing.periods import DUE_SUBSCRIPTION_SQL, BillingPeriod
from agentdesk.billing.plan import (
    AdhocData,
    BillingTerms,
    CustomerData,
    Item,
    JobData,
    SubscriptionData,
)
from agentdesk.domain.discounts import (
    ApprovalMethod,
    BillingFrequency,
    CallType,
    CardSegment,
    CustomerSegment,
    DiscountDefinition,
    DurationKind,
    EdificeType,
    ProductType,
    ValueKind,
)
from agentdesk.domain.errors import AgentDeskError

BILLABLE_JOB_SQL = """
    j.state = 'completed'
    AND (j.actual_completion IS NULL OR j.actual_completion < :pe)
    AND EXISTS (SELECT 1 FROM billing_item bj WHERE bj.job_id = j.id)
"""

# Each source of work is scanned in customer order on its own customer_id index, so a batch reads about as
# many rows as it bills (a single query over customers with EXISTS tests lets the planner hash the whole
# subscription table for every batch).
_DUE_SUBSCRIBERS = f"SELECT DISTINCT s.customer_id FROM subscription s WHERE s.customer_id > :after AND {DUE_SUBSCRIPTION_SQL}"
_BILLABLE_JOB_OWNERS = f"SELECT DISTINCT j.customer_id FROM job j WHERE j.customer_id > :after AND {BILLABLE_JOB_SQL}"


def _period_params(period: BillingPeriod) -> dict[str, Any]:
    return {"ps": period.start, "pe": period.end}


def count_due_customers(session: Session, period: BillingPeriod, run_id: int | None) -> int:
    """Customers with something to bill in ``period`` less those run ``run_id`` already invoiced (for progress)."""
    due = int(session.execute(
        text(f"SELECT count(*) FROM ({_DUE_SUBSCRIBERS} UNION {_BILLABLE_JOB_OWNERS}) due"),
        {**_period_params(period), "after": 0}).scalar_one())
    if run_id is None:
        return due
    done = int(session.execute(text(
        "SELECT count(*) FROM invoice WHERE billing_run_id = :run AND kind = 'invoice'"), {"run": run_id}).scalar_one())
    return max(due - done, 0)


def next_due_customers(session: Session, period: BillingPeriod, after: int, limit: int,
                       only: Sequence[int] | None = None) -> list[int]:
    """The next ``limit`` customer ids above ``after`` with something due (keyset paging), optionally within
    ``only``. Whether they are invoiced already is asked separately (:func:`invoiced_customers`), so the scan
    stays cheap however many invoices the run has made since the statistics were last gathered."""
    params: dict[str, Any] = {**_period_params(period), "after": after, "n": limit}
    found: set[int] = set()
    for source, column in ((_DUE_SUBSCRIBERS, "s.customer_id"), (_BILLABLE_JOB_OWNERS, "j.customer_id")):
        sql = source
        if only is not None:
            sql += f" AND {column} = ANY(:only)"
            params["only"] = list(only)
        rows = session.execute(text(f"{sql} ORDER BY {column} LIMIT :n"), params)
        found.update(int(r[0]) for r in rows)
    return sorted(found)[:limit]


def invoiced_customers(session: Session, run_id: int | None, customer_ids: Sequence[int]) -> set[int]:
    """Which of these customers already have their invoice of run ``run_id``."""
    if run_id is None or not customer_ids:
        return set()
    rows = session.execute(text(
        "SELECT customer_id FROM invoice WHERE billing_run_id = :run AND kind = 'invoice' AND customer_id = ANY(:c)"
    ), {"run": run_id, "c": list(customer_ids)})
    return {int(r[0]) for r in rows}


def billing_terms(session: Session) -> tuple[BillingTerms, str]:
    """The day of issue (the database's date) with the company's payment terms; and the series prefix."""
    row = session.execute(text(
        "SELECT current_date, payment_terms_days, currency, invoice_series FROM company_settings WHERE id = 1"
    )).first()
    if row is None:
        raise AgentDeskError(
            "The company settings are missing (name, address, VAT id, invoice series): an administrator must "
            "enter them before anything can be billed"
        )
    return BillingTerms(issue_date=row[0], payment_terms_days=int(row[1]), currency=str(row[2])), str(row[3])


def _frozen(values: Sequence[str] | None, kind: type) -> frozenset[Any]:
    return frozenset(kind(v) for v in (values or ()))


def definition_from_row(row: Any) -> DiscountDefinition:
    """A ``discount_definition`` row (mapping) as the domain's frozen definition."""
    return DiscountDefinition(
        id=int(row["id"]), code=row["code"], version=int(row["version"]), name=row["name"],
        value_kind=ValueKind(row["value_kind"]), percentage=row["percentage"], amount=row["amount"],
        amount_min=row["amount_min"], amount_max=row["amount_max"], free_periods=row["free_periods"],
        billing_frequency=BillingFrequency(row["billing_frequency"]) if row["billing_frequency"] else None,
        effective_date=row["effective_date"], expiration_date=row["expiration_date"],
        duration_kind=DurationKind(row["duration_kind"]), duration_periods=row["duration_periods"],
        duration_until=row["duration_until"], max_applications=row["max_applications"],
        applications_window_months=int(row["applications_window_months"]),
        approval=ApprovalMethod(row["approval"]), approval_unit=str(row["approval_unit_id"] or "") or None,
        product_types=_frozen(row["product_types"], ProductType), product_codes=frozenset(row["product_codes"] or ()),
        main_service_only=bool(row["main_service_only"]),
        customer_segments=_frozen(row["customer_segments"], CustomerSegment),
        card_segments=_frozen(row["card_segments"], CardSegment),
        max_late_payments=row["max_late_payments"], min_tenure_months=row["min_tenure_months"],
        call_types=_frozen(row["call_types"], CallType), jobs_late_only=bool(row["jobs_late_only"]),
        auto_apply=bool(row["auto_apply"]), edifice_type=EdificeType(row["edifice_type"]),
        multiplier=Decimal(row["multiplier"]), step_cap=row["step_cap"], term_days=row["term_days"],
        active=bool(row["active"]),
    )


def auto_definitions(session: Session, period: BillingPeriod) -> list[DiscountDefinition]:
    """Active automatic definitions that may be valid at some point of a billing span starting in ``period``."""
    rows = session.execute(text(
        "SELECT * FROM discount_definition WHERE auto_apply AND active "
        "AND (expiration_date IS NULL OR expiration_date >= :ps) ORDER BY id"
    ), _period_params(period)).mappings()
    return [definition_from_row(r) for r in rows]


def _resolve_periods(row: Any) -> int | None:
    """How many periods an ad hoc discount lasts: its own count, else its definition's duration."""
    if row["periods_total"] is not None:
        return int(row["periods_total"])
    if row["value_kind"] == ValueKind.FREE_PERIOD.value:
        return int(row["free_periods"] or row["def_free_periods"] or 1)
    if row["duration_kind"] == DurationKind.ONCE.value:
        return 1
    if row["duration_kind"] == DurationKind.PERIODS.value:
        return int(row["duration_periods"] or 1)
    return None


def load_customers(session: Session, customer_ids: Sequence[int], period: BillingPeriod, *,
                   lock_jobs: bool, subscription_ids: Sequence[int] | None = None) -> list[CustomerData]:
    """Everything the run needs about these customers, in id order.

    ``lock_jobs`` takes the billable jobs' rows FOR UPDATE, so two runs can never both bill one job.
    ``subscription_ids`` (previews) loads exactly those subscriptions, due or not, and no jobs.
    """
    ids = list(customer_ids)
    if not ids:
        return []
    pp = _period_params(period)
    due = DUE_SUBSCRIPTION_SQL if subscription_ids is None else "s.id = ANY(:only_subs)"
    if subscription_ids is not None:
        pp["only_subs"] = list(subscription_ids)
    jobs_filter = BILLABLE_JOB_SQL if subscription_ids is None else "FALSE"
    customers = {
        int(r["id"]): r for r in session.execute(text(
            "SELECT id, account_number, name, address_line1, address_line2, postal_code, city, country, vat_id,"
            " segment, card_segment, late_payments_12m, customer_since FROM customer WHERE id = ANY(:ids)"
        ), {"ids": ids}).mappings()
    }
    subs = session.execute(text(
        "SELECT s.id, s.number, s.customer_id, s.billing_frequency, s.start_date, s.end_date FROM subscription s "
        f"WHERE s.customer_id = ANY(:ids) AND {due} ORDER BY s.id"
    ), {"ids": ids, **pp}).mappings().all()
    jobs = session.execute(text(
        "SELECT j.id, j.number, j.customer_id, j.description, j.expected_completion, j.actual_completion "
        f"FROM job j WHERE j.customer_id = ANY(:ids) AND {jobs_filter} ORDER BY j.id"
        + (" FOR UPDATE OF j" if lock_jobs else "")
    ), {"ids": ids, **pp}).mappings().all()
    sub_ids = [int(s["id"]) for s in subs]
    job_ids = [int(j["id"]) for j in jobs]

    items_by_sub: dict[int, list[Item]] = defaultdict(list)
    items_by_job: dict[int, list[Item]] = defaultdict(list)
    for r in session.execute(text(
        "SELECT bi.id, bi.subscription_id, bi.job_id, bi.is_main, bi.quantity, bi.unit_price, bi.description,"
        " p.code, p.name, p.type, p.tax_rate FROM billing_item bi JOIN product p ON p.id = bi.product_id "
        "WHERE bi.subscription_id = ANY(:subs) OR bi.job_id = ANY(:jobs) ORDER BY bi.id"
    ), {"subs": sub_ids, "jobs": job_ids}).mappings():
        item = Item(id=int(r["id"]), product_code=r["code"], product_name=r["name"],
                    product_type=ProductType(r["type"]), tax_rate=r["tax_rate"], is_main=bool(r["is_main"]),
                    quantity=int(r["quantity"]), unit_price=r["unit_price"], description=r["description"])
        if r["subscription_id"] is not None:
            items_by_sub[int(r["subscription_id"])].append(item)
        else:
            items_by_job[int(r["job_id"])].append(item)

    adhoc_rows = session.execute(text(
        "SELECT ad.*, dd.name AS def_name, dd.duration_kind, dd.duration_periods, dd.duration_until,"
        " dd.free_periods AS def_free_periods, dd.term_days FROM adhoc_discount ad "
        "JOIN discount_definition dd ON dd.id = ad.definition_id "
        "WHERE ad.state = 'approved' AND (ad.subscription_id = ANY(:subs) OR ad.job_id = ANY(:jobs)) ORDER BY ad.id"
    ), {"subs": sub_ids, "jobs": job_ids}).mappings().all()
    adhoc_ids = [int(r["id"]) for r in adhoc_rows]
    adhoc_items: dict[int, set[int]] = defaultdict(set)
    used: dict[int, int] = {}
    if adhoc_ids:
        for discount_id, item_id in session.execute(text(
            "SELECT discount_id, billing_item_id FROM adhoc_discount_item WHERE discount_id = ANY(:d)"
        ), {"d": adhoc_ids}):
            adhoc_items[int(discount_id)].add(int(item_id))
        used = {int(d): int(n) for d, n in session.execute(text(
            "SELECT discount_id, count(DISTINCT period_start) FROM discount_application "
            "WHERE discount_id = ANY(:d) AND period_start <> :ps GROUP BY discount_id"
        ), {"d": adhoc_ids, "ps": period.start})}
    adhoc_by_customer: dict[int, list[AdhocData]] = defaultdict(list)
    sub_owner = {int(s["id"]): int(s["customer_id"]) for s in subs}
    job_owner = {int(j["id"]): int(j["customer_id"]) for j in jobs}
    for r in adhoc_rows:
        owner = sub_owner.get(r["subscription_id"]) if r["subscription_id"] else job_owner.get(r["job_id"])
        if owner is None:
            continue
        expiration: date | None = r["expiration_date"]
        if expiration is None and r["duration_kind"] == DurationKind.UNTIL_DATE.value:
            expiration = r["duration_until"]
        adhoc_by_customer[owner].append(AdhocData(
            id=int(r["id"]), subscription_id=r["subscription_id"], job_id=r["job_id"], ticket_id=r["ticket_id"],
            code=r["definition_code"], name=r["def_name"], value_kind=ValueKind(r["value_kind"]),
            percentage=r["percentage"], amount=r["amount"], free_periods=r["free_periods"],
            edifice_type=EdificeType(r["edifice_type"]), multiplier=Decimal(r["multiplier"]),
            step_cap=r["step_cap"], effective_date=r["effective_date"], expiration_date=expiration,
            periods_total=_resolve_periods(r), periods_used=used.get(int(r["id"]), 0),
            item_ids=frozenset(adhoc_items.get(int(r["id"]), ())), term_days=r["term_days"],
        ))

    auto_used: dict[int, dict[tuple[int, str, int], int]] = defaultdict(dict)
    if sub_ids or job_ids:
        for definition_id, sub_id, job_id, n in session.execute(text(
            "SELECT da.definition_id, bi.subscription_id, bi.job_id, count(DISTINCT da.period_start) "
            "FROM discount_application da JOIN billing_item bi ON bi.id = da.billing_item_id "
            "WHERE da.discount_id IS NULL AND da.definition_id IS NOT NULL AND da.period_start <> :ps "
            "AND (bi.subscription_id = ANY(:subs) OR bi.job_id = ANY(:jobs)) "
            "GROUP BY da.definition_id, bi.subscription_id, bi.job_id"
        ), {"subs": sub_ids, "jobs": job_ids, "ps": period.start}):
            owner = sub_owner[int(sub_id)] if sub_id is not None else job_owner[int(job_id)]
            key = (int(definition_id), "s" if sub_id is not None else "j", int(sub_id if sub_id is not None else job_id))
            auto_used[owner][key] = int(n)

    subs_by_customer: dict[int, list[SubscriptionData]] = defaultdict(list)
    for s in subs:
        subs_by_customer[int(s["customer_id"])].append(SubscriptionData(
            id=int(s["id"]), number=s["number"], frequency=BillingFrequency(s["billing_frequency"]),
            start_date=s["start_date"], end_date=s["end_date"], items=tuple(items_by_sub.get(int(s["id"]), ())),
        ))
    jobs_by_customer: dict[int, list[JobData]] = defaultdict(list)
    for j in jobs:
        jobs_by_customer[int(j["customer_id"])].append(JobData(
            id=int(j["id"]), number=j["number"], description=j["description"],
            expected_completion=j["expected_completion"], actual_completion=j["actual_completion"],
            items=tuple(items_by_job.get(int(j["id"]), ())),
        ))

    out = []
    for cid in sorted(customers):
        c = customers[cid]
        out.append(CustomerData(
            id=cid, account_number=c["account_number"], name=c["name"], address_line1=c["address_line1"],
            address_line2=c["address_line2"], postal_code=c["postal_code"], city=c["city"], country=c["country"],
            vat_id=c["vat_id"], segment=CustomerSegment(c["segment"]), card_segment=CardSegment(c["card_segment"]),
            late_payments_12m=int(c["late_payments_12m"]), customer_since=c["customer_since"],
            subscriptions=tuple(subs_by_customer.get(cid, ())), jobs=tuple(jobs_by_customer.get(cid, ())),
            adhoc=tuple(adhoc_by_customer.get(cid, ())), auto_used=dict(auto_used.get(cid, {})),
        ))
    return out
