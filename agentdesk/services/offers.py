"""Offers on a ticket: make one, record the customer's answer, lapse old ones, or let the customer go.

The patent's middle steps, one service function each (one transaction, as the signed-in person's role, a
timeline event for every step):

* :func:`make_offer` - "determining a discount amount to offer", "updating the ticket with the discount
  offer" and "notifying the customer": the chosen definition must be eligible for the ticket (the domain
  engine says so, with its reasons); the terms are frozen into ``offer.terms`` with a SHA-256 hash, the
  customer gets a short acceptance reference, the ticket goes to Offer pending and the e-mail or letter is
  written to the outbox in the same transaction (delivered later by the worker, exactly once).
* :func:`accept_offer` - "receiving an acceptance" and "assigning the accepted discount to billing items":
  the acceptance is stamped by the database (who, when; refused once the offer lapsed) after the stored
  terms were checked against their hash, and an ad hoc discount is created with its billing items: Approved
  at once for an automatic definition (the CSR then confirms), Pending Approval for a manual one.
* :func:`decline_offer` - the ticket goes back to the CSR with the next best offer suggested.
* :func:`proceed_with_cancellation` - the CSR gives up: the subscription ends, the ticket closes.
* :func:`other_sales_offers` - cheaper packages and add-on savings from the product list, for when every
  discount was declined (the retention patent's "other sales opportunities").
* :func:`lapse_expired_offers` - run by the worker: open offers past their expiry become Lapsed.

Canonical terms: ``json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded
as UTF-8; every amount in the terms is a string ("20.00"), so the hash never depends on float formatting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.db.models import (
    AdhocDiscount,
    AdhocDiscountItem,
    CompanySettings,
    Customer,
    Offer,
    Product,
    Subscription,
    Ticket,
)
from agentdesk.db.models import DiscountDefinition as DefinitionRow
from agentdesk.domain import eligibility as engine
from agentdesk.domain.billing_math import span_from_definition
from agentdesk.domain.discounts import ApprovalMethod, BillingFrequency, DiscountDefinition, ValueKind
from agentdesk.domain.errors import NotFound, RuleViolation, ValidationError
from agentdesk.domain.money import format_money, round_money
from agentdesk.domain.periods import format_date
from agentdesk.services import outbox
from agentdesk.services.audit import record_event
from agentdesk.services.eligibility import (
    ServiceFacts,
    SuggestionInfo,
    next_period_start,
    period_start_after,
    period_word,
    server_today,
    service_facts,
    ticket_facts,
    ticket_suggestions,
    to_domain_definition,
    value_text,
)
from agentdesk.services.tickets import load_summary, lock_ticket, update_ticket_row

NOTIFY_CHANNELS = ("email", "letter")
ACCEPT_CHANNELS = ("phone", "email", "web", "reference")
# Acceptance references avoid look-alikes (0/O, 1/I/L) so they survive being read out on the phone.
REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
OPEN_OFFER_STATES = ("proposed", "sent")


# --------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferInfo:
    id: int
    ticket_id: int
    definition_id: int
    code: str
    version: int
    name: str
    state: str
    amount: Decimal | None
    percentage: Decimal | None
    free_periods: int | None
    billing_item_ids: tuple[int, ...]
    terms: dict[str, Any]
    terms_hash: str
    acceptance_ref: str
    expires_at: dt.datetime
    made_by: str
    made_at: dt.datetime
    accepted_at: dt.datetime | None
    accepted_channel: str | None
    accepted_recorded_by: str | None
    declined_at: dt.datetime | None
    decline_reason: str | None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_OFFER_STATES

    @property
    def summary(self) -> str:
        """"Serious complaint credit (monthly): 20.00 per month, saving 180.00"."""
        t = self.terms
        return f"{self.name}: {t['value']['text']}, saving {t['total_saving']} {t['currency']}"


@dataclass(frozen=True)
class DiscountInfo:
    """An ad hoc discount (CRM.COM): Pending Approval -> Approved | Cancelled."""

    id: int
    version: int
    state: str
    customer_id: int
    ticket_id: int | None
    offer_id: int | None
    definition_id: int
    definition_code: str
    approval_method: str
    approval_unit_id: int | None
    value_kind: str
    amount: Decimal | None
    percentage: Decimal | None
    free_periods: int | None
    edifice_type: str
    multiplier: Decimal
    step_cap: Decimal | None
    effective_date: dt.date | None
    expiration_date: dt.date | None
    periods_total: int | None
    billing_item_ids: tuple[int, ...]
    provided_by: str
    provided_on: dt.datetime
    approved_by: str | None
    approved_on: dt.datetime | None
    cancelled_by: str | None
    cancelled_on: dt.datetime | None
    cancel_reason: str | None


@dataclass(frozen=True)
class AcceptanceInfo:
    offer: OfferInfo
    discount: DiscountInfo
    ticket_state: str
    ticket_version: int


@dataclass(frozen=True)
class DeclineInfo:
    offer: OfferInfo
    next_best: SuggestionInfo | None  # the best eligible definition not yet declined on this ticket
    suggestions: tuple[SuggestionInfo, ...]
    ticket_version: int


@dataclass(frozen=True)
class CancellationInfo:
    ticket_id: int
    ticket_number: str
    service_number: str
    end_date: dt.date | None  # the day the cancellation takes effect: first day without service
    withdrawn_offers: tuple[str, ...]
    cancelled_discounts: tuple[int, ...]


@dataclass(frozen=True)
class SalesOffer:
    """Another way to keep the customer: a cheaper package, or dropping an add-on."""

    kind: str  # "cheaper_package" | "drop_add_on"
    title: str
    product_code: str
    current_price: Decimal  # per period, the item being replaced or dropped
    new_price: Decimal
    saving_per_period: Decimal
    per: str


# --------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------


def canonical_terms(terms: dict[str, Any]) -> bytes:
    return json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def terms_hash(terms: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_terms(terms)).hexdigest()


def new_acceptance_ref() -> str:
    chars = "".join(secrets.choice(REF_ALPHABET) for _ in range(10))
    return f"{chars[:2]}-{chars[2:6]}-{chars[6:]}"


def normalize_ref(text: str) -> str:
    """"zx 7k4q 9mdp" or "ZX7K4Q9MDP" -> "ZX-7K4Q-9MDP" (other shapes are returned upper-cased)."""
    compact = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(compact) == 10:
        return f"{compact[:2]}-{compact[2:6]}-{compact[6:]}"
    return text.strip().upper()


def offer_info(session: Session, offer: Offer) -> OfferInfo:
    d = session.get(DefinitionRow, offer.definition_id)
    assert d is not None
    return OfferInfo(
        id=offer.id, ticket_id=offer.ticket_id, definition_id=offer.definition_id, code=d.code,
        version=d.version, name=d.name, state=offer.state, amount=offer.amount, percentage=offer.percentage,
        free_periods=offer.free_periods, billing_item_ids=tuple(offer.billing_item_ids or ()),
        terms=dict(offer.terms), terms_hash=offer.terms_hash or "", acceptance_ref=offer.acceptance_ref,
        expires_at=offer.expires_at, made_by=offer.made_by, made_at=offer.made_at,
        accepted_at=offer.accepted_at, accepted_channel=offer.accepted_channel,
        accepted_recorded_by=offer.accepted_recorded_by, declined_at=offer.declined_at,
        decline_reason=offer.decline_reason,
    )


def discount_info(session: Session, d: AdhocDiscount) -> DiscountInfo:
    items = session.scalars(
        select(AdhocDiscountItem.billing_item_id).where(AdhocDiscountItem.discount_id == d.id)
        .order_by(AdhocDiscountItem.billing_item_id)
    ).all()
    return DiscountInfo(
        id=d.id, version=d.version, state=d.state, customer_id=d.customer_id, ticket_id=d.ticket_id,
        offer_id=d.offer_id, definition_id=d.definition_id, definition_code=d.definition_code,
        approval_method=d.approval_method, approval_unit_id=d.approval_unit_id, value_kind=d.value_kind,
        amount=d.amount, percentage=d.percentage, free_periods=d.free_periods, edifice_type=d.edifice_type,
        multiplier=d.multiplier, step_cap=d.step_cap, effective_date=d.effective_date,
        expiration_date=d.expiration_date, periods_total=d.periods_total, billing_item_ids=tuple(items),
        provided_by=d.provided_by, provided_on=d.provided_on, approved_by=d.approved_by,
        approved_on=d.approved_on, cancelled_by=d.cancelled_by, cancelled_on=d.cancelled_on,
        cancel_reason=d.cancel_reason,
    )


def reload(session: Session, obj: Any) -> None:
    """Read back what the triggers stamped (who, when, version)."""
    session.flush()
    session.refresh(obj)


def move_ticket(session: Session, ticket: Ticket, state: str, **values: Any) -> None:
    """One state move as a plain UPDATE: the database's transition trigger decides whether it is allowed."""
    update_ticket_row(session, ticket.id, {"state": state, **values})


def _open_offer_for_update(session: Session, key: int | str) -> Offer:
    """The offer by id or acceptance reference, with its ticket locked first, then the offer."""
    if isinstance(key, int) or (isinstance(key, str) and key.strip().isdigit()):
        where = Offer.id == int(key)
        label: object = int(key)
    else:
        where = Offer.acceptance_ref == normalize_ref(key)
        label = normalize_ref(key)
    ticket_id = session.scalar(select(Offer.ticket_id).where(where))
    if ticket_id is None:
        raise NotFound("Offer", label)
    lock_ticket(session, ticket_id)
    offer = session.execute(
        select(Offer).where(where).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    return offer


def _items_for(service: ServiceFacts, definition: DiscountDefinition, suggestion: SuggestionInfo,
               chosen: list[int] | tuple[int, ...] | None) -> tuple[int, ...]:
    """The billing items the discount applies to: the definition's default, or a subset the CSR chose."""
    if chosen is None:
        return suggestion.billing_item_ids
    wanted = tuple(dict.fromkeys(int(i) for i in chosen))
    if not wanted:
        raise ValidationError("billing_item_ids", "Choose at least one billing item for the discount")
    allowed = set(suggestion.billing_item_ids)
    for item_id in wanted:
        if item_id not in service.items:
            raise ValidationError("billing_item_ids", f"Billing item {item_id} is not part of {service.number}")
        if item_id not in allowed:
            item = service.items[item_id]
            raise ValidationError(
                "billing_item_ids",
                f"{definition.name} does not apply to {item.description}: it covers "
                + ", ".join(service.items[i].description for i in suggestion.billing_item_ids),
            )
    return wanted


def _duration_text(definition: DiscountDefinition, start: dt.date, periods: int, per: str) -> str:
    if definition.value_kind is ValueKind.FREE_PERIOD or definition.duration_kind.value == "periods":
        return f"for {periods} {per}{'s' if periods != 1 else ''} from {format_date(start)}"
    if definition.duration_kind.value == "until_date" and definition.duration_until is not None:
        return f"from {format_date(start)} until {format_date(definition.duration_until)} ({periods} {per}s)"
    return "once" if per == "job" else f"once, on the {per} starting {format_date(start)}"


def _monthly(amount: Decimal, frequency: BillingFrequency | None) -> Decimal:
    return round_money(amount / frequency.months) if frequency is not None else amount


def terms_lines(terms: dict[str, Any]) -> list[str]:
    """The terms as sentences, for the e-mail and the letter."""
    cur = terms["currency"]
    per = terms["service"]["per"]
    items = ", ".join(i["description"] for i in terms["items"])
    lines = [
        f"{terms['definition']['name']}: {terms['value']['text']} on {items}",
        f"Duration: {terms['duration']['text']}",
        f"Your charge per {per}: {terms['cost_before']} {cur} now, {terms['cost_after']} {cur} with the discount",
        f"Total saving: {terms['total_saving']} {cur} ({terms['saving_percent']}% of the service's cost)",
    ]
    if terms["approval"] == "manual":
        lines.append("The discount is applied once a supervisor has confirmed it; we will let you know.")
    return lines


def _email_body(terms: dict[str, Any], company: CompanySettings, how_to_accept: str) -> str:
    lines = [
        f"Dear {terms['customer']['name']},",
        "",
        f"Thank you for talking to us about your service {terms['service']['number']} "
        f"(ticket {terms['ticket']}). As discussed, we would like to offer you:",
        "",
        *[f"  - {line}" for line in terms_lines(terms)],
        "",
        f"Your acceptance reference: {terms['acceptance_ref']}",
        "",
        how_to_accept,
        f"This offer is valid until {terms['valid_until_text']}.",
        "",
        "Kind regards,",
        company.name,
    ]
    return "\n".join(lines) + "\n"


def _how_to_accept(company: CompanySettings, ref: str) -> str:
    contact = " or ".join(x for x in (company.phone, company.email) if x) or "us"
    return f"To accept, reply to this message or contact {contact} and quote the reference {ref}."


# --------------------------------------------------------------------------------------------------------
# Making an offer
# --------------------------------------------------------------------------------------------------------


def make_offer(db: Database, ticket_id: int, ticket_version: int, definition_id: int,
               amount: Decimal | None = None, billing_item_ids: list[int] | tuple[int, ...] | None = None,
               channel: str = "email") -> OfferInfo:
    """Offer the definition on the ticket: frozen terms, an acceptance reference, the notification queued.

    Refused when the caller is not verified, the ticket is not being worked, the definition is not
    eligible (the engine's reasons are quoted), the amount is outside the definition's range, or the
    chosen billing items are not covered by the definition.
    """
    if channel not in NOTIFY_CHANNELS:
        raise ValidationError("channel", "Send the offer by email or letter")
    if isinstance(amount, float):
        raise ValidationError("amount", "amount must be a Decimal, not a float")
    with db.session() as s:
        # (Whether the caller is verified and the ticket being worked is the database's to say: see the
        # offer guard in 25_discounts.sql.)
        ticket = lock_ticket(s, ticket_id, ticket_version)
        row = s.get(DefinitionRow, definition_id)
        if row is None:
            raise NotFound("Discount definition", definition_id)
        if not row.active:
            raise RuleViolation(f"{row.name} (version {row.version}) is no longer offered")
        facts = ticket_facts(s, ticket)
        if facts.service.kind == "none":
            raise RuleViolation(f"Ticket {ticket.number} names no subscription or job to discount")
        suggestions = ticket_suggestions(s, ticket, facts=facts)
        suggestion = next((x for x in suggestions if x.definition_id == row.id), None)
        assert suggestion is not None, "an active definition always gets a suggestion"
        definition = to_domain_definition(row, {})
        if not suggestion.eligible:
            blocking = [r.removeprefix("not eligible: ") for r in suggestion.reasons if r.startswith("not eligible")]
            raise RuleViolation(f"{row.name} cannot be offered: {'; '.join(blocking)}")
        agreed = engine.check_amount(definition, amount)
        items = _items_for(facts.service, definition, suggestion, billing_item_ids)
        start = next_period_start(facts.service, facts.today)
        cost = engine.discount_cost(definition, facts.service.context, start, amount=agreed, item_ids=list(items))
        if cost.periods < 1:
            raise RuleViolation(
                f"{row.name} ends before the next billing period starts on {format_date(start)}: nothing to give"
            )
        company = s.get(CompanySettings, 1)
        if company is None:
            raise NotFound("Company settings")
        customer = facts.customer
        recipient = _recipient(customer, channel)
        now = s.execute(select(func.now())).scalar_one()
        expires_at = now + dt.timedelta(days=company.offer_validity_days)
        ref = _unused_ref(s)
        per = period_word(facts.service.billing_frequency)
        span = span_from_definition(definition, start)
        before = cost.service_per_period
        after = before - cost.per_period
        terms: dict[str, Any] = {
            "acceptance_ref": ref,
            "ticket": ticket.number,
            "customer": {"account": customer.account_number, "name": customer.name},
            "definition": {"id": row.id, "code": row.code, "version": row.version, "name": row.name},
            "value": {
                "kind": row.value_kind,
                "amount": format_money(agreed) if agreed is not None else None,
                "percentage": format_money(row.percentage) if row.percentage is not None else None,
                "free_periods": row.free_periods,
                "text": value_text(definition, agreed, per),
            },
            "edifice_type": row.edifice_type,
            "approval": row.approval,
            "service": {"kind": facts.service.kind, "number": facts.service.number,
                        "billing_frequency": facts.service.billing_frequency.value
                        if facts.service.billing_frequency else None, "per": per},
            "items": [
                {"id": i, "product": facts.service.items[i].product_code,
                 "description": facts.service.items[i].description,
                 "price": format_money(facts.service.items[i].unit_price),
                 "quantity": facts.service.items[i].quantity}
                for i in items
            ],
            "duration": {
                "kind": "periods" if row.value_kind == "free_period" else row.duration_kind,
                "effective": span.effective_date.isoformat(),
                "until": span.expiration_date.isoformat() if span.expiration_date else None,
                "periods": cost.periods,
                "text": _duration_text(definition, start, cost.periods, per),
            },
            "cost_before": format_money(before),
            "cost_after": format_money(after),
            "monthly_cost_before": format_money(_monthly(before, facts.service.billing_frequency)),
            "monthly_cost_after": format_money(_monthly(after, facts.service.billing_frequency)),
            "saving_per_period": format_money(cost.per_period),
            "total_saving": format_money(cost.total),
            "saving_percent": format_money(cost.percent),
            "currency": company.currency,
            "valid_until": expires_at.isoformat(),
            "valid_until_text": format_date(expires_at.date()),
            "notify_by": channel,
        }
        offer = Offer(
            ticket_id=ticket.id, definition_id=row.id, rank=suggestion.rank, state="proposed",
            amount=agreed, percentage=row.percentage, free_periods=row.free_periods,
            billing_item_ids=list(items), terms=terms, terms_hash=terms_hash(terms), acceptance_ref=ref,
            expires_at=expires_at,
        )
        s.add(offer)
        s.flush()  # the offer first (the guard wants the ticket still In progress), then the move
        s.expunge(ticket)
        move_ticket(s, ticket, "offer_pending")
        how = _how_to_accept(company, ref)
        subject = f"Your offer from {company.name}: {row.name} (reference {ref})"
        payload = {
            "customer": {"name": customer.name, "email": customer.email,
                         "address_lines": [x for x in (customer.address_line1, customer.address_line2) if x],
                         "postal_code": customer.postal_code, "city": customer.city, "country": customer.country},
            "letter_date": facts.today.isoformat(), "ticket_number": ticket.number,
            "offer_description": row.name, "terms_lines": terms_lines(terms),
            "monthly_cost_before": terms["monthly_cost_before"], "monthly_cost_after": terms["monthly_cost_after"],
            "total_saving": terms["total_saving"], "acceptance_ref": ref, "how_to_accept": how,
            "expiry_date": expires_at.date().isoformat(), "currency": company.currency,
        }
        outbox.queue_message(
            s, kind=channel, dedupe_key=f"offer:{offer.id}:{channel}", recipient=recipient, subject=subject,
            body=_email_body(terms, company, how) if channel == "email" else "\n".join(terms_lines(terms)),
            ticket_id=ticket.id, offer_id=offer.id, payload=payload,
        )
        record_event(
            s, ticket.id, "offer made",
            f"Offered {row.name} ({row.code} v{row.version}): {terms['value']['text']}, saving "
            f"{terms['total_saving']} {company.currency}; reference {ref}, {channel} queued",
            before={"state": "in_progress"},
            after={"state": "offer_pending", "offer_id": offer.id, "acceptance_ref": ref,
                   "terms_hash": offer.terms_hash},
        )
        reload(s, offer)
        return offer_info(s, offer)


def _recipient(customer: Customer, channel: str) -> str:
    if channel == "email":
        if not (customer.email or "").strip():
            raise ValidationError("channel", f"{customer.name} has no e-mail address: send the offer by letter")
        return str(customer.email)
    address = [customer.name, customer.address_line1, customer.address_line2,
               " ".join(x for x in (customer.postal_code, customer.city) if x), customer.country]
    if not customer.address_line1 or not customer.city:
        raise ValidationError("channel", f"{customer.name} has no postal address: send the offer by e-mail")
    return ", ".join(x for x in address if x)


def _unused_ref(session: Session) -> str:
    for _ in range(20):
        ref = new_acceptance_ref()
        if session.scalar(select(Offer.id).where(Offer.acceptance_ref == ref)) is None:
            return ref
    raise RuleViolation("Could not find a free acceptance reference; try again")  # pragma: no cover


# --------------------------------------------------------------------------------------------------------
# Reading offers
# --------------------------------------------------------------------------------------------------------


def list_offers(db: Database, ticket_id: int) -> list[OfferInfo]:
    with db.session() as s:
        offers = s.scalars(select(Offer).where(Offer.ticket_id == ticket_id).order_by(Offer.id)).all()
        return [offer_info(s, o) for o in offers]


def get_offer(db: Database, key: int | str) -> OfferInfo:
    """An offer by id or by acceptance reference."""
    with db.session() as s:
        if isinstance(key, int) or key.strip().isdigit():
            offer = s.get(Offer, int(key))
        else:
            offer = s.scalar(select(Offer).where(Offer.acceptance_ref == normalize_ref(key)))
        if offer is None:
            raise NotFound("Offer", key)
        return offer_info(s, offer)


def verify_terms(offer: OfferInfo) -> bool:
    """Whether the stored terms still match the hash taken when the offer was made."""
    return terms_hash(offer.terms) == offer.terms_hash


# --------------------------------------------------------------------------------------------------------
# The customer's answer
# --------------------------------------------------------------------------------------------------------


def accept_offer(db: Database, offer: int | str, channel: str = "reference") -> AcceptanceInfo:
    """Record the customer's acceptance (by offer id or acceptance reference) and assign the discount."""
    if channel not in ACCEPT_CHANNELS:
        raise ValidationError("channel", f"The acceptance channel is one of {', '.join(ACCEPT_CHANNELS)}")
    with db.session() as s:
        row = _open_offer_for_update(s, offer)
        if row.state == "accepted" and row.accepted_at is not None:
            raise RuleViolation(f"Offer {row.acceptance_ref} was already accepted on "
                                f"{format_date(row.accepted_at.date())}")
        if terms_hash(row.terms) != row.terms_hash:
            raise RuleViolation(
                f"Offer {row.acceptance_ref}: the stored terms do not match their hash; acceptance refused"
            )
        ticket = s.get(Ticket, row.ticket_id)
        assert ticket is not None
        row.state = "accepted"
        row.accepted_channel = channel
        s.flush()  # the database stamps the acceptance, or refuses it (lapsed, not open)
        s.refresh(row)
        definition_row = s.get(DefinitionRow, row.definition_id)
        assert definition_row is not None
        definition = to_domain_definition(definition_row, {})
        effective = dt.date.fromisoformat(row.terms["duration"]["effective"])
        span = span_from_definition(definition, effective)
        automatic = definition.approval is ApprovalMethod.AUTOMATIC
        discount = AdhocDiscount(
            customer_id=ticket.customer_id, subscription_id=ticket.subscription_id, job_id=ticket.job_id,
            ticket_id=ticket.id, offer_id=row.id, definition_id=definition_row.id,
            definition_code=definition_row.code, state="approved" if automatic else "pending_approval",
            approval_method=definition_row.approval, approval_unit_id=definition_row.approval_unit_id,
            value_kind=definition_row.value_kind, percentage=row.percentage, amount=row.amount,
            free_periods=row.free_periods, edifice_type=definition_row.edifice_type,
            multiplier=definition_row.multiplier, step_cap=definition_row.step_cap,
            effective_date=span.effective_date, expiration_date=span.expiration_date,
            periods_total=span.periods_total,
        )
        s.add(discount)
        s.flush()
        for item_id in row.billing_item_ids:
            s.add(AdhocDiscountItem(discount_id=discount.id, billing_item_id=item_id))
        s.flush()
        state_before = ticket.state
        s.expunge(ticket)
        # The answer brings the ticket back to its agent; a manual discount then waits for a manager.
        if state_before == "offer_pending":
            move_ticket(s, ticket, "in_progress")
        if not automatic:
            move_ticket(s, ticket, "pending_approval")
        items = ", ".join(i["description"] for i in row.terms["items"])
        record_event(
            s, ticket.id, "offer accepted",
            f"Customer accepted {definition_row.name} (reference {row.acceptance_ref}) by {channel}; "
            "terms checked against their hash",
            before={"state": state_before}, after={"offer_id": row.id, "terms_hash": row.terms_hash,
                                                  "channel": channel},
        )
        record_event(
            s, ticket.id, "discount assigned",
            f"{row.terms['value']['text']} assigned to {items} from {format_date(span.effective_date)}: "
            + ("approved automatically; confirm the assignment" if automatic
               else "pending approval by a manager"),
            after={"discount_id": discount.id, "state": discount.state,
                   "state_ticket": "in_progress" if automatic else "pending_approval"},
        )
        reload(s, discount)
        summary = load_summary(s, ticket.id)
        return AcceptanceInfo(offer_info(s, row), discount_info(s, discount), summary.state, summary.version)


def decline_offer(db: Database, offer_id: int, reason: str) -> DeclineInfo:
    """The customer said no: the ticket returns to its agent, with the next best offer suggested."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("reason", "Give the reason the customer declined")
    with db.session() as s:
        row = _open_offer_for_update(s, offer_id)
        ticket = s.get(Ticket, row.ticket_id)
        assert ticket is not None
        row.state = "declined"
        row.decline_reason = reason
        s.flush()
        s.refresh(row)
        state_before = ticket.state
        s.expunge(ticket)
        if state_before == "offer_pending":
            move_ticket(s, ticket, "in_progress")
        fresh = s.get(Ticket, row.ticket_id)
        assert fresh is not None
        suggestions = ticket_suggestions(s, fresh, exclude_declined=True)
        best = next((x for x in suggestions if x.eligible), None)
        info = offer_info(s, row)
        record_event(
            s, row.ticket_id, "offer declined",
            f"Customer declined {info.name} ({row.acceptance_ref}): {reason}. "
            + (f"Next best: {best.name} ({best.value_text})" if best else "No other discount is eligible"),
            before={"state": state_before}, after={"offer_id": row.id, "next_best": best.code if best else None},
        )
        s.flush()
        summary = load_summary(s, row.ticket_id)
        return DeclineInfo(info, best, tuple(suggestions), summary.version)


def withdraw_offer(db: Database, offer_id: int, reason: str = "") -> OfferInfo:
    """The agent takes an open offer back (for instance to offer something else)."""
    with db.session() as s:
        row = _open_offer_for_update(s, offer_id)
        ticket = s.get(Ticket, row.ticket_id)
        assert ticket is not None
        row.state = "withdrawn"
        s.flush()
        s.refresh(row)
        if ticket.state == "offer_pending":
            s.expunge(ticket)
            move_ticket(s, ticket, "in_progress")
        record_event(s, row.ticket_id, "offer withdrawn",
                     f"Offer {row.acceptance_ref} withdrawn" + (f": {reason.strip()}" if reason.strip() else ""),
                     after={"offer_id": row.id})
        return offer_info(s, row)


def lapse_expired_offers(db: Database) -> list[int]:
    """Mark open offers past their expiry Lapsed and give their tickets back to the agents (worker job).

    Returns the ids of the offers lapsed. The signed-in role must be allowed to move those tickets back
    (the installer, a manager, or the agents themselves).
    """
    lapsed: list[int] = []
    with db.session() as s:
        expired = s.execute(
            select(Offer.id, Offer.ticket_id).where(Offer.state.in_(OPEN_OFFER_STATES), Offer.expires_at < func.now())
            .order_by(Offer.ticket_id, Offer.id)
        ).all()
        for offer_id, ticket_id in expired:
            ticket = lock_ticket(s, ticket_id)
            row = s.execute(
                select(Offer).where(Offer.id == offer_id).with_for_update(skip_locked=True)
                .execution_options(populate_existing=True)
            ).scalar_one_or_none()
            if row is None or row.state not in OPEN_OFFER_STATES:
                continue
            row.state = "lapsed"
            s.flush()
            if ticket.state == "offer_pending":
                s.expunge(ticket)
                move_ticket(s, ticket, "in_progress")
            record_event(s, ticket_id, "offer lapsed",
                         f"Offer {row.acceptance_ref} lapsed unanswered on {format_date(row.expires_at.date())}",
                         after={"offer_id": row.id})
            lapsed.append(row.id)
    return lapsed


# --------------------------------------------------------------------------------------------------------
# When the customer still wants to leave
# --------------------------------------------------------------------------------------------------------


def current_period_end(start: dt.date, frequency: BillingFrequency, today: dt.date) -> dt.date:
    """When a cancellation at the end of the current billing period takes effect: the first day of the
    next billing period (the first day without service, as the billing run reads ``end_date``)."""
    return max(period_start_after(start, frequency, today), start)


def proceed_with_cancellation(db: Database, ticket_id: int, version: int,
                              end_date: dt.date | None = None) -> CancellationInfo:
    """The customer leaves: the subscription is cancelled and the ticket closed as 'cancelled'.

    ``end_date`` is the day the cancellation takes effect, i.e. the first day without service (how the
    billing run reads ``subscription.end_date``): the date given, else the ticket's requested end date,
    else the end of the current billing period (the first day of the next one). Open offers are withdrawn
    and discounts still waiting for approval on this ticket are cancelled.
    """
    with db.session() as s:
        ticket = lock_ticket(s, ticket_id, version)
        today = server_today(s)
        service = service_facts(s, subscription_id=ticket.subscription_id, job_id=ticket.job_id)
        withdrawn: list[str] = []
        for offer in s.scalars(
            select(Offer).where(Offer.ticket_id == ticket.id, Offer.state.in_(OPEN_OFFER_STATES)).with_for_update()
        ).all():
            offer.state = "withdrawn"
            withdrawn.append(offer.acceptance_ref)
        cancelled: list[int] = []
        for d in s.scalars(
            select(AdhocDiscount).where(AdhocDiscount.ticket_id == ticket.id,
                                        AdhocDiscount.state == "pending_approval").with_for_update()
        ).all():
            d.state = "cancelled"
            d.cancel_reason = "The customer cancelled the service"
            cancelled.append(d.id)
        s.flush()
        end_day: dt.date | None = None
        if service.kind == "subscription":
            sub = s.get(Subscription, service.subscription_id, with_for_update=True)
            assert sub is not None and service.billing_frequency is not None
            if sub.state == "cancelled":
                raise RuleViolation(f"Subscription {sub.number} is already cancelled (ends {format_date(sub.end_date)})"
                                    if sub.end_date else f"Subscription {sub.number} is already cancelled")
            end_day = end_date or ticket.requested_end_date or current_period_end(
                sub.start_date, service.billing_frequency, today)
            if end_day < today:
                raise ValidationError("end_date", f"The end date {format_date(end_day)} is in the past")
            if end_day <= sub.start_date:
                raise ValidationError("end_date", f"The end date must be after the subscription started "
                                                  f"({format_date(sub.start_date)})")
            sub.state = "cancelled"
            sub.end_date = end_day
            s.flush()
        state_before = ticket.state
        s.expunge(ticket)
        if state_before == "offer_pending":
            move_ticket(s, ticket, "in_progress")
        move_ticket(s, ticket, "closed", resolution="cancelled")
        what = (f"Subscription {service.number} cancelled with effect from {format_date(end_day)}"
                if end_day else f"Job {service.number}: the customer cancelled")
        record_event(s, ticket.id, "cancellation", what,
                     before={"state": state_before},
                     after={"end_date": end_day.isoformat() if end_day else None,
                            "withdrawn_offers": withdrawn, "cancelled_discounts": cancelled})
        record_event(s, ticket.id, "closed", "Ticket closed: cancelled", after={"resolution": "cancelled"})
        return CancellationInfo(ticket.id, ticket.number, service.number, end_day, tuple(withdrawn),
                                tuple(cancelled))


def other_sales_offers(db: Database, ticket_id: int) -> list[SalesOffer]:
    """Cheaper packages in the same product family, and what dropping each add-on saves (per period).

    Simple and honest: only real products at their list prices, best saving last so the closest match
    (smallest step down) is offered first.
    """
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound("Ticket", ticket_id)
        service = service_facts(s, subscription_id=ticket.subscription_id, job_id=ticket.job_id)
        if service.kind != "subscription":
            return []
        per = period_word(service.billing_frequency)
        out: list[SalesOffer] = []
        for item in service.items.values():
            price = round_money(item.unit_price * item.quantity)
            if item.product_type == "subscription_package":
                family = item.product_code.split("-", 1)[0]
                cheaper = s.scalars(
                    select(Product).where(
                        Product.active, Product.type == "subscription_package", Product.price < item.unit_price,
                        or_(Product.code.like(f"{family}-%"), Product.code == family),
                    ).order_by(Product.price.desc())
                ).all()
                for p in cheaper:
                    new = round_money(p.price * item.quantity)
                    out.append(SalesOffer("cheaper_package", f"Switch {item.description} to {p.name}", p.code,
                                          price, new, price - new, per))
            elif item.product_type == "add_on":
                out.append(SalesOffer("drop_add_on", f"Drop {item.description}", item.product_code, price,
                                      Decimal("0.00"), price, per))
        return out


__all__ = [
    "AcceptanceInfo",
    "CancellationInfo",
    "DeclineInfo",
    "DiscountInfo",
    "OfferInfo",
    "SalesOffer",
    "accept_offer",
    "canonical_terms",
    "decline_offer",
    "discount_info",
    "get_offer",
    "lapse_expired_offers",
    "list_offers",
    "make_offer",
    "normalize_ref",
    "offer_info",
    "other_sales_offers",
    "proceed_with_cancellation",
    "terms_hash",
    "terms_lines",
    "verify_terms",
    "withdraw_offer",
]
