"""Which discounts a caller may be offered: database rows in, the pure domain engine's answer out.

This module is the adapter between the database and :mod:`agentdesk.domain.eligibility`. It builds the
domain contexts from a ticket (the customer's segment, card, late payments, tenure and value; the ticket's
subscription or job with its billing items; the call type; the customer's prior usage of each definition,
from ad hoc discounts that were not cancelled) and asks the engine to judge every active definition.
The maths and the wording of the reasons live in the domain; nothing here re-implements a rule.

Costs are shown from the date the discount would start: the start of the next billing period of a
subscription (today for a job), which is the effective date an accepted offer's discount gets.

The loading helpers are shared by the offer, approval and accounting services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.db.models import (
    AdhocDiscount,
    BillingItem,
    Customer,
    Job,
    Offer,
    Product,
    Subscription,
    Ticket,
    Unit,
)
from agentdesk.db.models import DiscountDefinition as DefinitionRow
from agentdesk.domain import eligibility as engine
from agentdesk.domain.discounts import (
    ApprovalMethod,
    BillingFrequency,
    CallType,
    CardSegment,
    CustomerContext,
    CustomerSegment,
    DiscountDefinition,
    DurationKind,
    EdificeType,
    PriorUsage,
    ProductType,
    ServiceContext,
    ValueKind,
)
from agentdesk.domain.discounts import BillingItem as DomainItem
from agentdesk.domain.errors import NotFound
from agentdesk.domain.money import format_money, format_percent
from agentdesk.domain.periods import add_months, format_date
from agentdesk.services.audit import record_event

# --------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionInfo:
    """One definition judged for one ticket, ranked (``rank`` 1 is the best eligible offer)."""

    rank: int
    definition_id: int
    code: str
    version: int
    name: str
    description: str
    eligible: bool
    reasons: tuple[str, ...]
    value_kind: str
    value_text: str  # "20.00 per month", "50.00%", "1 free period", "5.00-20.00 per month"
    billing_item_ids: tuple[int, ...]
    amount_min: Decimal | None
    amount_max: Decimal | None
    amount_default: Decimal | None
    cost_per_period: Decimal
    periods: int
    total_cost: Decimal
    service_cost: Decimal
    cost_percent: Decimal
    needs_approval: bool
    approval_unit: str | None  # unit code
    edifice_type: str
    effective_date: dt.date  # when an accepted discount of it would start


@dataclass(frozen=True)
class ServiceFacts:
    """The ticket's subscription or job, as the offer and accounting services need it."""

    kind: str  # "subscription" | "job" | "none"
    subscription_id: int | None
    job_id: int | None
    number: str
    billing_frequency: BillingFrequency | None
    start_date: dt.date | None
    context: ServiceContext
    items: dict[int, ItemFacts]


@dataclass(frozen=True)
class ItemFacts:
    id: int
    product_code: str
    product_name: str
    product_type: str
    description: str
    is_main: bool
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class TicketFacts:
    """Everything eligibility needs about one ticket, loaded in the caller's transaction."""

    ticket: Ticket
    customer: Customer
    service: ServiceFacts
    customer_context: CustomerContext
    call_type: CallType
    today: dt.date
    usage: tuple[PriorUsage, ...]


# --------------------------------------------------------------------------------------------------------
# Loading (shared with offers, approvals, accounting)
# --------------------------------------------------------------------------------------------------------


def server_today(session: Session) -> dt.date:
    """The database server's date: every workstation judges validity and windows by the same day."""
    value = session.execute(select(func.current_date())).scalar_one()
    assert isinstance(value, dt.date)
    return value


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("Ticket", ticket_id)
    return ticket


def find_ticket_id(db: Database, key: str | int) -> int:
    """A ticket id from an id or a ticket number such as ``T-000123`` (for the command line)."""
    text_key = str(key).strip()
    with db.session() as s:
        if text_key.isdigit():
            found = s.scalar(select(Ticket.id).where(Ticket.id == int(text_key)))
        else:
            found = s.scalar(select(Ticket.id).where(func.upper(Ticket.number) == text_key.upper()))
    if found is None:
        raise NotFound("Ticket", text_key)
    return int(found)


def _unit_codes(session: Session) -> dict[int, str]:
    return {int(i): str(c) for i, c in session.execute(select(Unit.id, Unit.code)).all()}


def to_domain_definition(row: DefinitionRow, unit_codes: dict[int, str]) -> DiscountDefinition:
    """The domain definition of a row (not validated: old rows must stay readable)."""
    return DiscountDefinition(
        id=row.id, code=row.code, version=row.version, name=row.name,
        value_kind=ValueKind(row.value_kind), percentage=row.percentage, amount=row.amount,
        amount_min=row.amount_min, amount_max=row.amount_max, free_periods=row.free_periods,
        billing_frequency=BillingFrequency(row.billing_frequency) if row.billing_frequency else None,
        effective_date=row.effective_date, expiration_date=row.expiration_date,
        duration_kind=DurationKind(row.duration_kind), duration_periods=row.duration_periods,
        duration_until=row.duration_until, max_applications=row.max_applications,
        applications_window_months=row.applications_window_months,
        approval=ApprovalMethod(row.approval),
        approval_unit=unit_codes.get(row.approval_unit_id) if row.approval_unit_id is not None else None,
        product_types=frozenset(ProductType(t) for t in row.product_types or ()),
        product_codes=frozenset(row.product_codes or ()), main_service_only=row.main_service_only,
        customer_segments=frozenset(CustomerSegment(x) for x in row.customer_segments or ()),
        card_segments=frozenset(CardSegment(x) for x in row.card_segments or ()),
        call_types=frozenset(CallType(x) for x in row.call_types or ()),
        max_late_payments=row.max_late_payments, min_tenure_months=row.min_tenure_months,
        jobs_late_only=row.jobs_late_only, auto_apply=row.auto_apply,
        edifice_type=EdificeType(row.edifice_type), multiplier=row.multiplier, step_cap=row.step_cap,
        term_days=row.term_days, active=row.active,
    )


def load_definition(session: Session, definition_id: int) -> DiscountDefinition:
    row = session.get(DefinitionRow, definition_id)
    if row is None:
        raise NotFound("Discount definition", definition_id)
    return to_domain_definition(row, _unit_codes(session))


def active_definitions(session: Session) -> list[DiscountDefinition]:
    units = _unit_codes(session)
    rows = session.scalars(select(DefinitionRow).where(DefinitionRow.active).order_by(DefinitionRow.code)).all()
    return [to_domain_definition(r, units) for r in rows]


def customer_context(customer: Customer) -> CustomerContext:
    return CustomerContext(
        segment=CustomerSegment(customer.segment), card_segment=CardSegment(customer.card_segment),
        late_payments_12m=customer.late_payments_12m, customer_since=customer.customer_since,
        lifetime_value=customer.lifetime_value,
    )


def load_items(session: Session, *, subscription_id: int | None = None, job_id: int | None = None) -> list[ItemFacts]:
    query = select(BillingItem, Product).join(Product, Product.id == BillingItem.product_id)
    if subscription_id is not None:
        query = query.where(BillingItem.subscription_id == subscription_id)
    else:
        query = query.where(BillingItem.job_id == job_id)
    rows = session.execute(query.order_by(BillingItem.is_main.desc(), BillingItem.id)).all()
    return [
        ItemFacts(id=b.id, product_code=p.code, product_name=p.name, product_type=p.type,
                  description=b.description or p.name, is_main=b.is_main, quantity=b.quantity,
                  unit_price=b.unit_price)
        for b, p in rows
    ]


def _domain_items(items: list[ItemFacts]) -> tuple[DomainItem, ...]:
    return tuple(
        DomainItem(item_id=i.id, product_code=i.product_code, product_type=ProductType(i.product_type),
                   is_main=i.is_main, quantity=Decimal(i.quantity), unit_price=i.unit_price,
                   description=i.description)
        for i in items
    )


def service_facts(session: Session, *, subscription_id: int | None, job_id: int | None) -> ServiceFacts:
    """The subscription or job (and its billing items) as domain context plus the facts services print."""
    if subscription_id is not None:
        sub = session.get(Subscription, subscription_id)
        if sub is None:
            raise NotFound("Subscription", subscription_id)
        items = load_items(session, subscription_id=sub.id)
        frequency = BillingFrequency(sub.billing_frequency)
        return ServiceFacts("subscription", sub.id, None, sub.number, frequency, sub.start_date,
                            ServiceContext(_domain_items(items), frequency), {i.id: i for i in items})
    if job_id is not None:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound("Job", job_id)
        items = load_items(session, job_id=job.id)
        return ServiceFacts("job", None, job.id, job.number, None, None,
                            ServiceContext(_domain_items(items), None, job.expected_completion,
                                           job.actual_completion),
                            {i.id: i for i in items})
    return ServiceFacts("none", None, None, "", None, None, ServiceContext((), None), {})


def prior_usage(session: Session, customer_id: int) -> tuple[PriorUsage, ...]:
    """The customer's ad hoc discounts that were not cancelled (pending ones count: they may be approved)."""
    rows = session.execute(
        select(AdhocDiscount.definition_code, AdhocDiscount.provided_on)
        .where(AdhocDiscount.customer_id == customer_id, AdhocDiscount.state != "cancelled")
    ).all()
    return tuple(PriorUsage(code=str(code), applied_on=on.date()) for code, on in rows)


def ticket_facts(session: Session, ticket: Ticket) -> TicketFacts:
    customer = session.get(Customer, ticket.customer_id)
    if customer is None:
        raise NotFound("Customer", ticket.customer_id)
    return TicketFacts(
        ticket=ticket, customer=customer,
        service=service_facts(session, subscription_id=ticket.subscription_id, job_id=ticket.job_id),
        customer_context=customer_context(customer), call_type=CallType(ticket.call_type),
        today=server_today(session), usage=prior_usage(session, customer.id),
    )


def period_start_after(start: dt.date, frequency: BillingFrequency, today: dt.date) -> dt.date:
    """The first day of the first billing period that begins after ``today``.

    Billing runs cover calendar months (agentdesk.billing.periods): a monthly subscription is billed for
    every month, a quarterly one every third month and an annual one every twelfth, counted from the month
    its service started; each billing period begins on the 1st of its month.
    """
    first = dt.date(start.year, start.month, 1)
    months = frequency.months
    if first > today:
        return first
    elapsed = (today.year - first.year) * 12 + today.month - first.month
    return add_months(first, (elapsed // months + 1) * months)


def next_period_start(service: ServiceFacts, today: dt.date) -> dt.date:
    """When a discount agreed ``today`` starts: the subscription's next billing period (a job: today)."""
    if service.billing_frequency is None or service.start_date is None:
        return today
    return period_start_after(service.start_date, service.billing_frequency, today)


def value_text(definition: DiscountDefinition, amount: Decimal | None, per: str) -> str:
    """How the value reads to a person: "20.00 per month", "50.00%", "1 free period"."""
    kind = definition.value_kind
    if kind is ValueKind.PERCENTAGE and definition.percentage is not None:
        return format_percent(definition.percentage)
    if kind is ValueKind.FREE_PERIOD:
        n = definition.free_periods or 0
        return f"{n} free {per}" if n == 1 else f"{n} free {per}s"
    if amount is not None:
        return f"{format_money(amount)} per {per}"
    if kind is ValueKind.AMOUNT_RANGE and definition.amount_min is not None and definition.amount_max is not None:
        return f"{format_money(definition.amount_min)}-{format_money(definition.amount_max)} per {per}"
    return ""


def period_word(frequency: BillingFrequency | None) -> str:
    return {None: "job", BillingFrequency.MONTHLY: "month", BillingFrequency.QUARTERLY: "quarter",
            BillingFrequency.ANNUAL: "year"}[frequency]


def suggestions_for(facts: TicketFacts, definitions: list[DiscountDefinition]) -> list[SuggestionInfo]:
    """The engine's ranked suggestions, with costs counted from the discount's real start date."""
    ranked = engine.evaluate(definitions, facts.customer_context, facts.service.context, facts.call_type,
                             facts.today, facts.usage)
    start = next_period_start(facts.service, facts.today)
    per = period_word(facts.service.billing_frequency)
    out: list[SuggestionInfo] = []
    for s in ranked:
        d = s.definition
        cost = engine.discount_cost(d, facts.service.context, start, amount=s.amount_default,
                                    item_ids=list(s.item_ids))
        eligible, reasons = s.eligible, s.reasons
        if cost.periods == 0 and d.duration_until is not None:
            # The engine counts from today; the discount would only start with the next billing period.
            eligible = False
            reasons = (f"not eligible: its duration ends on {format_date(d.duration_until)}, before the next "
                       f"billing period starts on {format_date(start)}",) + reasons
        out.append(SuggestionInfo(
            rank=0, definition_id=int(d.id or 0), code=d.code, version=d.version, name=d.name,
            description="", eligible=eligible, reasons=reasons, value_kind=d.value_kind.value,
            value_text=value_text(d, s.amount_default, per),
            billing_item_ids=tuple(int(i) for i in s.item_ids), amount_min=s.amount_min,
            amount_max=s.amount_max, amount_default=s.amount_default, cost_per_period=cost.per_period,
            periods=cost.periods, total_cost=cost.total, service_cost=cost.service_total,
            cost_percent=cost.percent, needs_approval=d.needs_approval, approval_unit=d.approval_unit,
            edifice_type=d.edifice_type.value, effective_date=start,
        ))
    # Eligible first, in the engine's order (the adjustment above may move one to the other group).
    ordered = [x for x in out if x.eligible] + [x for x in out if not x.eligible]
    return [replace(x, rank=i) for i, x in enumerate(ordered, start=1)]


def _descriptions(session: Session) -> dict[int, str]:
    return {int(i): str(t) for i, t in session.execute(select(DefinitionRow.id, DefinitionRow.description)).all()}


def declined_definition_ids(session: Session, ticket_id: int) -> set[int]:
    return set(session.scalars(
        select(Offer.definition_id).where(Offer.ticket_id == ticket_id, Offer.state == "declined")
    ).all())


def ticket_suggestions(session: Session, ticket: Ticket, *, exclude_declined: bool = False,
                       facts: TicketFacts | None = None) -> list[SuggestionInfo]:
    """Suggestions for ``ticket`` in the caller's transaction (see :func:`eligibility_for_ticket`)."""
    facts = facts or ticket_facts(session, ticket)
    definitions = active_definitions(session)
    if exclude_declined:
        declined = declined_definition_ids(session, ticket.id)
        definitions = [d for d in definitions if d.id not in declined]
    texts = _descriptions(session)
    return [_with_description(s, texts.get(s.definition_id, "")) for s in suggestions_for(facts, definitions)]


def _with_description(s: SuggestionInfo, description: str) -> SuggestionInfo:
    return replace(s, description=description)


# --------------------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------------------


def eligibility_for_ticket(db: Database, ticket_id: int, *, exclude_declined: bool = False,
                           record: bool = False) -> list[SuggestionInfo]:
    """Every active definition judged for the ticket, eligible first and ranked, with plain reasons.

    ``exclude_declined`` leaves out definitions the customer already declined on this ticket (the next
    best offer). ``record`` writes the determination on the ticket's timeline (the patent's
    "determining a customer eligibility" step); screens that merely refresh leave it off.
    """
    with db.session() as s:
        ticket = get_ticket(s, ticket_id)
        found = ticket_suggestions(s, ticket, exclude_declined=exclude_declined)
        if record:
            eligible = [x for x in found if x.eligible]
            best = f"; best: {eligible[0].code} ({eligible[0].value_text})" if eligible else ""
            record_event(s, ticket.id, "eligibility", f"{len(eligible)} of {len(found)} discounts eligible{best}",
                         after={"eligible": [x.code for x in eligible]})
    return found


__all__ = [
    "ItemFacts",
    "ServiceFacts",
    "SuggestionInfo",
    "TicketFacts",
    "active_definitions",
    "customer_context",
    "eligibility_for_ticket",
    "find_ticket_id",
    "get_ticket",
    "load_definition",
    "next_period_start",
    "period_start_after",
    "prior_usage",
    "server_today",
    "service_facts",
    "suggestions_for",
    "ticket_facts",
    "ticket_suggestions",
    "to_domain_definition",
    "value_text",
]
