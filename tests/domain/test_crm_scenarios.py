"""The three CRM.COM worked scenarios, with the seed's own numbers moved from 2015 to 2026."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from agentdesk.domain.billing_math import (
    AppliedDiscount,
    Charge,
    compute_lines,
    covers_period,
    span_from_definition,
)
from agentdesk.domain.discounts import BillingFrequency, CallType, PriorUsage
from agentdesk.domain.eligibility import Suggestion, check_amount, evaluate
from agentdesk.domain.errors import ValidationError

from .builders import CARE, INSTALL, customer, job, scenario1, scenario2, scenario3, subscription

TODAY = date(2026, 3, 10)


def only(suggestions: list[Suggestion]) -> Suggestion:
    assert len(suggestions) == 1
    return suggestions[0]


# --- Scenario 1: 5-20 per month, 3 a year, monthly only, main service only, until 31/12/2026, manual ----


def test_scenario1_is_offered_on_the_main_service_of_a_monthly_subscription() -> None:
    s = only(evaluate([scenario1()], customer(), subscription(), CallType.COMPLAINT, TODAY))
    assert s.eligible
    assert s.item_ids == ("sub-main",)  # not the add-on, not the second package
    assert (s.amount_min, s.amount_max) == (D("5.00"), D("20.00"))
    assert s.needs_approval and s.definition.approval_unit == CARE == "Customer Care managers"
    assert s.reasons == (
        "eligible: available until 31/12/2026",
        "eligible: billed monthly",
        "eligible: applies to Basic TV package",
        "eligible: 0 of 3 discounts used in the last 12 months",
    )
    # Gold customer worth 1200.00: budget 180.00 over 10 monthly periods (10/03 .. 10/12) = 18.00 a month.
    assert s.periods == 10 and s.amount_default == D("18.00")
    assert (s.cost_per_period, s.total_cost, s.service_cost) == (D("18.00"), D("180.00"), D("630.00"))
    assert s.cost_percent == D("28.57")


def test_scenario1_agent_sets_20_which_is_within_the_range() -> None:
    assert check_amount(scenario1(), D("20")) == D("20.00")
    assert check_amount(scenario1(), D("5.00")) == D("5.00")
    for wrong in (D("20.01"), D("4.99"), D(25)):
        with pytest.raises(ValidationError, match=r"^amount must be between 5\.00 and 20\.00$") as info:
            check_amount(scenario1(), wrong)
        assert info.value.field == "amount"
    with pytest.raises(ValidationError, match="amount is required"):
        check_amount(scenario1(), None)


def test_scenario1_bill_with_the_approved_20() -> None:
    service = subscription()
    charges = [Charge(i.item_id, i.description, i.unit_price, i.quantity, D("19"), BillingFrequency.MONTHLY)
               for i in service.items]
    applied = AppliedDiscount.from_definition(scenario1(), ref=1, amount=D("20.00"), item_ids=["sub-main"])
    lines = compute_lines(charges, [applied])
    assert [(x.gross, x.discount, x.net) for x in lines] == [
        (D("45.00"), D("20.00"), D("25.00")), (D("10.00"), D(0), D("10.00")), (D("8.00"), D(0), D("8.00"))]
    assert lines[0].discount_percent == D("44.44")
    span = span_from_definition(scenario1(), date(2026, 3, 1))
    assert covers_period(span, date(2026, 12, 1), date(2027, 1, 1))
    assert not covers_period(span, date(2027, 1, 1), date(2027, 2, 1))


def test_scenario1_three_a_year_cap() -> None:
    used = [PriorUsage("ZX-SUB-RANGE", date(2025, 4, 1)), PriorUsage("ZX-SUB-RANGE", date(2025, 11, 2)),
            PriorUsage("ZX-SUB-RANGE", date(2026, 2, 1))]
    s = only(evaluate([scenario1()], customer(), subscription(), CallType.COMPLAINT, TODAY, used))
    assert not s.eligible
    assert s.reasons[0] == "not eligible: 3 of 3 discounts already used in the last 12 months"
    # One of them falls out of the window a year later: eligible again.
    s = only(evaluate([scenario1()], customer(), subscription(), CallType.COMPLAINT, date(2026, 4, 1), used))
    assert s.eligible and "eligible: 2 of 3 discounts used in the last 12 months" in s.reasons
    other_code = [replace(u, code="OTHER") for u in used]
    assert only(evaluate([scenario1()], customer(), subscription(), CallType.COMPLAINT, TODAY,
                         other_code)).eligible


def test_scenario1_monthly_subscribers_only() -> None:
    s = only(evaluate([scenario1()], customer(), subscription(BillingFrequency.QUARTERLY), CallType.COMPLAINT,
                      TODAY))
    assert not s.eligible
    assert s.reasons[0] == "not eligible: for monthly billing only (the service is billed quarterly)"
    s = only(evaluate([scenario1()], customer(), job(), CallType.COMPLAINT, TODAY))
    assert "not eligible: for subscriptions billed monthly only, not jobs" in s.reasons


def test_scenario1_only_until_31_12_2026() -> None:
    s = only(evaluate([scenario1()], customer(), subscription(), CallType.COMPLAINT, date(2027, 1, 1)))
    assert not s.eligible and s.reasons[0] == "not eligible: expired on 31/12/2026"
    s = only(evaluate([scenario1()], customer(), subscription(), CallType.COMPLAINT, date(2025, 12, 31)))
    assert not s.eligible and s.reasons[0] == "not eligible: not available until 01/01/2026"
    s = only(evaluate([scenario1()], customer(), subscription(), CallType.COMPLAINT, date(2026, 12, 31)))
    assert s.eligible and s.periods == 1


# --- Scenario 2: 50 % of the installation service fee when the job completed late, manual -------------


def test_scenario2_late_job_gets_half_the_installation_fee() -> None:
    s = only(evaluate([scenario2()], customer(), job(), CallType.LATE_INSTALLATION, TODAY))
    assert s.eligible and s.needs_approval
    assert s.item_ids == ("job-install",)  # the dish is removed, only the installation fee stays
    assert "eligible: job completed 20/02/2026, later than expected 14/02/2026" in s.reasons
    assert (s.periods, s.cost_per_period, s.total_cost) == (1, D("40.00"), D("40.00"))
    assert s.service_cost == D("200.00") and s.cost_percent == D("20.00")
    assert s.amount_default is None and check_amount(scenario2(), None) is None
    with pytest.raises(ValidationError, match="percentage discount takes no amount"):
        check_amount(scenario2(), D(10))


def test_scenario2_bill_preview() -> None:
    charges = [Charge("job-install", "Installation Service fee", D("80.00"), D(1), D("19")),
               Charge("job-dish", "Satellite dish", D("120.00"), D(1), D("19"))]
    applied = AppliedDiscount.from_definition(scenario2(), ref=2, item_ids=["job-install"])
    install, dish = compute_lines(charges, [applied])
    assert (install.discount, install.net, install.tax, install.discount_percent) == (
        D("40.00"), D("40.00"), D("7.60"), D("50.00"))
    assert dish.discount == D(0)


@pytest.mark.parametrize(("expected", "actual", "reason"), [
    (date(2026, 2, 14), date(2026, 2, 14),
     "not eligible: job completed 14/02/2026, not later than expected 14/02/2026"),
    (date(2026, 2, 14), None,
     "not eligible: for jobs completed later than expected; this job has no actual completion date yet"),
])
def test_scenario2_on_time_or_unfinished_jobs_are_not_eligible(expected: date, actual: date | None,
                                                                reason: str) -> None:
    s = only(evaluate([scenario2()], customer(), job(expected, actual), CallType.COMPLAINT, TODAY))
    assert not s.eligible and s.reasons[0] == reason


def test_scenario2_not_for_subscriptions_nor_jobs_without_the_fee() -> None:
    s = only(evaluate([scenario2()], customer(), subscription(), CallType.COMPLAINT, TODAY))
    assert "not eligible: for late jobs only, not subscriptions" in s.reasons
    s = only(evaluate([scenario2()], customer(), job(items=(replace(INSTALL, product_code="OTHER"),)),
                      CallType.COMPLAINT, TODAY))
    assert not s.eligible and s.reasons[0] == "not eligible: no billing item matches (product INSTALL)"


# --- Scenario 3: 20 EUR off the installation fee, applied automatically ---------------------------------


def test_scenario3_auto_apply_20_on_the_installation_fee() -> None:
    s = only(evaluate([scenario3()], customer(), job(), CallType.LATE_INSTALLATION, TODAY))
    assert s.eligible and s.definition.auto_apply and not s.needs_approval
    assert (s.amount_min, s.amount_max, s.amount_default) == (D("20.00"), D("20.00"), D("20.00"))
    assert (s.cost_per_period, s.total_cost, s.cost_percent) == (D("20.00"), D("20.00"), D("10.00"))
    assert check_amount(scenario3(), None) == D("20.00") == check_amount(scenario3(), D(20))
    with pytest.raises(ValidationError, match="amount is fixed at 20.00"):
        check_amount(scenario3(), D(15))
    charges = [Charge("job-install", "Installation Service fee", D("80.00"), D(1), D("19"))]
    (line,) = compute_lines(charges, [AppliedDiscount.from_definition(scenario3(), ref=3)])
    assert (line.discount, line.net, line.tax, line.total) == (D("20.00"), D("60.00"), D("11.40"), D("71.40"))


def test_scenario3_a_fee_below_20_is_not_taken_below_zero() -> None:
    cheap = job(items=(replace(INSTALL, unit_price=D("15.00")),))
    s = only(evaluate([scenario3()], customer(), cheap, CallType.COMPLAINT, TODAY))
    assert s.cost_per_period == D("15.00") and s.cost_percent == D("100.00")


def test_all_three_together_for_a_late_job() -> None:
    out = evaluate([scenario1(), scenario2(), scenario3()], customer(), job(), CallType.LATE_INSTALLATION, TODAY)
    assert [(s.code, s.eligible) for s in out] == [
        ("ZX-JOB-50", True), ("ZX-JOB-AUTO20", True), ("ZX-SUB-RANGE", False)]
