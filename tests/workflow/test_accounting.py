"""Accounting's approval on a real database: the patent's billing item records (fields, rounding, one per
discounted item), only accounting may write them or close the ticket as retained, send-back to the agent,
and EDIFICE discount types carried from the definition onto the discount."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from agentdesk.domain.errors import PermissionDenied, RuleViolation, ValidationError
from agentdesk.services import accounting, approvals

from .offer_helpers import (
    event_kinds,
    offer_and_accept,
    renewed_rules,  # noqa: F401  (autouse: December renews the year's rules)
    subscription_ticket,
    ticket_state,
    ticket_version,
)

D = Decimal


def _to_accounting(installer, connect_as, code, *, amount=None, call_type="cancellation", **ticket_args):
    csr, manager = connect_as("csr"), connect_as("manager")
    service, ticket = subscription_ticket(installer, csr, call_type=call_type, **ticket_args)
    accepted = offer_and_accept(csr, ticket, code, amount=amount)
    if accepted.discount.state == "pending_approval":
        approvals.approve_discount(manager, accepted.discount.id, accepted.discount.version)
    summary = approvals.confirm_assignment(csr, ticket.id, ticket_version(csr, ticket.id))
    return service, ticket, accepted, summary


def test_accounting_stores_one_record_per_item_and_closes_retained(installer, connect_as, test_users):
    acct = connect_as("accounting")
    service, ticket, accepted, summary = _to_accounting(installer, connect_as, "RET-15PCT-6M")
    assert summary.state == "accounting"
    [preview] = accounting.preview_records(acct, ticket.id)

    result = accounting.accounting_approve(acct, ticket.id, summary.version)

    [record] = result.records
    assert record.billing_item_id == service.item_ids[0] == preview.billing_item_id
    assert record.service_description == "Fibre 100 Mbit/s"
    assert (record.service_frequency, record.discount_frequency) == ("monthly", "monthly for 6 periods")
    # 15% of 29.90 = 4.485 -> 4.49 (half-up to the cent); 4.49 / 29.90 = 15.0167% -> 15.02 (two decimals).
    assert (record.service_cost, record.approved_discount, record.discount_percent) == (
        D("29.90"), D("4.49"), D("15.02"))
    assert record.approved_by == test_users["accounting"].name and record.ticket_id == ticket.id
    assert (result.ticket.state, result.ticket.resolution) == ("closed", "retained")
    assert event_kinds(acct, ticket.id)[-2:] == ["accounting approved", "closed"]
    assert accounting.records_for_ticket(acct, ticket.id) == list(result.records)
    # Records are append-only.
    with pytest.raises(PermissionDenied), installer.session() as s:
        s.execute(text("UPDATE billing_item_record SET approved_discount = 0 WHERE id = :i"), {"i": record.id})


def test_only_accounting_approves(installer, connect_as):
    _service, ticket, accepted, summary = _to_accounting(installer, connect_as, "RET-15PCT-6M")
    for who in ("csr", "manager"):
        with pytest.raises(PermissionDenied):
            accounting.accounting_approve(connect_as(who), ticket.id, summary.version)
    # Even if an administrator granted the table to managers by mistake, the database's guard holds.
    with installer.session() as s:
        s.execute(text("GRANT INSERT ON billing_item_record TO agentdesk_manager"))
    with pytest.raises(PermissionDenied, match="Only accounting can approve"), connect_as("manager").session() as s:
        s.execute(text(
            "INSERT INTO billing_item_record (discount_id, billing_item_id, service_description,"
            " service_frequency, service_cost, approved_discount, discount_frequency, discount_percent)"
            " VALUES (:d, :b, 'x', 'monthly', 1, 0, 'x', 0)"),
            {"d": accepted.discount.id, "b": accepted.discount.billing_item_ids[0]})
    assert ticket_state(installer, ticket.id) == ("accounting", None)


def test_records_only_for_approved_discounts_and_their_items(installer, connect_as):
    csr = connect_as("csr")
    service, ticket = subscription_ticket(installer, csr, call_type="complaint")
    pending = offer_and_accept(csr, ticket, "ZX-SUB-RANGE", amount=D("10.00")).discount
    with pytest.raises(RuleViolation, match="Only Approved discounts"), connect_as("accounting").session() as s:
        s.execute(text(
            "INSERT INTO billing_item_record (discount_id, billing_item_id, service_description,"
            " service_frequency, service_cost, approved_discount, discount_frequency, discount_percent)"
            " VALUES (:d, :b, 'x', 'monthly', 1, 0, 'x', 0)"), {"d": pending.id, "b": service.item_ids[0]})
    with pytest.raises(RuleViolation, match="not in the accounting queue"):
        accounting.accounting_approve(connect_as("accounting"), ticket.id, ticket_version(csr, ticket.id))


def test_send_back_returns_to_the_agent_who_confirms_again(installer, connect_as):
    csr, acct = connect_as("csr"), connect_as("accounting")
    _service, ticket, _accepted, summary = _to_accounting(installer, connect_as, "RET-15PCT-6M")

    with pytest.raises(ValidationError):
        accounting.send_back(acct, ticket.id, summary.version, "")
    with pytest.raises(PermissionDenied, match="Only accounting"):  # only accounting sends back
        accounting.send_back(csr, ticket.id, summary.version, "x")
    back = accounting.send_back(acct, ticket.id, summary.version, "Wrong billing item chosen?")
    assert back.state == "in_progress"
    assert event_kinds(csr, ticket.id)[-1] == "sent back"

    again = approvals.confirm_assignment(csr, ticket.id, back.version)
    result = accounting.accounting_approve(acct, ticket.id, again.version)
    assert len(result.records) == 1 and result.ticket.resolution == "retained"


def test_edifice_types_are_carried_onto_the_discount_and_records(installer, connect_as):
    # Trade 5% on the package and the add-on, capped at 10.00 a period.
    _service, ticket, accepted, summary = _to_accounting(
        installer, connect_as, "EDI-TRADE-5", products=("FIBRE-100", "TV-SPORTS"))
    d = accepted.discount
    assert (d.edifice_type, d.step_cap, d.multiplier, d.percentage) == ("trade", D("10.00"), D("1.00000"), D("5.00"))
    records = accounting.accounting_approve(connect_as("accounting"), ticket.id, summary.version).records
    # 5% of 29.90 = 1.495 -> 1.50; of 14.90 = 0.745 -> 0.75.
    assert [(r.service_description, r.approved_discount, r.discount_percent) for r in records] == [
        ("Fibre 100 Mbit/s", D("1.50"), D("5.02")), ("Sports add-on", D("0.75"), D("5.03"))]

    # Term: 10% if paid within 10 days, at most 15.00 a period; no late payments allowed.
    _s2, t2, accepted2, _sum2 = _to_accounting(installer, connect_as, "EDI-TERM-10", products=("FIBRE-1000",))
    assert (accepted2.discount.edifice_type, accepted2.discount.step_cap) == ("term", D("15.00"))
    assert accepted2.discount.periods_total == 12

    # Cumulative term (senior citizens): approved by a manager, runs until the end of the year.
    _s3, t3, accepted3, _sum3 = _to_accounting(installer, connect_as, "EDI-CUMTERM-SENIOR", call_type="complaint")
    d3 = approvals.get_discount(connect_as("csr"), accepted3.discount.id)
    assert (d3.edifice_type, d3.approval_method, d3.state) == ("cumulative_term", "manual", "approved")
    assert d3.expiration_date is not None and (d3.expiration_date.month, d3.expiration_date.day) == (12, 31)
