"""Builders for billing tests: customers, subscriptions, jobs and discounts arranged the way people would.

Reference data (customers, subscriptions, jobs, billing items) is arranged by the installer, as an
administrator would; discounts are provided by a CSR and approved by a manager of the approving unit, so
the database's own guards are in play. Billing runs as the accounting user.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from agentdesk.bootstrap import Database

YEAR = dt.date.today().year  # the reference discount definitions are valid for the current year


def period(month: int, year: int = YEAR) -> str:
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class Sub:
    id: int
    customer_id: int
    item_ids: tuple[int, ...]


@dataclass(frozen=True)
class JobRef:
    id: int
    customer_id: int
    item_ids: tuple[int, ...]


class Builder:
    """Arranges billing data in one test database."""

    def __init__(self, installer: Database, csr: Database, manager: Database) -> None:
        self.installer = installer
        self.csr = csr
        self.manager = manager
        # Per builder, so two builders on two databases make identical data (account numbers included).
        self._counter = itertools.count(1)

    def _product(self, code: str) -> tuple[int, Decimal]:
        with self.installer.session() as s:
            row = s.execute(text("SELECT id, price FROM product WHERE code = :c"), {"c": code}).one()
        return int(row[0]), row[1]

    def customer(self, *, name: str | None = None, address: bool = True, segment: str = "silver",
                 vat_id: str | None = None, since: dt.date = dt.date(2020, 1, 1), late_payments: int = 0) -> int:
        n = next(self._counter)
        with self.installer.session() as s:
            return int(s.execute(text(
                "INSERT INTO customer (account_number, name, email, address_line1, postal_code, city, country,"
                " vat_id, segment, customer_since, late_payments_12m) VALUES (:acc, :name, :email, :a1, :pc, :city,"
                " 'CY', :vat, :seg, :since, :late) RETURNING id"
            ), {
                "acc": f"ACC-{n:05d}", "name": name or f"Customer {n}", "email": f"c{n}@example.org",
                "a1": f"{n} Ledra Street" if address else None, "pc": "1011" if address else None,
                "city": "Nicosia" if address else None, "vat": vat_id, "seg": segment, "since": since,
                "late": late_payments,
            }).scalar_one())

    def subscription(self, customer_id: int, *, frequency: str = "monthly", start: dt.date = dt.date(YEAR, 1, 1),
                     end: dt.date | None = None, state: str | None = None,
                     items: Sequence[tuple[str, bool]] = (("FIBRE-100", True),),
                     prices: Sequence[Decimal | None] | None = None, quantities: Sequence[int] | None = None) -> Sub:
        n = next(self._counter)
        with self.installer.session() as s:
            sub_id = int(s.execute(text(
                "INSERT INTO subscription (number, customer_id, billing_frequency, state, start_date, end_date) "
                "VALUES (:num, :c, :f, :st, :start, :end) RETURNING id"
            ), {"num": f"SUB-{n:05d}", "c": customer_id, "f": frequency,
                "st": state or ("cancelled" if end else "active"), "start": start, "end": end}).scalar_one())
            ids = []
            for i, (code, main) in enumerate(items):
                product_id, price = s.execute(text("SELECT id, price FROM product WHERE code = :c"), {"c": code}).one()
                if prices is not None and prices[i] is not None:
                    price = prices[i]
                ids.append(int(s.execute(text(
                    "INSERT INTO billing_item (subscription_id, product_id, is_main, quantity, unit_price) "
                    "VALUES (:s, :p, :m, :q, :u) RETURNING id"
                ), {"s": sub_id, "p": product_id, "m": main, "q": quantities[i] if quantities else 1,
                    "u": price}).scalar_one()))
        return Sub(sub_id, customer_id, tuple(ids))

    def job(self, customer_id: int, *, ordered: dt.date, expected: dt.date, actual: dt.date | None,
            state: str = "completed", items: Sequence[str] = ("INSTALL",)) -> JobRef:
        n = next(self._counter)
        with self.installer.session() as s:
            job_id = int(s.execute(text(
                "INSERT INTO job (number, customer_id, description, order_date, expected_completion,"
                " actual_completion, state) VALUES (:num, :c, 'New installation', :o, :e, :a, :st) RETURNING id"
            ), {"num": f"JOB-{n:05d}", "c": customer_id, "o": ordered, "e": expected, "a": actual,
                "st": state}).scalar_one())
            ids = []
            for code in items:
                product_id, price = s.execute(text("SELECT id, price FROM product WHERE code = :c"), {"c": code}).one()
                ids.append(int(s.execute(text(
                    "INSERT INTO billing_item (job_id, product_id, quantity, unit_price) VALUES (:j, :p, 1, :u) "
                    "RETURNING id"), {"j": job_id, "p": product_id, "u": price}).scalar_one()))
        return JobRef(job_id, customer_id, tuple(ids))

    def discount(self, code: str, *, subscription: Sub | None = None, job: JobRef | None = None,
                 amount: Decimal | str | None = None, percentage: Decimal | str | None = None,
                 free_periods: int | None = None, item_ids: Sequence[int] | None = None,
                 periods_total: int | None = None, effective: dt.date | None = None,
                 expiration: dt.date | None = None, approve: bool = True) -> int:
        """A discount of definition ``code`` as an accepted offer leaves it (arranged by the installer: the
        offer workflow has its own tests); a manager approves it if it needs approval."""
        with self.installer.session() as s:
            d = s.execute(text(
                "SELECT id, value_kind, percentage, amount, free_periods, edifice_type, multiplier, step_cap, approval"
                " FROM discount_definition WHERE code = :c AND active"), {"c": code}).mappings().one()
            target = subscription or job
            assert target is not None
            state = "approved" if d["approval"] == "automatic" and approve else "pending_approval"
            discount_id = int(s.execute(text(
                "INSERT INTO adhoc_discount (customer_id, subscription_id, job_id, definition_id, definition_code,"
                " state, approval_method, value_kind, percentage, amount, free_periods, edifice_type, multiplier,"
                " step_cap, effective_date, expiration_date, periods_total) VALUES (:cust, :sub, :job, :def, :code,"
                " :state, :am, :vk, :pct, :amt, :free, :edi, :mult, :cap, :eff, :exp, :pt) RETURNING id"
            ), {
                "cust": target.customer_id, "sub": subscription.id if subscription else None,
                "job": job.id if job else None, "def": d["id"], "code": code, "state": state, "am": d["approval"],
                "vk": d["value_kind"], "pct": Decimal(percentage) if percentage is not None else d["percentage"],
                "amt": Decimal(amount) if amount is not None else d["amount"],
                "free": free_periods if free_periods is not None else d["free_periods"], "edi": d["edifice_type"],
                "mult": d["multiplier"], "cap": d["step_cap"], "eff": effective, "exp": expiration,
                "pt": periods_total,
            }).scalar_one())
            for item_id in item_ids or ():
                s.execute(text("INSERT INTO adhoc_discount_item (discount_id, billing_item_id) VALUES (:d, :i)"),
                          {"d": discount_id, "i": item_id})
        if approve and state != "approved":
            self.approve(discount_id)
        return discount_id

    def approve(self, discount_id: int) -> None:
        with self.manager.session() as s:
            s.execute(text("UPDATE adhoc_discount SET state = 'approved' WHERE id = :id"), {"id": discount_id})

    def cancel(self, discount_id: int) -> None:
        with self.manager.session() as s:
            s.execute(text("UPDATE adhoc_discount SET state = 'cancelled', cancel_reason = 'not justified' WHERE id = :id"),
                      {"id": discount_id})

    # -- reading results ---------------------------------------------------------------------------------

    def backdate_invoice(self, invoice_id: int, days: int) -> None:
        """As if the invoice had been issued ``days`` days ago (issue, due and discount dates move back)."""
        with self.installer.session() as s:
            s.execute(text("SET LOCAL session_replication_role = replica"))  # an issued invoice is frozen
            s.execute(text(
                "UPDATE invoice SET issue_date = issue_date - :d, due_date = due_date - :d,"
                " term_discount_date = term_discount_date - :d WHERE id = :i"), {"d": days, "i": invoice_id})

    def invoices(self, customer_id: int | None = None) -> list[dict[str, Any]]:
        with self.installer.session() as s:
            rows = s.execute(text(
                "SELECT i.*, r.period_start AS run_period FROM invoice i LEFT JOIN billing_run r ON r.id = i.billing_run_id "
                "WHERE (CAST(:c AS bigint) IS NULL OR i.customer_id = :c) ORDER BY i.id"), {"c": customer_id}).mappings()
            return [dict(r) for r in rows]

    def lines(self, invoice_id: int) -> list[dict[str, Any]]:
        with self.installer.session() as s:
            return [dict(r) for r in s.execute(text(
                "SELECT * FROM invoice_line WHERE invoice_id = :i ORDER BY line_no"), {"i": invoice_id}).mappings()]

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.installer.session() as s:
            return s.execute(text(sql), params).scalar()


def snapshot(db: Database) -> list[tuple[Any, ...]]:
    """Everything billing wrote, without ids or timestamps: to compare two runs to the cent."""
    with db.session() as s:
        invoices = s.execute(text(
            "SELECT c.account_number, i.kind, i.state, i.series, i.number, i.period_start, i.period_end,"
            " i.net_total, i.tax_total, i.gross_total, i.discount_total, i.term_discount_amount,"
            " i.cumulative_discount_amount, i.buyer_name, i.buyer_address,"
            " (SELECT array_agg(ARRAY[l.line_no::text, coalesce(l.billing_item_id::text, ''), l.description, l.gross_amount::text,"
            "   l.discount_amount::text, l.net_amount::text, l.tax_amount::text, l.term_discount_amount::text]"
            "   ORDER BY l.line_no) FROM invoice_line l WHERE l.invoice_id = i.id)"
            " FROM invoice i JOIN customer c ON c.id = i.customer_id ORDER BY c.account_number, i.kind, i.number"
        )).all()
        apps = s.execute(text(
            "SELECT c.account_number, da.discount_id IS NULL, da.amount, da.period_start FROM discount_application da"
            " JOIN invoice_line l ON l.id = da.invoice_line_id JOIN invoice i ON i.id = l.invoice_id"
            " JOIN customer c ON c.id = i.customer_id ORDER BY 1, 2, 3, 4")).all()
        counters = s.execute(text("SELECT series, next_number FROM invoice_counter ORDER BY series")).all()
        jobs = s.execute(text("SELECT number, state FROM job ORDER BY number")).all()
        used = s.execute(text("SELECT id, periods_used FROM adhoc_discount ORDER BY id")).all()
        records = s.execute(text("SELECT count(*) FROM billing_item_record")).all()
    return [tuple(r) for r in invoices] + [("apps", *map(tuple, apps))] + [("counters", *map(tuple, counters))] \
        + [("jobs", *map(tuple, jobs))] + [("used", *map(tuple, used))] + [("records", *map(tuple, records))]


def populate(build: Builder, customers: int = 24) -> None:
    """A deterministic mix: monthly/quarterly/annual subscriptions, jobs (late and on time), approved,
    pending and cancelled discounts of every kind, and customers without an address. Same data every call."""
    for n in range(customers):
        customer = build.customer(address=n % 11 != 5, segment=("gold", "silver", "bronze")[n % 3])
        frequency = ("monthly", "monthly", "quarterly", "annual")[n % 4]
        start = dt.date(YEAR, 3, 1) if frequency == "annual" else dt.date(YEAR, 1 + n % 3, 1 + n % 20)
        items = (("FIBRE-100", True), ("STATIC-IP", False)) if n % 2 else (("FIBRE-500", True), ("TV-SPORTS", False))
        end = dt.date(YEAR, 3, 17) if n % 9 == 4 else None
        sub = build.subscription(customer, frequency=frequency, start=start, end=end, items=items)
        kind = n % 7
        if kind == 0:
            build.discount("ZX-SUB-RANGE", subscription=sub, amount="12.50", item_ids=[sub.item_ids[0]])
        elif kind == 1:
            build.discount("RET-15PCT-6M", subscription=sub, periods_total=2)
        elif kind == 2:
            build.discount("RET-FREE-MONTH", subscription=sub, item_ids=[sub.item_ids[0]])
        elif kind == 3:
            build.discount("EDI-TERM-10", subscription=sub, item_ids=list(sub.item_ids))
        elif kind == 4:
            build.discount("ZX-SUB-RANGE", subscription=sub, amount="20.00", approve=False)  # stays pending
        elif kind == 5:
            build.cancel(build.discount("ZX-SUB-RANGE", subscription=sub, amount="15.00", approve=False))
        else:
            build.discount("EDI-TRADE-5", subscription=sub)
        if n % 5 == 0:
            job = build.job(customer, ordered=dt.date(YEAR, 2, 1), expected=dt.date(YEAR, 2, 15),
                            actual=dt.date(YEAR, 2, 15 + n % 3), items=("INSTALL", "ACTIVATION"))
            if n % 10 == 0:
                build.discount("ZX-JOB-LATE-50", job=job, item_ids=[job.item_ids[0]])
