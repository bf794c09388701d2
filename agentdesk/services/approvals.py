"""Ad hoc discounts waiting for a manager, the manager's decision, and the CSR's confirmation.

CRM.COM's life cycle: Pending Approval -> Approved | Cancelled, only Pending Approval discounts change.
Who may decide is the database's business (10_security.sql: a manager of the approving unit, never the
person who provided the discount; 25_discounts.sql: nor the one who made the offer, and the definition's
cap per customer re-checked at approval under a lock on the customer). This module asks, and reports.

After a decision the ticket goes back to its agent (Pending approval -> In progress): once a discount is
approved the agent confirms the assignment (:func:`confirm_assignment`), which sends the ticket to the
accounting queue - the patent's "receiving a confirmation of the assigned discount by the CSR" and
"moving the ticket to an accounting queue". An automatic discount is approved at acceptance, so the agent
confirms it straight away.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.db.models import (
    AdhocDiscount,
    AdhocDiscountItem,
    BillingItemRecord,
    Customer,
    Ticket,
    Unit,
)
from agentdesk.db.models import DiscountDefinition as DefinitionRow
from agentdesk.domain import eligibility as engine
from agentdesk.domain.errors import ConflictError, NotFound, RuleViolation, ValidationError
from agentdesk.domain.periods import add_months, format_date
from agentdesk.services.audit import record_event
from agentdesk.services.dto import TicketSummary
from agentdesk.services.eligibility import (
    period_word,
    server_today,
    service_facts,
    to_domain_definition,
    value_text,
)
from agentdesk.services.offers import DiscountInfo, discount_info, move_ticket
from agentdesk.services.tickets import load_summary, lock_ticket


@dataclass(frozen=True)
class PendingApproval:
    """One discount for a manager to decide, with what it costs and what the customer is worth."""

    discount_id: int
    version: int
    definition_code: str
    definition_name: str
    definition_version: int
    value_text: str
    amount: Decimal | None
    percentage: Decimal | None
    free_periods: int | None
    cost_per_period: Decimal
    periods: int
    total_cost: Decimal  # over the whole duration
    service_cost: Decimal  # the service's gross over the same periods
    cost_percent: Decimal  # total_cost as % of service_cost
    effective_date: dt.date | None
    expiration_date: dt.date | None
    items: tuple[str, ...]
    customer_id: int
    account_number: str
    customer_name: str
    segment: str
    lifetime_value: Decimal
    cap_used: int  # approved discounts of this definition code for the customer, within the window
    cap_max: int | None
    cap_window_months: int
    provided_by: str
    provided_on: dt.datetime
    approval_unit: str | None
    ticket_id: int | None
    ticket_number: str | None

    @property
    def cap_text(self) -> str:
        if self.cap_max is None:
            return "no cap"
        return f"{self.cap_used} of {self.cap_max} used in the last {self.cap_window_months} months"


def _last_change(d: AdhocDiscount) -> tuple[str, dt.datetime]:
    if d.cancelled_by and d.cancelled_on:
        return d.cancelled_by, d.cancelled_on
    if d.approved_by and d.approved_on:
        return d.approved_by, d.approved_on
    return d.provided_by, d.provided_on


def lock_discount(session: Session, discount_id: int, version: int | None = None) -> AdhocDiscount:
    d = session.execute(
        select(AdhocDiscount).where(AdhocDiscount.id == discount_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if d is None:
        raise NotFound("Discount", discount_id)
    if version is not None and d.version != version:
        who, when = _last_change(d)
        raise ConflictError(who, when, f"Discount {discount_id}")
    return d


def cap_used(session: Session, customer_id: int, code: str, window_months: int, today: dt.date) -> int:
    """Approved discounts of ``code`` for the customer within the window (as the database counts them)."""
    since = add_months(today, -window_months)
    return int(session.scalar(
        select(func.count()).select_from(AdhocDiscount).where(
            AdhocDiscount.customer_id == customer_id, AdhocDiscount.definition_code == code,
            AdhocDiscount.state == "approved", func.date(AdhocDiscount.provided_on) > since,
        )
    ) or 0)


def _pending(session: Session, d: AdhocDiscount, today: dt.date, units: dict[int, str]) -> PendingApproval:
    row = session.get(DefinitionRow, d.definition_id)
    customer = session.get(Customer, d.customer_id)
    assert row is not None and customer is not None
    definition = to_domain_definition(row, units)
    service = service_facts(session, subscription_id=d.subscription_id, job_id=d.job_id)
    item_ids = list(session.scalars(
        select(AdhocDiscountItem.billing_item_id).where(AdhocDiscountItem.discount_id == d.id)
        .order_by(AdhocDiscountItem.billing_item_id)
    ).all())
    start = d.effective_date or today
    cost = engine.discount_cost(definition, service.context, start, amount=d.amount, item_ids=item_ids)
    ticket = session.get(Ticket, d.ticket_id) if d.ticket_id is not None else None
    return PendingApproval(
        discount_id=d.id, version=d.version, definition_code=row.code, definition_name=row.name,
        definition_version=row.version, value_text=value_text(definition, d.amount, period_word(service.billing_frequency)),
        amount=d.amount, percentage=d.percentage, free_periods=d.free_periods, cost_per_period=cost.per_period,
        periods=cost.periods, total_cost=cost.total, service_cost=cost.service_total, cost_percent=cost.percent,
        effective_date=d.effective_date, expiration_date=d.expiration_date,
        items=tuple(service.items[i].description for i in item_ids if i in service.items),
        customer_id=customer.id, account_number=customer.account_number, customer_name=customer.name,
        segment=customer.segment, lifetime_value=customer.lifetime_value,
        cap_used=cap_used(session, customer.id, row.code, row.applications_window_months, today),
        cap_max=row.max_applications, cap_window_months=row.applications_window_months,
        provided_by=d.provided_by, provided_on=d.provided_on,
        approval_unit=units.get(d.approval_unit_id) if d.approval_unit_id is not None else None,
        ticket_id=ticket.id if ticket else None, ticket_number=ticket.number if ticket else None,
    )


def pending_approvals(db: Database, *, all_units: bool = False) -> list[PendingApproval]:
    """Discounts the signed-in manager's units must decide, oldest first (``all_units``: every unit's)."""
    with db.session() as s:
        query = select(AdhocDiscount).where(AdhocDiscount.state == "pending_approval")
        if not all_units:
            query = query.where(func.app_in_unit(AdhocDiscount.approval_unit_id))
        rows = s.scalars(query.order_by(AdhocDiscount.provided_on, AdhocDiscount.id)).all()
        today = server_today(s)
        units = {int(i): str(c) for i, c in s.execute(select(Unit.id, Unit.code)).all()}
        return [_pending(s, d, today, units) for d in rows]


def get_discount(db: Database, discount_id: int) -> DiscountInfo:
    with db.session() as s:
        d = s.get(AdhocDiscount, discount_id)
        if d is None:
            raise NotFound("Discount", discount_id)
        return discount_info(s, d)


def discounts_for_ticket(db: Database, ticket_id: int) -> list[DiscountInfo]:
    with db.session() as s:
        rows = s.scalars(select(AdhocDiscount).where(AdhocDiscount.ticket_id == ticket_id).order_by(AdhocDiscount.id))
        return [discount_info(s, d) for d in rows.all()]


def _back_to_agent(session: Session, d: AdhocDiscount) -> str | None:
    """Give the ticket back to its agent once nothing on it waits for approval; returns its new state."""
    if d.ticket_id is None:
        return None
    ticket = lock_ticket(session, d.ticket_id)
    still_pending = session.scalar(
        select(func.count()).select_from(AdhocDiscount)
        .where(AdhocDiscount.ticket_id == d.ticket_id, AdhocDiscount.state == "pending_approval")
    )
    state = ticket.state
    if ticket.state == "pending_approval" and not still_pending:
        session.expunge(ticket)
        move_ticket(session, ticket, "in_progress")
        state = "in_progress"
    return state


def approve_discount(db: Database, discount_id: int, version: int) -> DiscountInfo:
    """Approve a Pending Approval discount (managers of its approving unit; never your own)."""
    with db.session() as s:
        d = lock_discount(s, discount_id, version)
        d.state = "approved"
        s.flush()  # the database checks authority, four eyes and the cap here
        s.refresh(d)
        ticket_state = _back_to_agent(s, d)
        if d.ticket_id is not None:
            row = s.get(DefinitionRow, d.definition_id)
            assert row is not None
            record_event(
                s, d.ticket_id, "discount approved",
                f"{row.name} approved by {d.approved_by}; the agent confirms the assignment",
                before={"discount_state": "pending_approval"},
                after={"discount_id": d.id, "discount_state": "approved", "ticket_state": ticket_state},
            )
        s.flush()
        return discount_info(s, d)


def cancel_discount(db: Database, discount_id: int, version: int, reason: str) -> DiscountInfo:
    """Refuse (cancel) a Pending Approval discount, with the reason; the ticket returns to its agent."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("cancel_reason", "Give a reason for cancelling the discount")
    with db.session() as s:
        d = lock_discount(s, discount_id, version)
        d.state = "cancelled"
        d.cancel_reason = reason
        s.flush()
        s.refresh(d)
        ticket_state = _back_to_agent(s, d)
        if d.ticket_id is not None:
            record_event(
                s, d.ticket_id, "discount cancelled", f"Discount {d.definition_code} cancelled by {d.cancelled_by}: {reason}",
                before={"discount_state": "pending_approval"},
                after={"discount_id": d.id, "discount_state": "cancelled", "ticket_state": ticket_state},
            )
        s.flush()
        return discount_info(s, d)


def confirm_assignment(db: Database, ticket_id: int, version: int) -> TicketSummary:
    """The agent confirms the approved discount assignment: the ticket moves to the accounting queue."""
    with db.session() as s:
        ticket = lock_ticket(s, ticket_id, version)
        discounts = s.scalars(
            select(AdhocDiscount).where(AdhocDiscount.ticket_id == ticket.id, AdhocDiscount.state != "cancelled")
            .order_by(AdhocDiscount.id)
        ).all()
        recorded = set(s.scalars(
            select(BillingItemRecord.discount_id).where(BillingItemRecord.ticket_id == ticket.id)
        ).all())
        waiting = [d for d in discounts if d.state == "pending_approval"]
        if waiting:
            raise RuleViolation(f"Ticket {ticket.number}: discount {waiting[0].id} still waits for a manager's approval")
        confirmable = [d for d in discounts if d.state == "approved" and d.id not in recorded]
        if not confirmable:
            raise RuleViolation(f"Ticket {ticket.number} has no approved discount to confirm")
        state_before = ticket.state
        s.expunge(ticket)
        move_ticket(s, ticket, "accounting")
        for d in confirmable:
            items = ", ".join(str(i) for i in s.scalars(
                select(AdhocDiscountItem.billing_item_id).where(AdhocDiscountItem.discount_id == d.id)).all())
            start = format_date(d.effective_date) if d.effective_date else "now"
            record_event(
                s, ticket.id, "assignment confirmed",
                f"Discount {d.definition_code} on billing item(s) {items} from {start} confirmed; "
                "sent to the accounting queue",
                before={"state": state_before}, after={"state": "accounting", "discount_id": d.id},
            )
        return load_summary(s, ticket.id)


__all__ = [
    "PendingApproval",
    "approve_discount",
    "cancel_discount",
    "cap_used",
    "confirm_assignment",
    "discounts_for_ticket",
    "get_discount",
    "lock_discount",
    "pending_approvals",
]
