"""Invoice line maths: discounts, no negative line, proration, tax, totals, durations."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from agentdesk.domain.billing_math import (
    AppliedDiscount,
    Charge,
    DiscountSpan,
    Proration,
    cancellation_proration,
    compute_line,
    compute_lines,
    covers_period,
    periods_in_duration,
    span_from_definition,
    summarise,
)
from agentdesk.domain.discounts import BillingFrequency, DurationKind, EdificeType, ValueKind

from .builders import definition, scenario1, scenario2

M = BillingFrequency.MONTHLY
TV = Charge("tv", "Basic TV package", D("45.00"), D(1), D("19"), M)
SPORTS = Charge("sports", "Sports add-on", D("10.00"), D(1), D("19"), M)
BOOK = Charge("book", "Programme guide", D("6.00"), D(1), D("5"), M)


def pct(ref: str, value: str, *, multiplier: D = D(1), step_cap: D | None = None,
        item_ids: frozenset[str] = frozenset()) -> AppliedDiscount:
    return AppliedDiscount(ref, ValueKind.PERCENTAGE, D(value), multiplier=multiplier, step_cap=step_cap,
                           item_ids=frozenset(item_ids))


def amt(ref: str, value: str, *, multiplier: D = D(1), item_ids: frozenset[str] = frozenset()) -> AppliedDiscount:
    return AppliedDiscount(ref, ValueKind.AMOUNT, D(value), multiplier=multiplier, item_ids=frozenset(item_ids))


FREE = AppliedDiscount("free", ValueKind.FREE_PERIOD, None)


def test_plain_line_without_discount() -> None:
    line = compute_line(TV, [])
    assert (line.gross, line.discount, line.net, line.tax, line.total) == (
        D("45.00"), D("0.00"), D("45.00"), D("8.55"), D("53.55"))
    assert line.discount_percent == D("0.00") and line.parts == ()


def test_gross_is_unit_price_times_quantity_rounded_once() -> None:
    line = compute_line(Charge("sms", "SMS bundle", D("0.125"), D(3), D(0)), [])
    assert line.gross == D("0.38")  # 0.375 half-up


def test_amount_discount_on_one_line() -> None:
    line = compute_line(TV, [amt("adhoc-1", "20.00")])
    assert (line.discount, line.net, line.tax) == (D("20.00"), D("25.00"), D("4.75"))
    assert line.discount_percent == D("44.44")
    assert [(p.ref, p.amount, p.deducted) for p in line.parts] == [("adhoc-1", D("20.00"), True)]


def test_discount_never_makes_a_line_negative() -> None:
    line = compute_line(SPORTS, [amt("big", "25.00")])
    assert (line.discount, line.net, line.tax) == (D("10.00"), D("0.00"), D("0.00"))
    assert line.discount_percent == D("100.00")


def test_trade_discounts_are_additive_on_gross_and_capped_in_order() -> None:
    line = compute_line(TV, [pct("a", "50"), pct("b", "40"), amt("c", "5.00")])
    # 22.50 + 18.00 = 40.50, then only 4.50 of room is left for the 5.00.
    assert [p.amount for p in line.parts] == [D("22.50"), D("18.00"), D("4.50")]
    assert line.net == D("0.00")


def test_free_period_makes_the_net_zero_whatever_else_applies() -> None:
    line = compute_line(TV, [amt("a", "5.00"), FREE])
    assert (line.discount, line.net, line.tax) == (D("45.00"), D("0.00"), D("0.00"))
    assert [p.ref for p in line.parts] == ["free"]  # the free period went first and took it all
    capped = AppliedDiscount("free", ValueKind.FREE_PERIOD, None, step_cap=D("1.00"))
    assert compute_line(TV, [capped]).net == D("0.00")  # a step cap never limits a free period


def test_item_ids_restrict_a_discount_to_its_lines() -> None:
    lines = compute_lines([TV, SPORTS], [pct("main", "10", item_ids=frozenset({"tv"}))])
    assert [x.discount for x in lines] == [D("4.50"), D("0.00")]


def test_an_amount_over_several_lines_is_shared_by_gross_and_sums_exactly() -> None:
    lines = compute_lines([TV, SPORTS], [amt("a", "20.00")])
    assert [x.discount for x in lines] == [D("16.36"), D("3.64")]
    assert sum(x.discount for x in lines) == D("20.00")


def test_multiplier_scales_the_value() -> None:
    assert compute_line(TV, [amt("a", "20.00", multiplier=D("0.5"))]).discount == D("10.00")
    assert compute_line(TV, [pct("a", "100", multiplier=D("0.10"))]).discount == D("4.50")


def test_step_cap_limits_one_application_over_all_its_lines() -> None:
    lines = compute_lines([Charge("a", "A", D(60), D(1), D(0)), Charge("b", "B", D(40), D(1), D(0))],
                          [pct("edifice", "100", multiplier=D("0.10"), step_cap=D("5.00"))])
    # 6.00 + 4.00 would be 10.00; the cap of 5.00 is shared in the same 60/40 proportion.
    assert [x.discount for x in lines] == [D("3.00"), D("2.00")]


def test_negative_charges_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        compute_line(Charge("x", "X", D("-1"), D(1), D(0)), [])


def test_cancellation_proration_by_days() -> None:
    feb = cancellation_proration(date(2026, 2, 1), date(2026, 3, 1), date(2026, 2, 15))
    assert feb == Proration(14, 28)
    line = compute_line(TV, [amt("a", "20.00")], feb)
    assert (line.gross, line.discount, line.net) == (D("22.50"), D("10.00"), D("12.50"))
    assert line.discount_percent == D("44.44")
    assert cancellation_proration(date(2026, 2, 1), date(2026, 3, 1), date(2026, 1, 20)) == Proration(0, 28)
    assert cancellation_proration(date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)).is_full


def test_proration_of_a_quarter_and_a_percentage() -> None:
    q = cancellation_proration(date(2026, 1, 1), date(2026, 4, 1), date(2026, 2, 1))  # 31 of 90 days
    line = compute_line(Charge("q", "Quarterly", D("90.00"), D(1), D(0), BillingFrequency.QUARTERLY),
                        [pct("p", "10")], q)
    assert (line.gross, line.discount) == (D("31.00"), D("3.10"))


def test_bad_proration_is_refused() -> None:
    with pytest.raises(ValueError):
        Proration(31, 30)
    with pytest.raises(ValueError):
        Proration(0, 0)


def test_summarise_sums_lines_and_groups_tax_by_rate() -> None:
    lines = compute_lines([TV, SPORTS, BOOK], [amt("a", "20.00", item_ids=frozenset({"tv"}))])
    totals = summarise(lines)
    assert totals.gross == D("61.00")
    assert totals.discount == D("20.00")
    assert totals.net == D("41.00") == sum(x.net for x in lines)
    assert [(b.rate, b.net, b.tax) for b in totals.tax_bands] == [
        (D(5), D("6.00"), D("0.30")), (D(19), D("35.00"), D("6.65"))]
    assert totals.tax == D("6.95") and totals.total == D("47.95")
    assert totals.payment_discount == D("0.00")


def test_tax_rates_written_differently_share_one_band() -> None:
    lines = compute_lines([TV, replace(SPORTS, tax_rate=D("19.00"))], [])
    assert len(summarise(lines).tax_bands) == 1


# --- durations -----------------------------------------------------------------------------------------


def test_periods_in_duration_for_each_kind() -> None:
    today = date(2026, 3, 10)
    assert periods_in_duration(scenario1(), today, M) == 10  # until 31/12/2026, monthly
    assert periods_in_duration(scenario1(), today, BillingFrequency.QUARTERLY) == 4  # 10/03, 06, 09, 12
    assert periods_in_duration(scenario1(), date(2027, 1, 1), M) == 0
    assert periods_in_duration(scenario2(), today, None) == 1
    assert periods_in_duration(definition(duration_kind=DurationKind.PERIODS, duration_periods=6), today, M) == 6
    free = definition(value_kind=ValueKind.FREE_PERIOD, percentage=None, free_periods=2,
                      duration_kind=DurationKind.PERIODS)
    assert periods_in_duration(free, today, M) == 2
    job_until = definition(duration_kind=DurationKind.UNTIL_DATE, duration_until=date(2026, 6, 30))
    assert periods_in_duration(job_until, today, None) == 1
    six = definition(duration_kind=DurationKind.PERIODS, duration_periods=6)
    assert periods_in_duration(six, today, None) == 1  # a job is billed once
    assert periods_in_duration(free, today, None) == 1
    assert periods_in_duration(job_until, date(2026, 7, 1), None) == 0


def test_span_from_definition() -> None:
    start = date(2026, 3, 1)
    assert span_from_definition(scenario1(), start) == DiscountSpan(
        DurationKind.UNTIL_DATE, start, date(2026, 12, 31), None)
    assert span_from_definition(scenario2(), start).periods_total == 1
    six = definition(duration_kind=DurationKind.PERIODS, duration_periods=6)
    assert span_from_definition(six, start).periods_left == 6


def test_covers_period_until_a_date() -> None:
    span = span_from_definition(scenario1(), date(2026, 3, 1))
    assert covers_period(span, date(2026, 12, 1), date(2027, 1, 1))
    assert not covers_period(span, date(2027, 1, 1), date(2027, 2, 1))
    assert not covers_period(span, date(2026, 2, 1), date(2026, 3, 1))  # ends the day it starts
    assert covers_period(span, date(2026, 2, 15), date(2026, 3, 15))  # effective mid-period


def test_covers_period_once_and_counted_down() -> None:
    once = DiscountSpan(DurationKind.ONCE, date(2026, 3, 1), None, 1)
    assert covers_period(once, date(2026, 3, 1), date(2026, 4, 1))
    assert not covers_period(replace(once, periods_used=1), date(2026, 4, 1), date(2026, 5, 1))
    three = DiscountSpan(DurationKind.PERIODS, date(2026, 3, 1), None, 3, periods_used=2)
    assert three.periods_left == 1 and covers_period(three, date(2026, 5, 1), date(2026, 6, 1))
    assert not covers_period(replace(three, periods_used=3), date(2026, 6, 1), date(2026, 7, 1))
    assert replace(three, periods_used=5).periods_left == 0


def test_one_off_job_is_covered_on_its_billing_day() -> None:
    span = span_from_definition(scenario2(), date(2026, 2, 20))
    assert covers_period(span, date(2026, 2, 21), date(2026, 2, 22))
    assert not covers_period(span, date(2026, 2, 19), date(2026, 2, 20))


def test_applied_discount_from_definition() -> None:
    applied = AppliedDiscount.from_definition(scenario1(), ref=7, amount=D("20.00"), item_ids=["tv"])
    assert (applied.value_kind, applied.value, applied.item_ids) == (
        ValueKind.AMOUNT_RANGE, D("20.00"), frozenset({"tv"}))
    assert applied.edifice_type is EdificeType.TRADE
    with pytest.raises(ValueError):
        AppliedDiscount.from_definition(scenario1(), ref=7)  # a range needs the agreed amount
    assert AppliedDiscount.from_definition(scenario2(), ref=8).value == D(50)
