"""Eligibility criteria, reasons, costs and the ranking of suggestions."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from decimal import Decimal as D

from agentdesk.domain.discounts import (
    CallType,
    CardSegment,
    CustomerContext,
    CustomerSegment,
    DiscountDefinition,
    DurationKind,
    EdificeType,
    PriorUsage,
    ValueKind,
)
from agentdesk.domain.eligibility import (
    applications_in_window,
    discount_cost,
    evaluate,
    retention_budget,
)

from .builders import customer, definition, scenario1, subscription

TODAY = date(2026, 3, 10)
ONCE10 = definition(code="CHEAP", percentage=D(10))  # 6.30 on a 63.00 subscription, once
FREE2 = definition(code="RICH", value_kind=ValueKind.FREE_PERIOD, percentage=None, free_periods=2,
                   duration_kind=DurationKind.PERIODS)  # 2 x 63.00 = 126.00


def reasons(d: DiscountDefinition, cust: CustomerContext | None = None,
            call: CallType | None = CallType.CANCELLATION) -> tuple[str, ...]:
    (s,) = evaluate([d], cust or customer(), subscription(), call, TODAY)
    return s.reasons


def test_customer_segment() -> None:
    gold_only = definition(customer_segments=frozenset({CustomerSegment.GOLD, CustomerSegment.PLATINUM}))
    assert "eligible: customer segment gold" in reasons(gold_only)
    assert reasons(gold_only, cust=customer(CustomerSegment.BRONZE))[0] == (
        "not eligible: customer segment bronze (needs gold or platinum)")


def test_card_segment() -> None:
    premium = definition(card_segments=frozenset({CardSegment.PREMIUM}))
    assert reasons(premium)[0] == "not eligible: card segment standard (needs premium)"
    assert "eligible: card segment premium" in reasons(premium, cust=customer(card=CardSegment.PREMIUM))


def test_late_payments() -> None:
    strict = definition(max_late_payments=2)
    assert "eligible: 2 late payments in the last 12 months (at most 2)" in reasons(strict, cust=customer(late=2))
    assert reasons(strict, cust=customer(late=3))[0] == (
        "not eligible: 3 late payments in the last 12 months (at most 2 allowed)")
    assert "eligible: 1 late payment in the last 12 months (at most 2)" in reasons(strict, cust=customer(late=1))


def test_tenure() -> None:
    loyal = definition(min_tenure_months=12)
    assert reasons(loyal, cust=customer(since=date(2025, 10, 1)))[0] == (
        "not eligible: customer for 5 months (needs at least 12)")
    assert "eligible: customer for 12 months (at least 12)" in reasons(loyal, cust=customer(since=date(2025, 3, 10)))


def test_call_types() -> None:
    retention = definition(call_types=frozenset({CallType.CANCELLATION, CallType.COMPETITOR}))
    assert "eligible: call type cancellation" in reasons(retention)
    assert reasons(retention, call=CallType.BILLING_DISPUTE)[0] == (
        "not eligible: call type billing dispute (needs cancellation or competitor)")
    assert reasons(retention, call=None)[0] == "not eligible: call type not set (needs cancellation or competitor)"


def test_blocking_reasons_come_first_and_all_are_reported() -> None:
    d = definition(customer_segments=frozenset({CustomerSegment.PLATINUM}), max_late_payments=0,
                   expiration_date=date(2026, 2, 28))
    got = reasons(d, cust=customer(late=1))
    assert got[:3] == ("not eligible: expired on 28/02/2026",
                       "not eligible: customer segment gold (needs platinum)",
                       "not eligible: 1 late payment in the last 12 months (at most 0 allowed)")
    assert all(r.startswith("eligible: ") for r in got[3:])


def test_inactive_definitions_are_left_out() -> None:
    assert evaluate([replace(ONCE10, active=False)], customer(), subscription(), None, TODAY) == []


def test_open_ended_definition() -> None:
    assert "eligible: available with no end date" in reasons(definition())


def test_applications_in_window_counts_the_code_only_within_the_window() -> None:
    d = definition(max_applications=2, applications_window_months=6)
    usage = [PriorUsage("PLAIN10", date(2025, 9, 10)),  # exactly 6 months ago: out
             PriorUsage("PLAIN10", date(2025, 9, 11)),
             PriorUsage("PLAIN10", date(2026, 4, 1)),  # already scheduled: counts
             PriorUsage("OTHER", date(2026, 3, 1))]
    assert applications_in_window(d, usage, TODAY) == 2


def test_retention_budget_by_segment() -> None:
    assert retention_budget(customer(CustomerSegment.PLATINUM, value="1000")) == D("200.00")
    assert retention_budget(customer(CustomerSegment.GOLD, value="1000")) == D("150.00")
    assert retention_budget(customer(CustomerSegment.SILVER, value="1000")) == D("100.00")
    assert retention_budget(customer(CustomerSegment.BRONZE, value="1000")) == D("50.00")
    assert retention_budget(customer(value="-50")) == D("0.00")


def test_costs_of_a_free_period_and_a_percentage() -> None:
    free = discount_cost(FREE2, subscription(), TODAY)
    assert (free.per_period, free.periods, free.total, free.service_total, free.percent) == (
        D("63.00"), 2, D("126.00"), D("126.00"), D("100.00"))
    once = discount_cost(ONCE10, subscription(), TODAY)
    assert (once.per_period, once.total, once.percent) == (D("6.30"), D("6.30"), D("10.00"))


def test_cost_follows_the_chosen_amount_and_items() -> None:
    cost = discount_cost(scenario1(), subscription(), TODAY, amount=D("20.00"))
    assert (cost.per_period, cost.total, cost.service_total, cost.percent) == (
        D("20.00"), D("200.00"), D("630.00"), D("31.75"))
    assert discount_cost(scenario1(), subscription(), TODAY).total == D(0)  # no amount chosen yet
    assert discount_cost(ONCE10, subscription(), TODAY, item_ids=["sub-sports"]).per_period == D("1.00")


def test_term_discount_cost_counts_in_full() -> None:
    term = definition(code="TERM", edifice_type=EdificeType.TERM, term_days=10, percentage=D(100),
                      multiplier=D("0.10"), step_cap=D("5.00"))
    assert discount_cost(term, subscription(), TODAY).per_period == D("5.00")


def test_high_value_customers_see_the_richer_offer_first() -> None:
    platinum = customer(CustomerSegment.PLATINUM, value="2000")  # budget 400
    bronze = customer(CustomerSegment.BRONZE, value="300")  # budget 15
    rich_first = evaluate([ONCE10, FREE2], platinum, subscription(), CallType.CANCELLATION, TODAY)
    assert [s.code for s in rich_first] == ["RICH", "CHEAP"]
    assert [s.score for s in rich_first] == [D("126.00"), D("6.30")]
    cheap_first = evaluate([ONCE10, FREE2], bronze, subscription(), CallType.CANCELLATION, TODAY)
    assert [s.code for s in cheap_first] == ["CHEAP", "RICH"]
    assert [s.score for s in cheap_first] == [D("6.30"), D("-111.00")]


def test_eligible_first_then_ties_by_code_and_order_is_deterministic() -> None:
    twin_b = replace(ONCE10, code="B-TWIN")
    twin_a = replace(ONCE10, code="A-TWIN")
    blocked_z = replace(ONCE10, code="Z-BLOCKED", card_segments=frozenset({CardSegment.PREMIUM}))
    blocked_0 = replace(ONCE10, code="0-BLOCKED", card_segments=frozenset({CardSegment.PREMIUM}))
    defs = [blocked_z, twin_b, FREE2, blocked_0, twin_a]
    expected = ["RICH", "A-TWIN", "B-TWIN", "0-BLOCKED", "Z-BLOCKED"]
    rng = random.Random(7)
    for _ in range(10):
        rng.shuffle(defs)
        out = evaluate(defs, customer(), subscription(), CallType.CANCELLATION, TODAY)
        assert [s.code for s in out] == expected
        assert [s.eligible for s in out] == [True, True, True, False, False]


def test_range_default_is_the_budget_share_clamped_to_the_range() -> None:
    rich = customer(CustomerSegment.PLATINUM, value="10000")  # budget 2000 over 10 months: 200, clamped to 20
    poor = customer(CustomerSegment.BRONZE, value="100")  # budget 5 over 10 months: 0.50, clamped to 5
    (s,) = evaluate([scenario1()], rich, subscription(), CallType.COMPLAINT, TODAY)
    assert s.amount_default == D("20.00") and s.total_cost == D("200.00")
    (s,) = evaluate([scenario1()], poor, subscription(), CallType.COMPLAINT, TODAY)
    assert s.amount_default == D("5.00") and s.total_cost == D("50.00")
