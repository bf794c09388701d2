"""The eligibility service: database rows turned into the domain engine's contexts, judged and ranked.

The rules themselves are tested in tests/domain; here we check that what the engine sees is what the
database holds (segment, card, late payments, tenure, value, the service and its items, the call type,
prior usage from discounts that were not cancelled, active definitions only) and that costs are counted
from the day the discount would start."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from builders import add_job, add_subscription, make_customer, ticket_in_progress
from sqlalchemy import text

from agentdesk.domain import eligibility as engine
from agentdesk.domain.discounts import BillingFrequency
from agentdesk.domain.periods import add_months
from agentdesk.services.eligibility import (
    active_definitions,
    eligibility_for_ticket,
    get_ticket,
    period_start_after,
    ticket_facts,
)

from .offer_helpers import (
    renewed_rules,  # noqa: F401  (autouse: December renews the year's rules)
    seed_discount,
    subscription_ticket,
    year_end,
)

D = Decimal


def _by_code(db, ticket_id):
    return {s.code: s for s in eligibility_for_ticket(db, ticket_id)}


def test_customer_facts_reach_the_engine(installer, connect_as):
    csr = connect_as("csr")
    customer = make_customer(installer, segment="bronze", lifetime_value="300.00", late_payments=3,
                             customer_since=dt.date.today() - dt.timedelta(days=80))
    ticket = ticket_in_progress(csr, add_subscription(installer, customer), call_type="cancellation")

    found = _by_code(csr, ticket.id)

    assert "not eligible: 3 late payments in the last 12 months (at most 2 allowed)" in found["RET-15PCT-6M"].reasons
    assert any("customer segment bronze (needs gold or platinum)" in r for r in found["RET-25PCT-12M"].reasons)
    assert any(r.startswith("not eligible: customer for 2 months") for r in found["RET-FREE-MONTH"].reasons)
    assert "eligible: call type cancellation" in found["ZX-JOB-LATE-50"].reasons  # one of its call types
    assert any("for late jobs only" in r for r in found["ZX-JOB-LATE-50"].reasons)


def test_prior_usage_counts_what_was_not_cancelled_within_the_window(installer, connect_as):
    csr = connect_as("csr")
    service, ticket = subscription_ticket(installer, csr)
    for _ in range(3):
        seed_discount(installer, service, "ZX-SUB-RANGE", state="cancelled", days_ago=20)
    seed_discount(installer, service, "ZX-SUB-RANGE", state="approved", days_ago=400)  # outside 12 months
    assert "eligible: 0 of 3 discounts used in the last 12 months" in _by_code(csr, ticket.id)["ZX-SUB-RANGE"].reasons

    seed_discount(installer, service, "ZX-SUB-RANGE", state="approved", days_ago=200)
    seed_discount(installer, service, "ZX-SUB-RANGE", state="approved", days_ago=100)
    seed_discount(installer, service, "ZX-SUB-RANGE", state="pending_approval", days_ago=1)  # may be approved
    rng = _by_code(csr, ticket.id)["ZX-SUB-RANGE"]
    assert not rng.eligible
    assert rng.reasons[0] == "not eligible: 3 of 3 discounts already used in the last 12 months"


def test_only_active_definitions_are_judged(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    with installer.session() as s:
        s.execute(text("UPDATE discount_definition SET active = false WHERE code = 'EDI-TRADE-5'"))
        active = s.execute(text("SELECT count(*) FROM discount_definition WHERE active")).scalar_one()
    found = eligibility_for_ticket(csr, ticket.id)
    assert len(found) == active and "EDI-TRADE-5" not in {s.code for s in found}


def test_the_ranking_is_the_engines(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr, segment="gold", lifetime_value="3000.00",
                                           call_type="competitor")
    found = eligibility_for_ticket(csr, ticket.id)
    with csr.session() as s:
        facts = ticket_facts(s, get_ticket(s, ticket.id))
        expected = engine.evaluate(active_definitions(s), facts.customer_context, facts.service.context,
                                   facts.call_type, facts.today, facts.usage)
    assert [x.code for x in found] == [x.code for x in expected]
    assert [x.eligible for x in found] == [x.eligible for x in expected]
    assert facts.customer_context.lifetime_value == D("3000.00") and facts.call_type.value == "competitor"


def test_costs_count_from_the_next_billing_period(installer, connect_as):
    csr = connect_as("csr")
    start = dt.date.today() - dt.timedelta(days=75)
    customer = make_customer(installer, segment="gold")
    service = add_subscription(installer, customer, products=("FIBRE-100",), start_date=start)
    ticket = ticket_in_progress(csr, service, call_type="complaint")

    rng = _by_code(csr, ticket.id)["ZX-SUB-RANGE"]

    first = add_months(dt.date.today().replace(day=1), 1)  # monthly billing runs cover calendar months
    periods = 0
    while add_months(first, periods) <= year_end():
        periods += 1
    assert rng.effective_date == first
    assert rng.periods == periods
    assert rng.total_cost == rng.cost_per_period * periods
    assert rng.service_cost == D("29.90") * periods


def test_job_context_carries_the_dates_and_items(installer, connect_as):
    csr = connect_as("csr")
    job = add_job(installer, make_customer(installer), products=("INSTALL", "ACTIVATION"), days_late=5)
    ticket = ticket_in_progress(csr, job, call_type="late_installation")
    found = _by_code(csr, ticket.id)
    late = found["ZX-JOB-LATE-50"]
    assert late.eligible and late.billing_item_ids == (job.item_ids[0],)
    assert any(r.startswith("eligible: job completed") and "later than expected" in r for r in late.reasons)
    assert late.effective_date == dt.date.today() and late.value_text == "50.00%"
    assert any("not jobs" in r for r in found["ZX-SUB-RANGE"].reasons)


def test_period_start_after():
    """Billing periods are calendar months (1, 3 or 12 of them) counted from the month service started."""
    monthly, quarterly, annual = BillingFrequency.MONTHLY, BillingFrequency.QUARTERLY, BillingFrequency.ANNUAL
    assert period_start_after(dt.date(2026, 1, 31), monthly, dt.date(2026, 2, 27)) == dt.date(2026, 3, 1)
    assert period_start_after(dt.date(2026, 5, 10), monthly, dt.date(2026, 5, 1)) == dt.date(2026, 6, 1)
    assert period_start_after(dt.date(2026, 12, 10), monthly, dt.date(2026, 11, 22)) == dt.date(2026, 12, 1)
    assert period_start_after(dt.date(2024, 2, 15), quarterly, dt.date(2026, 11, 22)) == dt.date(2027, 2, 1)
    assert period_start_after(dt.date(2024, 2, 15), quarterly, dt.date(2026, 10, 31)) == dt.date(2026, 11, 1)
    assert period_start_after(dt.date(2020, 3, 1), annual, dt.date(2026, 3, 1)) == dt.date(2027, 3, 1)
    assert period_start_after(dt.date(2020, 3, 1), annual, dt.date(2026, 2, 28)) == dt.date(2026, 3, 1)


def test_a_definition_that_ends_before_the_next_billing_period_is_not_eligible(installer, connect_as):
    from agentdesk.domain.discounts import DiscountDefinition, DurationKind, ValueKind
    from agentdesk.domain.errors import RuleViolation
    from agentdesk.services import definitions, offers

    today = dt.date.today()
    created = definitions.create_definition(connect_as("manager"), DiscountDefinition(
        code="TEST-ENDS-TODAY", name="Ends today", value_kind=ValueKind.AMOUNT, amount=D("5.00"),
        effective_date=today.replace(month=1, day=1), duration_kind=DurationKind.UNTIL_DATE,
        duration_until=today))
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)

    s = _by_code(csr, ticket.id)["TEST-ENDS-TODAY"]

    first = add_months(today.replace(day=1), 1)
    assert not s.eligible and s.periods == 0
    assert s.reasons[0] == (f"not eligible: its duration ends on {today:%d/%m/%Y}, before the next billing "
                            f"period starts on {first:%d/%m/%Y}")
    with pytest.raises(RuleViolation, match="before the next billing period"):
        offers.make_offer(csr, ticket.id, ticket.version, created.id)
