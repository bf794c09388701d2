"""Shared test builders: customers with subscriptions or jobs, issued invoices, and tickets at a given step.

Reference rows (customers, subscriptions, jobs, billing items, invoices) are arranged through the
`installer` Database, the way an administrator or the billing run would create them; workflow steps
(intake, claim, verify) go through the real services as the signed-in test users.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, text

from agentdesk.bootstrap import Database
from agentdesk.db.models import BillingItem, Customer, Invoice, Job, Product, Subscription
from agentdesk.services import intake, queues
from agentdesk.services.dto import TicketSummary

_numbers = itertools.count(1)


@dataclass(frozen=True)
class CustomerRef:
    id: int
    account_number: str
    name: str
    segment: str
    lifetime_value: Decimal


@dataclass(frozen=True)
class ServiceRef:
    kind: str  # "subscription" | "job"
    id: int
    number: str
    customer: CustomerRef
    item_ids: tuple[int, ...]


def make_customer(
    installer: Database,
    *,
    segment: str = "silver",
    lifetime_value: Decimal | str = "800.00",
    late_payments: int = 0,
    customer_since: dt.date | None = None,
    card_segment: str = "none",
    name: str | None = None,
    account_number: str | None = None,
    email: str | None = "customer@example.com",
) -> CustomerRef:
    n = next(_numbers)
    account = account_number or f"A-{n:06d}"
    with installer.session() as s:
        c = Customer(
            account_number=account, name=name or f"Customer {n}", email=email, phone="+357 99 000 000",
            address_line1=f"{n} Test Street", postal_code="1065", city="Nicosia", country="CY",
            segment=segment, card_segment=card_segment,
            customer_since=customer_since or dt.date.today() - dt.timedelta(days=3 * 365),
            late_payments_12m=late_payments, lifetime_value=Decimal(lifetime_value),
        )
        s.add(c)
        s.flush()
        return CustomerRef(c.id, c.account_number, c.name, c.segment, c.lifetime_value)


def add_subscription(
    installer: Database,
    customer: CustomerRef,
    *,
    products: tuple[str, ...] = ("FIBRE-100", "ROUTER-RENT"),
    frequency: str = "monthly",
    state: str = "active",
    start_date: dt.date | None = None,
    number: str | None = None,
) -> ServiceRef:
    """A subscription whose first product is the main service; items at the product's list price."""
    n = next(_numbers)
    start = start_date or dt.date.today() - dt.timedelta(days=400)
    with installer.session() as s:
        sub = Subscription(
            number=number or f"S-{n:06d}", customer_id=customer.id, billing_frequency=frequency, state=state,
            start_date=start, end_date=dt.date.today() if state == "cancelled" else None,
        )
        s.add(sub)
        s.flush()
        ids = _add_items(s, products, subscription_id=sub.id)
        return ServiceRef("subscription", sub.id, sub.number, customer, ids)


def add_job(
    installer: Database,
    customer: CustomerRef,
    *,
    products: tuple[str, ...] = ("INSTALL",),
    days_late: int = 10,
    state: str = "completed",
    number: str | None = None,
) -> ServiceRef:
    """An installation job that finished `days_late` days after the promised date."""
    n = next(_numbers)
    ordered = dt.date.today() - dt.timedelta(days=60)
    expected = ordered + dt.timedelta(days=14)
    with installer.session() as s:
        job = Job(
            number=number or f"J-{n:06d}", customer_id=customer.id, description="Fibre installation",
            order_date=ordered, expected_completion=expected,
            actual_completion=expected + dt.timedelta(days=days_late) if state != "open" else None, state=state,
        )
        s.add(job)
        s.flush()
        ids = _add_items(s, products, job_id=job.id)
        return ServiceRef("job", job.id, job.number, customer, ids)


def _add_items(s: object, products: tuple[str, ...], **owner: int) -> tuple[int, ...]:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    ids = []
    for index, code in enumerate(products):
        product = s.scalars(select(Product).where(Product.code == code)).one()
        item = BillingItem(product_id=product.id, is_main=index == 0, quantity=1, unit_price=product.price, **owner)
        s.add(item)
        s.flush()
        ids.append(item.id)
    return tuple(ids)


def customer_with_subscription(installer: Database, **customer_args: object) -> ServiceRef:
    return add_subscription(installer, make_customer(installer, **customer_args))  # type: ignore[arg-type]


def issue_invoice(
    installer: Database, customer: CustomerRef, *, net: str = "100.00", tax: str = "19.00", paid: str = "0.00"
) -> int:
    """An issued invoice (created as a draft, then issued: the database numbers it)."""
    today = dt.date.today()
    with installer.session() as s:
        inv = Invoice(
            kind="invoice", series="INV", customer_id=customer.id, period_start=today.replace(day=1),
            period_end=today, buyer_name=customer.name, buyer_address="1 Test Street, Nicosia",
            net_total=Decimal(net), tax_total=Decimal(tax), gross_total=Decimal(net) + Decimal(tax),
        )
        s.add(inv)
        s.flush()
        s.execute(text("UPDATE invoice SET state = 'issued' WHERE id = :i"), {"i": inv.id})
        if Decimal(paid):
            s.execute(text("UPDATE invoice SET paid_total = :p WHERE id = :i"), {"p": Decimal(paid), "i": inv.id})
        return inv.id


# -- tickets at a given step -----------------------------------------------------------------------------


def open_ticket(
    csr: Database,
    service: ServiceRef,
    *,
    channel: str = "phone",
    call_type: str = "cancellation",
    reason: str | None = "Found a cheaper offer",
) -> TicketSummary:
    """A queued ticket for the service, opened through intake by `csr`."""
    return intake.create_cancellation_request(
        csr, service.customer.account_number, service.number, channel, call_type, reason,
        service_kind=service.kind,  # type: ignore[arg-type]
    )


def ticket_in_progress(csr: Database, service: ServiceRef, *, verified: bool = True, **kw: str) -> TicketSummary:
    """A ticket `csr` has claimed (and verified the caller on, unless `verified=False`)."""
    ticket = queues.claim(csr, open_ticket(csr, service, **kw).id)
    if verified:
        ticket = intake.verify_caller(csr, ticket.id, ticket.version, "security_question")
    return ticket
