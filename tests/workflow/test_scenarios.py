"""End-to-end scenarios on a real database, each step as the person who does it.

* The retention patent's first claim, step by step, from intake to a closed ticket with billing item
  records (the invoice itself is the billing run's).
* CRM.COM scenario 1: 5.00-20.00 a month on the main service of monthly subscribers, 3 a year, approved
  by the Customer Care managers, until 31/12 of this year.
* CRM.COM scenario 2: 50% of the installation fee when the job finished later than expected, approved by
  a manager.
* CRM.COM scenario 3: 20.00 off the installation fee of a late job, approved automatically.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import add_job, add_subscription, make_customer, open_ticket, ticket_in_progress
from sqlalchemy import text

from agentdesk.domain.errors import PermissionDenied, RuleViolation
from agentdesk.services import accounting, approvals, offers, outbox, queues
from agentdesk.services.eligibility import eligibility_for_ticket
from agentdesk.services.intake import verify_caller

from .offer_helpers import (
    definition_id,
    event_kinds,
    offer_and_accept,
    renewed_rules,  # noqa: F401  (autouse: December renews the year's rules)
    retain_fully,
    scalar,
    ticket_state,
    ticket_version,
    year_end,
)

D = Decimal
YEAR_END = year_end()


def test_patent_claim_step_by_step(installer, connect_as, settings, test_users):
    csr, manager, acct = connect_as("csr"), connect_as("manager"), connect_as("accounting")
    customer = make_customer(installer, segment="gold", lifetime_value="1500.00")
    service = add_subscription(installer, customer, products=("FIBRE-500", "ROUTER-RENT"))

    # Receiving the cancellation request and generating a ticket, moved to a service queue.
    ticket = open_ticket(csr, service, call_type="cancellation", channel="phone")
    assert (ticket.state, ticket.queue_unit) == ("queued", "retention")
    # Assigning the ticket to a customer service representative (who verifies the caller).
    ticket = queues.claim(csr, ticket.id)
    ticket = verify_caller(csr, ticket.id, ticket.version, "security_question")
    assert ticket.assigned_to == test_users["csr"].name
    # Determining eligibility and the discount amount to offer.
    best = next(s for s in eligibility_for_ticket(csr, ticket.id, record=True) if s.eligible)
    # Updating the ticket with the offer and notifying the customer electronically.
    offer = offers.make_offer(csr, ticket.id, ticket.version, best.definition_id, amount=best.amount_default)
    report = outbox.deliver_pending(acct, settings)
    assert report.sent == 1 and (settings.outbox_dir / f"offer-{offer.id}-email.eml").exists()
    # Receiving the acceptance electronically (the customer replied quoting the reference).
    accepted = offers.accept_offer(csr, offer.acceptance_ref, "email")
    # Assigning the accepted discount to the billing items of the service.
    assert accepted.discount.billing_item_ids == offer.billing_item_ids
    if accepted.discount.state == "pending_approval":
        approvals.approve_discount(manager, accepted.discount.id, accepted.discount.version)
    # The CSR confirms the assignment; the ticket moves to the accounting queue.
    confirmed = approvals.confirm_assignment(csr, ticket.id, ticket_version(csr, ticket.id))
    assert confirmed.state == "accounting"
    # Accounting approves: billing item records for each discounted item; the ticket closes.
    result = accounting.accounting_approve(acct, ticket.id, confirmed.version)

    assert ticket_state(csr, ticket.id) == ("closed", "retained")
    assert {r.billing_item_id for r in result.records} == set(offer.billing_item_ids)
    for r in result.records:
        assert r.service_description and r.service_frequency == "monthly"
        assert r.approved_discount > 0 and 0 < r.discount_percent <= 100
    kinds = event_kinds(csr, ticket.id)
    expected = ["created", "claimed", "caller verified", "eligibility", "offer made", "customer notified",
                "offer accepted", "discount assigned", "assignment confirmed", "accounting approved", "closed"]
    assert [k for k in kinds if k in expected] == expected
    assert scalar(csr, "SELECT state FROM offer WHERE id = :i", i=offer.id) == "accepted"


def test_crm_scenario_1_serious_complaint_credit(installer, connect_as, test_users):
    csr = connect_as("csr")
    customer = make_customer(installer, segment="silver", lifetime_value="900.00")
    service = add_subscription(installer, customer, products=("FIBRE-100", "TV-SPORTS", "STATIC-IP"))

    discounts = []
    for _ in range(3):
        ticket = ticket_in_progress(csr, service, call_type="complaint")
        result = retain_fully(connect_as, ticket, "ZX-SUB-RANGE", amount=D("20.00"))
        [record] = result.records
        assert (record.billing_item_id, record.approved_discount) == (service.item_ids[0], D("20.00"))
        assert record.discount_frequency == f"monthly until {YEAR_END:%d/%m/%Y}"
        discounts.append(approvals.discounts_for_ticket(csr, ticket.id)[0])

    for d in discounts:
        # The main service only, 20.00 a month, approved by a Customer Care manager, until 31/12.
        assert d.billing_item_ids == (service.item_ids[0],) and d.amount == D("20.00")
        assert (d.approval_method, d.approved_by) == ("manual", test_users["manager"].name)
        assert d.expiration_date == YEAR_END

    fourth = ticket_in_progress(csr, service, call_type="complaint")
    rng = next(s for s in eligibility_for_ticket(csr, fourth.id) if s.code == "ZX-SUB-RANGE")
    assert not rng.eligible
    assert "not eligible: 3 of 3 discounts already used in the last 12 months" in rng.reasons
    with pytest.raises(RuleViolation, match=r"3 of 3 .*already used"):
        offers.make_offer(csr, fourth.id, fourth.version, rng.definition_id, amount=D("20.00"))


def test_crm_scenario_1_is_for_monthly_subscribers_only(installer, connect_as):
    csr = connect_as("csr")
    service = add_subscription(installer, make_customer(installer), frequency="quarterly")
    ticket = ticket_in_progress(csr, service, call_type="complaint")
    rng = next(s for s in eligibility_for_ticket(csr, ticket.id) if s.code == "ZX-SUB-RANGE")
    assert "not eligible: for monthly billing only (the service is billed quarterly)" in rng.reasons


def test_crm_scenario_2_half_the_installation_fee_for_late_jobs(installer, connect_as, test_users):
    csr, manager, acct = connect_as("csr"), connect_as("manager"), connect_as("accounting")
    customer = make_customer(installer)
    job = add_job(installer, customer, products=("INSTALL", "ACTIVATION"), days_late=9)
    on_time = add_job(installer, customer, products=("INSTALL",), days_late=0)

    ticket = ticket_in_progress(csr, job, call_type="late_installation")
    suggestion = next(s for s in eligibility_for_ticket(csr, ticket.id) if s.code == "ZX-JOB-LATE-50")
    assert suggestion.eligible and suggestion.needs_approval
    assert suggestion.billing_item_ids == (job.item_ids[0],)  # the installation fee only
    assert (suggestion.cost_per_period, suggestion.periods) == (D("60.00"), 1)

    accepted = offer_and_accept(csr, ticket, "ZX-JOB-LATE-50")
    assert (accepted.discount.state, accepted.discount.percentage) == ("pending_approval", D("50.00"))
    with pytest.raises(PermissionDenied):
        approvals.approve_discount(csr, accepted.discount.id, accepted.discount.version)
    approvals.approve_discount(manager, accepted.discount.id, accepted.discount.version)
    confirmed = approvals.confirm_assignment(csr, ticket.id, ticket_version(csr, ticket.id))
    [record] = accounting.accounting_approve(acct, ticket.id, confirmed.version).records
    assert (record.service_description, record.service_frequency, record.discount_frequency) == (
        "Installation Service Fee", "once", "once")
    assert (record.service_cost, record.approved_discount, record.discount_percent) == (
        D("120.00"), D("60.00"), D("50.00"))

    other = ticket_in_progress(csr, on_time, call_type="late_installation")
    late50 = next(s for s in eligibility_for_ticket(csr, other.id) if s.code == "ZX-JOB-LATE-50")
    assert not late50.eligible and any("not later than expected" in r for r in late50.reasons)


def test_crm_scenario_3_twenty_off_automatically(installer, connect_as, test_users):
    csr, acct = connect_as("csr"), connect_as("accounting")
    customer = make_customer(installer)
    job = add_job(installer, customer, products=("INSTALL",), days_late=3)
    on_time = add_job(installer, customer, products=("INSTALL",), days_late=0)

    ticket = ticket_in_progress(csr, job, call_type="complaint")
    auto = next(s for s in eligibility_for_ticket(csr, ticket.id) if s.code == "ZX-JOB-AUTO-20")
    assert auto.eligible and not auto.needs_approval and auto.amount_default == D("20.00")

    accepted = offer_and_accept(csr, ticket, "ZX-JOB-AUTO-20")
    d = accepted.discount
    # Approved at once, by the definition's automatic route; the ticket is back with the CSR to confirm.
    assert (d.state, d.approval_method, d.approved_by) == ("approved", "automatic", test_users["csr"].name)
    assert accepted.ticket_state == "in_progress"
    confirmed = approvals.confirm_assignment(csr, ticket.id, accepted.ticket_version)
    [record] = accounting.accounting_approve(acct, ticket.id, confirmed.version).records
    assert (record.approved_discount, record.discount_percent) == (D("20.00"), D("16.67"))

    other = ticket_in_progress(csr, on_time, call_type="complaint")
    auto2 = next(s for s in eligibility_for_ticket(csr, other.id) if s.code == "ZX-JOB-AUTO-20")
    assert not auto2.eligible
    with pytest.raises(RuleViolation, match="not later than expected"):
        offers.make_offer(csr, other.id, other.version, definition_id(csr, "ZX-JOB-AUTO-20"))
    with installer.session() as s:
        assert s.execute(text("SELECT count(*) FROM adhoc_discount WHERE job_id = :j"),
                         {"j": on_time.id}).scalar_one() == 0
