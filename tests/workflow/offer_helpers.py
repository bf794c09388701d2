"""Helpers for the offer, approval and accounting tests: tickets ready for an offer, definitions by code,
and the few arrangements only an administrator could make (an offer made long ago, past discounts).

Workflow steps go through the real services as the signed-in test users; the raw arrangements use the
`installer` (a superuser) with triggers switched off for that one transaction, the way a data migration
would, and say so in their names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from builders import ServiceRef, add_job, add_subscription, make_customer, ticket_in_progress
from sqlalchemy import select, text

from agentdesk.bootstrap import Database
from agentdesk.db.models import AdhocDiscount, DiscountDefinition, Unit
from agentdesk.services import accounting, approvals, offers
from agentdesk.services.dto import TicketSummary

ConnectAs = Callable[[str], Database]


def year_end() -> dt.date:
    """Where the reference definitions that run "until 31/12 of this year" end in these tests (see below)."""
    today = dt.date.today()
    return dt.date(today.year + (1 if today.month == 12 else 0), 12, 31)


@pytest.fixture(autouse=True)
def renewed_rules(request: pytest.FixtureRequest) -> None:
    """In December a definition that ends on 31/12 cannot start with the next billing period (January), so
    the scenarios could not be played. The business revises its rules yearly; do what it does in December
    and run those definitions until the end of next year (before any test uses them)."""
    if dt.date.today().month != 12 or "installer" not in request.fixturenames:
        return
    installer: Database = request.getfixturevalue("installer")
    with installer.session() as s:
        s.execute(text(
            "UPDATE discount_definition SET expiration_date = :end,"
            " duration_until = CASE WHEN duration_until IS NULL THEN NULL ELSE :end END"
            " WHERE expiration_date = :old"), {"end": year_end(), "old": dt.date(dt.date.today().year, 12, 31)})


def definition_id(db: Database, code: str) -> int:
    """The id of the active definition with this code."""
    with db.session() as s:
        found = s.scalar(select(DiscountDefinition.id).where(DiscountDefinition.code == code, DiscountDefinition.active))
    assert found is not None, f"no active definition {code}"
    return int(found)


def unit_id(db: Database, code: str) -> int:
    with db.session() as s:
        return int(s.scalar(select(Unit.id).where(Unit.code == code)))


def ticket_version(db: Database, ticket_id: int) -> int:
    with db.session() as s:
        return int(s.execute(text("SELECT version FROM ticket WHERE id = :i"), {"i": ticket_id}).scalar_one())


def ticket_state(db: Database, ticket_id: int) -> tuple[str, str | None]:
    with db.session() as s:
        row = s.execute(text("SELECT state, resolution FROM ticket WHERE id = :i"), {"i": ticket_id}).one()
        return str(row[0]), row[1]


def scalar(db: Database, sql: str, **params: Any) -> Any:
    with db.session() as s:
        return s.execute(text(sql), params).scalar()


def subscription_ticket(installer: Database, csr: Database, *, segment: str = "gold",
                        lifetime_value: str = "1200.00", products: tuple[str, ...] = ("FIBRE-100", "TV-SPORTS"),
                        call_type: str = "complaint", email: str | None = "customer@example.com",
                        customer: Any = None, **customer_args: Any) -> tuple[ServiceRef, TicketSummary]:
    """A monthly subscription and a ticket about it, claimed by `csr` with the caller verified."""
    who = customer or make_customer(installer, segment=segment, lifetime_value=lifetime_value, email=email,
                                    **customer_args)
    service = add_subscription(installer, who, products=products)
    return service, ticket_in_progress(csr, service, call_type=call_type)


def job_ticket(installer: Database, csr: Database, *, days_late: int = 10, call_type: str = "late_installation",
               segment: str = "silver") -> tuple[ServiceRef, TicketSummary]:
    """An installation job finished `days_late` days late, and a claimed, verified ticket about it."""
    who = make_customer(installer, segment=segment, lifetime_value="400.00")
    service = add_job(installer, who, days_late=days_late)
    return service, ticket_in_progress(csr, service, call_type=call_type)


def offer_and_accept(db_csr: Database, ticket: TicketSummary, code: str, *, amount: Decimal | None = None,
                     channel: str = "phone", billing_item_ids: tuple[int, ...] | None = None,
                     ) -> offers.AcceptanceInfo:
    """The CSR offers `code`, the customer accepts on the phone."""
    offer = offers.make_offer(db_csr, ticket.id, ticket.version, definition_id(db_csr, code), amount=amount,
                              billing_item_ids=billing_item_ids)
    return offers.accept_offer(db_csr, offer.acceptance_ref, channel)


def retain_fully(connect_as: ConnectAs, ticket: TicketSummary, code: str, *, amount: Decimal | None = None,
                 ) -> accounting.AccountingResult:
    """One whole retention: offer, acceptance, manager approval if needed, CSR confirmation, accounting."""
    csr, manager, acct = connect_as("csr"), connect_as("manager"), connect_as("accounting")
    accepted = offer_and_accept(csr, ticket, code, amount=amount)
    if accepted.discount.state == "pending_approval":
        approvals.approve_discount(manager, accepted.discount.id, accepted.discount.version)
    confirmed = approvals.confirm_assignment(csr, ticket.id, ticket_version(csr, ticket.id))
    return accounting.accounting_approve(acct, ticket.id, confirmed.version)


# -- arrangements an administrator makes (triggers off for one transaction) -------------------------------


def backdate_offer(installer: Database, offer_id: int, *, days: int) -> None:
    """Pretend the offer was made `days` days ago (its expiry moves with it)."""
    with installer.session() as s:
        s.execute(text("SET LOCAL session_replication_role = replica"))
        s.execute(
            text("UPDATE offer SET made_at = made_at - make_interval(days => :d),"
                 " expires_at = expires_at - make_interval(days => :d) WHERE id = :i"),
            {"d": days, "i": offer_id},
        )


def seed_discount(installer: Database, service: ServiceRef, code: str, *, state: str, amount: str | None = "20.00",
                  provided_by: str = "someone_else", days_ago: int = 30) -> int:
    """A past ad hoc discount of `code` for the service's customer, as a data migration would load it."""
    with installer.session() as s:
        d = s.scalars(select(DiscountDefinition).where(DiscountDefinition.code == code,
                                                       DiscountDefinition.active)).one()
        provided = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
        s.execute(text("SET LOCAL session_replication_role = replica"))
        row = AdhocDiscount(
            customer_id=service.customer.id,
            subscription_id=service.id if service.kind == "subscription" else None,
            job_id=service.id if service.kind == "job" else None,
            definition_id=d.id, definition_code=d.code, state=state, approval_method=d.approval,
            approval_unit_id=d.approval_unit_id, value_kind=d.value_kind,
            amount=Decimal(amount) if amount is not None and d.value_kind in ("amount", "amount_range") else None,
            percentage=d.percentage, free_periods=d.free_periods, edifice_type=d.edifice_type,
            provided_by=provided_by, provided_on=provided,
            approved_by="a_manager" if state == "approved" else None,
            approved_on=provided if state == "approved" else None,
            cancelled_by="a_manager" if state == "cancelled" else None,
            cancelled_on=provided if state == "cancelled" else None,
            effective_date=provided.date(), periods_total=1,
        )
        s.add(row)
        s.flush()
        s.execute(text("INSERT INTO adhoc_discount_item (discount_id, billing_item_id) VALUES (:d, :b)"),
                  {"d": row.id, "b": service.item_ids[0]})
        return int(row.id)


def set_company(installer: Database, **values: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in values)
    with installer.session() as s:
        s.execute(text(f"UPDATE company_settings SET {sets} WHERE id = 1"), values)


def event_kinds(db: Database, ticket_id: int) -> list[str]:
    with db.session() as s:
        return list(s.scalars(text("SELECT kind FROM ticket_event WHERE ticket_id = :i ORDER BY id"),
                              {"i": ticket_id}).all())


__all__ = [
    "backdate_offer",
    "renewed_rules",
    "year_end",
    "definition_id",
    "event_kinds",
    "job_ticket",
    "offer_and_accept",
    "retain_fully",
    "scalar",
    "seed_discount",
    "set_company",
    "subscription_ticket",
    "ticket_state",
    "ticket_version",
    "unit_id",
]
