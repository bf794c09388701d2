"""Manager approval of ad hoc discounts on a real database: who may decide (the database says), the cap
re-checked at approval under a customer lock (two managers racing for the last allowed discount), and the
ticket's way back to the agent and on to accounting."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import text

from agentdesk.domain.errors import ConflictError, PermissionDenied, RuleViolation, ValidationError
from agentdesk.services import approvals, offers
from agentdesk.services.eligibility import eligibility_for_ticket

from .offer_helpers import (
    definition_id,
    event_kinds,
    offer_and_accept,
    renewed_rules,  # noqa: F401  (autouse: December renews the year's rules)
    scalar,
    seed_discount,
    subscription_ticket,
    ticket_state,
    ticket_version,
    unit_id,
)

D = Decimal


def test_manager_approves_then_the_agent_confirms_to_accounting(installer, connect_as, test_users):
    csr, manager = connect_as("csr"), connect_as("manager")
    service, ticket = subscription_ticket(installer, csr, lifetime_value="2500.00")
    accepted = offer_and_accept(csr, ticket, "ZX-SUB-RANGE", amount=D("20.00"))
    assert accepted.discount.state == "pending_approval"

    [pending] = approvals.pending_approvals(manager)
    assert pending.discount_id == accepted.discount.id
    assert (pending.definition_code, pending.amount, pending.value_text) == ("ZX-SUB-RANGE", D("20.00"),
                                                                            "20.00 per month")
    assert pending.cost_per_period == D("20.00") and pending.total_cost == D("20.00") * pending.periods
    assert pending.cost_percent > 0 and pending.service_cost > pending.total_cost
    assert (pending.customer_name, pending.segment, pending.lifetime_value) == (
        service.customer.name, "gold", D("2500.00"))
    assert (pending.cap_used, pending.cap_max, pending.cap_text) == (0, 3, "0 of 3 used in the last 12 months")
    assert pending.provided_by == test_users["csr"].name and pending.ticket_number == ticket.number
    assert pending.approval_unit == "customer_care_managers" and pending.items == ("Fibre 100 Mbit/s",)
    assert approvals.pending_approvals(connect_as("outside_manager")) == []

    approved = approvals.approve_discount(manager, pending.discount_id, pending.version)

    assert (approved.state, approved.approved_by) == ("approved", test_users["manager"].name)
    assert ticket_state(csr, ticket.id) == ("in_progress", None)  # back to the agent to confirm
    with pytest.raises(RuleViolation, match="Only Pending Approval discounts can change"), csr.session() as s:
        s.execute(text("UPDATE adhoc_discount SET amount = 5 WHERE id = :i"), {"i": approved.id})

    summary = approvals.confirm_assignment(csr, ticket.id, ticket_version(csr, ticket.id))
    assert summary.state == "accounting"
    assert event_kinds(csr, ticket.id)[-2:] == ["discount approved", "assignment confirmed"]


def test_a_csr_cannot_approve_not_even_with_raw_sql(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    d = offer_and_accept(csr, ticket, "ZX-SUB-RANGE", amount=D("10.00")).discount

    with pytest.raises(PermissionDenied, match="Only a manager can approve"), csr.session() as s:
        s.execute(text("UPDATE adhoc_discount SET state = 'approved' WHERE id = :i"), {"i": d.id})
    with pytest.raises(PermissionDenied):
        approvals.approve_discount(csr, d.id, d.version)
    # Nor slip an approved row in for a manual definition.
    with pytest.raises(PermissionDenied, match="needs a manager's approval"), csr.session() as s:
        s.execute(text(
            "INSERT INTO adhoc_discount (customer_id, subscription_id, definition_id, definition_code, state,"
            " approval_method, value_kind, amount) VALUES (:c, :s, :d, 'x', 'approved', 'automatic',"
            " 'amount_range', 20)"), {"c": _service.customer.id, "s": _service.id, "d": d.definition_id})
    assert approvals.get_discount(csr, d.id).state == "pending_approval"


def test_manager_outside_the_approving_unit_cannot_approve(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    d = offer_and_accept(csr, ticket, "ZX-SUB-RANGE", amount=D("10.00")).discount
    with pytest.raises(PermissionDenied, match="Only a manager of Customer Care managers"):
        approvals.approve_discount(connect_as("outside_manager"), d.id, d.version)


def test_the_provider_cannot_approve_his_own_even_as_a_manager(installer, connect_as):
    csr, manager = connect_as("csr"), connect_as("manager")
    _service, ticket = subscription_ticket(installer, csr)
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("12.00"))
    # The manager takes the customer's call and records the acceptance: he provided the discount.
    d = offers.accept_offer(manager, offer.acceptance_ref, "phone").discount

    with pytest.raises(PermissionDenied, match="four-eyes"):
        approvals.approve_discount(manager, d.id, d.version)
    approved = approvals.approve_discount(connect_as("manager2"), d.id, d.version)
    assert approved.state == "approved"


def test_the_manager_who_made_the_offer_cannot_approve_it(installer, connect_as):
    csr, manager = connect_as("csr"), connect_as("manager")
    _service, ticket = subscription_ticket(installer, csr)
    # A manager steps in and makes the offer on the agent's ticket; the agent records the acceptance.
    offer = offers.make_offer(manager, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"),
                              amount=D("12.00"))
    d = offers.accept_offer(csr, offer.acceptance_ref, "phone").discount

    with pytest.raises(PermissionDenied, match="You made the offer"):
        approvals.approve_discount(manager, d.id, d.version)
    assert approvals.approve_discount(connect_as("manager2"), d.id, d.version).state == "approved"


def test_cancel_needs_a_reason_and_gives_the_ticket_back(installer, connect_as, test_users):
    csr, manager = connect_as("csr"), connect_as("manager")
    _service, ticket = subscription_ticket(installer, csr)
    d = offer_and_accept(csr, ticket, "ZX-SUB-RANGE", amount=D("10.00")).discount

    with pytest.raises(ValidationError, match="reason"):
        approvals.cancel_discount(manager, d.id, d.version, "  ")
    cancelled = approvals.cancel_discount(manager, d.id, d.version, "Complaint not serious enough")

    assert (cancelled.state, cancelled.cancelled_by, cancelled.cancel_reason) == (
        "cancelled", test_users["manager"].name, "Complaint not serious enough")
    assert ticket_state(csr, ticket.id) == ("in_progress", None)
    with pytest.raises(RuleViolation, match="no approved discount"):
        approvals.confirm_assignment(csr, ticket.id, ticket_version(csr, ticket.id))
    # A cancelled discount does not count against the cap.
    rng = next(s for s in eligibility_for_ticket(csr, ticket.id) if s.code == "ZX-SUB-RANGE")
    assert rng.eligible and "eligible: 0 of 3 discounts used in the last 12 months" in rng.reasons
    assert event_kinds(csr, ticket.id)[-1] == "discount cancelled"


def test_stale_version_and_confirming_too_early_are_refused(installer, connect_as):
    csr, manager = connect_as("csr"), connect_as("manager")
    _service, ticket = subscription_ticket(installer, csr)
    d = offer_and_accept(csr, ticket, "ZX-SUB-RANGE", amount=D("10.00")).discount

    with pytest.raises(RuleViolation, match="still waits for a manager"):
        approvals.confirm_assignment(manager, ticket.id, ticket_version(csr, ticket.id))
    with pytest.raises(ConflictError, match="was changed by"):
        approvals.approve_discount(manager, d.id, d.version + 1)


def _race_setup(installer, connect_as):
    """A customer with 2 approved and 2 pending ZX-SUB-RANGE discounts (cap: 3 a year)."""
    csr = connect_as("csr")
    service, _ticket = subscription_ticket(installer, csr)
    for days in (100, 50):
        seed_discount(installer, service, "ZX-SUB-RANGE", state="approved", days_ago=days)
    a = seed_discount(installer, service, "ZX-SUB-RANGE", state="pending_approval", days_ago=2)
    b = seed_discount(installer, service, "ZX-SUB-RANGE", state="pending_approval", days_ago=1)
    return service, a, b


def test_two_managers_racing_for_the_last_allowed_discount_one_wins(installer, connect_as):
    service, a, b = _race_setup(installer, connect_as)
    managers = {a: connect_as("manager"), b: connect_as("manager2")}
    barrier = threading.Barrier(2)
    outcome: dict[int, object] = {}

    def approve(discount_id: int) -> None:
        db = managers[discount_id]
        barrier.wait()
        try:
            outcome[discount_id] = approvals.approve_discount(db, discount_id, 1).state
        except Exception as exc:  # the loser's refusal is the result under test
            outcome[discount_id] = exc

    threads = [threading.Thread(target=approve, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    wins = [x for x, r in outcome.items() if r == "approved"]
    losses = [r for r in outcome.values() if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], RuleViolation) and "3 of 3" in str(losses[0]) and "already used" in str(losses[0])
    assert scalar(installer, "SELECT count(*) FROM adhoc_discount WHERE customer_id = :c AND state = 'approved'",
                  c=service.customer.id) == 3


def test_an_approval_waits_for_a_concurrent_one_and_then_sees_the_cap(installer, connect_as):
    """Deterministic interleaving: the first approval holds its transaction open; the second must wait on
    the customer lock and, once the first commits, count it (without the lock both would pass)."""
    service, a, b = _race_setup(installer, connect_as)
    first, second = connect_as("manager"), connect_as("manager2")
    result: dict[str, object] = {}

    session = first.session_factory()
    try:
        session.execute(text("UPDATE adhoc_discount SET state = 'approved' WHERE id = :i"), {"i": a})

        def approve_b() -> None:
            try:
                result["b"] = approvals.approve_discount(second, b, 1).state
            except Exception as exc:  # the refusal is the result under test
                result["b"] = exc

        worker = threading.Thread(target=approve_b)
        worker.start()
        time.sleep(1.0)
        assert worker.is_alive(), "the second approval should wait for the first one's customer lock"
        session.commit()
    finally:
        session.close()
    worker.join(30)

    assert isinstance(result["b"], RuleViolation) and "3 of 3" in str(result["b"])
    states = dict(installer.session_factory().execute(
        text("SELECT id, state FROM adhoc_discount WHERE id IN (:a, :b)"), {"a": a, "b": b}).all())
    assert states == {a: "approved", b: "pending_approval"}


def test_cap_counts_only_the_window(installer, connect_as):
    """Approved discounts older than the definition's window (12 months) do not count."""
    csr, manager = connect_as("csr"), connect_as("manager")
    service, ticket = subscription_ticket(installer, csr)
    for days in (400, 390, 380):
        seed_discount(installer, service, "ZX-SUB-RANGE", state="approved", days_ago=days)
    d = offer_and_accept(csr, ticket, "ZX-SUB-RANGE", amount=D("10.00")).discount
    assert approvals.approve_discount(manager, d.id, d.version).state == "approved"
    assert unit_id(csr, "customer_care_managers") == d.approval_unit_id
