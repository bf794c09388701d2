"""Accounting's approval of a discount assignment: the patent's billing item records, then the ticket closes.

For every approved discount on the ticket, one ``billing_item_record`` per discounted billing item, with
the patent's fields:

* ``service_description`` - the billing item's description (else its product's name);
* ``service_frequency``   - how often the service is billed: monthly / quarterly / annual, or ``once`` for a job;
* ``service_cost``        - the item's charge for one period (unit price x quantity);
* ``approved_discount``   - what the discount takes off that item in one whole period, computed by the
  domain's line maths (``billing_math.compute_lines``: multiplier, step cap, shares of a fixed amount over
  several items, no negative line);
* ``discount_frequency``  - "monthly for 6 periods", "monthly until 31/12/2026", "once";
* ``discount_percent``    - approved discount as a percentage of the service cost.

Rounding: money half-up to the cent per line (``money.round_money``); the percentage half-up to two
decimals (``money.percent_of``), stored in a NUMERIC(7,4) column.

Only accounting may insert records (grants, plus a trigger in 25_discounts.sql) and only accounting may move
a ticket out of the accounting queue (20_tickets.sql); the records are append-only (10_security.sql).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.db.models import AdhocDiscount, AdhocDiscountItem, BillingItemRecord, Ticket
from agentdesk.db.models import DiscountDefinition as DefinitionRow
from agentdesk.domain.billing_math import AppliedDiscount, Charge, compute_lines
from agentdesk.domain.discounts import BillingFrequency
from agentdesk.domain.errors import NotFound, RuleViolation, ValidationError
from agentdesk.domain.money import ZERO, percent_of, round_money
from agentdesk.domain.periods import format_date
from agentdesk.services.audit import record_event
from agentdesk.services.dto import TicketSummary
from agentdesk.services.eligibility import ServiceFacts, service_facts, to_domain_definition
from agentdesk.services.offers import move_ticket
from agentdesk.services.tickets import load_summary, lock_ticket


@dataclass(frozen=True)
class RecordInfo:
    """One billing item record (stored, or previewed before accounting approves)."""

    id: int | None
    ticket_id: int | None
    discount_id: int
    billing_item_id: int
    service_description: str
    service_frequency: str
    service_cost: Decimal
    approved_discount: Decimal
    discount_frequency: str
    discount_percent: Decimal
    approved_by: str | None
    approved_at: dt.datetime | None


@dataclass(frozen=True)
class AccountingResult:
    ticket: TicketSummary
    records: tuple[RecordInfo, ...]


def discount_frequency(d: AdhocDiscount, frequency: BillingFrequency | None) -> str:
    """How often the discount applies, in words (fits the 40-character column)."""
    if frequency is None:
        return "once"
    if d.expiration_date is not None:
        return f"{frequency.value} until {format_date(d.expiration_date)}"
    n = d.periods_total or 1
    return f"{frequency.value} for {n} period{'s' if n != 1 else ''}"


def _records_for(session: Session, d: AdhocDiscount, service: ServiceFacts) -> list[RecordInfo]:
    row = session.get(DefinitionRow, d.definition_id)
    assert row is not None
    definition = to_domain_definition(row, {})
    item_ids = list(session.scalars(
        select(AdhocDiscountItem.billing_item_id).where(AdhocDiscountItem.discount_id == d.id)
        .order_by(AdhocDiscountItem.billing_item_id)
    ).all())
    if not item_ids:
        raise RuleViolation(f"Discount {d.id} applies to no billing item: send the ticket back to the agent")
    # The whole service is priced so that shares of a fixed amount and step caps come out as billing does.
    charges = [Charge(i.id, i.description, i.unit_price, Decimal(i.quantity), ZERO, service.billing_frequency)
               for i in service.items.values()]
    applied = AppliedDiscount.from_definition(definition, ref=d.id, amount=d.amount, item_ids=item_ids)
    lines = {line.item_id: line for line in compute_lines(charges, [applied])}
    out: list[RecordInfo] = []
    frequency = service.billing_frequency.value if service.billing_frequency else "once"
    for item_id in item_ids:
        line = lines[item_id]
        taken = round_money(sum((p.amount for p in line.parts if p.ref == d.id), ZERO))
        out.append(RecordInfo(
            id=None, ticket_id=d.ticket_id, discount_id=d.id, billing_item_id=item_id,
            service_description=service.items[item_id].description[:200], service_frequency=frequency,
            service_cost=line.gross, approved_discount=taken,
            discount_frequency=discount_frequency(d, service.billing_frequency)[:40],
            discount_percent=percent_of(taken, line.gross), approved_by=None, approved_at=None,
        ))
    return out


def _to_approve(session: Session, ticket: Ticket) -> list[AdhocDiscount]:
    recorded = set(session.scalars(
        select(BillingItemRecord.discount_id).where(BillingItemRecord.ticket_id == ticket.id)
    ).all())
    rows = session.scalars(
        select(AdhocDiscount).where(AdhocDiscount.ticket_id == ticket.id, AdhocDiscount.state == "approved")
        .order_by(AdhocDiscount.id)
    ).all()
    return [d for d in rows if d.id not in recorded]


def preview_records(db: Database, ticket_id: int) -> list[RecordInfo]:
    """The records accounting would store for the ticket (nothing is written)."""
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound("Ticket", ticket_id)
        service = service_facts(s, subscription_id=ticket.subscription_id, job_id=ticket.job_id)
        return [r for d in _to_approve(s, ticket) for r in _records_for(s, d, service)]


def _record_info(r: BillingItemRecord) -> RecordInfo:
    return RecordInfo(r.id, r.ticket_id, r.discount_id, r.billing_item_id, r.service_description,
                      r.service_frequency, r.service_cost, r.approved_discount, r.discount_frequency,
                      r.discount_percent, r.approved_by, r.approved_at)


def records_for_ticket(db: Database, ticket_id: int) -> list[RecordInfo]:
    with db.session() as s:
        rows = s.scalars(select(BillingItemRecord).where(BillingItemRecord.ticket_id == ticket_id)
                         .order_by(BillingItemRecord.id)).all()
        return [_record_info(r) for r in rows]


def accounting_approve(db: Database, ticket_id: int, version: int) -> AccountingResult:
    """Accounting approves the assignment: billing item records stored, the ticket closed as retained."""
    with db.session() as s:
        ticket = lock_ticket(s, ticket_id, version)
        if ticket.state != "accounting":
            raise RuleViolation(f"Ticket {ticket.number} is not in the accounting queue")
        service = service_facts(s, subscription_id=ticket.subscription_id, job_id=ticket.job_id)
        discounts = _to_approve(s, ticket)
        if not discounts:
            raise RuleViolation(f"Ticket {ticket.number} has no approved discount to record")
        rows: list[BillingItemRecord] = []
        for d in discounts:
            for r in _records_for(s, d, service):
                rows.append(BillingItemRecord(
                    ticket_id=ticket.id, discount_id=r.discount_id, billing_item_id=r.billing_item_id,
                    service_description=r.service_description, service_frequency=r.service_frequency,
                    service_cost=r.service_cost, approved_discount=r.approved_discount,
                    discount_frequency=r.discount_frequency, discount_percent=r.discount_percent,
                ))
        s.add_all(rows)
        s.flush()
        number = ticket.number
        s.expunge(ticket)
        move_ticket(s, ticket, "closed", resolution="retained")
        for stored in rows:
            s.refresh(stored)
        infos = tuple(_record_info(stored) for stored in rows)
        lines = "; ".join(f"{i.service_description}: {i.approved_discount} per {i.service_frequency} period "
                          f"({i.discount_percent}% of {i.service_cost}), {i.discount_frequency}" for i in infos)
        record_event(s, ticket_id, "accounting approved",
                     f"Accounting approved the discount assignment; billing item records: {lines}",
                     before={"state": "accounting"},
                     after={"records": [r.id for r in infos], "discounts": [d.id for d in discounts]})
        record_event(s, ticket_id, "closed", f"Ticket {number} closed: retained", after={"resolution": "retained"})
        return AccountingResult(load_summary(s, ticket_id), infos)


def send_back(db: Database, ticket_id: int, version: int, reason: str) -> TicketSummary:
    """Accounting returns the ticket to its agent (In progress) with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("reason", "Say why the ticket goes back to the agent")
    with db.session() as s:
        ticket = lock_ticket(s, ticket_id, version)
        if ticket.state != "accounting":
            raise RuleViolation(f"Ticket {ticket.number} is not in the accounting queue")
        s.expunge(ticket)
        move_ticket(s, ticket, "in_progress")
        record_event(s, ticket_id, "sent back", f"Accounting sent the ticket back to {ticket.assigned_to}: {reason}",
                     before={"state": "accounting"}, after={"state": "in_progress"})
        return load_summary(s, ticket_id)


__all__ = [
    "AccountingResult",
    "RecordInfo",
    "accounting_approve",
    "discount_frequency",
    "preview_records",
    "records_for_ticket",
    "send_back",
]
