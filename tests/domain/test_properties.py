"""Property tests (Hypothesis): suggestions respect their definitions; invoice maths always adds up."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentdesk.domain.billing_math import AppliedDiscount, Charge, Proration, compute_lines, summarise
from agentdesk.domain.discounts import (
    ApprovalMethod,
    BillingFrequency,
    BillingItem,
    CallType,
    CardSegment,
    CustomerContext,
    CustomerSegment,
    DiscountDefinition,
    DurationKind,
    EdificeType,
    PriorUsage,
    ProductType,
    ServiceContext,
    ValueKind,
    matching_items,
)
from agentdesk.domain.eligibility import applications_in_window, check_amount, evaluate
from agentdesk.domain.money import (
    CENT,
    ZERO,
    format_money,
    parse_money,
    percent_of,
    round_money,
    split_amount,
)
from agentdesk.domain.periods import add_months, count_period_starts, whole_months_between

MANY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = ["A", "B", "C", "D"]
PRODUCTS = ["TV", "NET", "INSTALL", "DISH"]
T = TypeVar("T")
Call = tuple[tuple[DiscountDefinition, ...], CustomerContext, ServiceContext, CallType | None, date,
             list[PriorUsage]]
RATES = [Decimal(r) for r in ("0", "5", "9", "19", "21", "24", "7.7")]


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda c: Decimal(c) * CENT)


def subsets(values: list[T]) -> st.SearchStrategy[frozenset[T]]:
    return st.frozensets(st.sampled_from(values), max_size=len(values))


dates = st.dates(date(2025, 1, 1), date(2027, 12, 31))
multipliers = st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("0.25"), Decimal("0.10")])


def criterion(values: list[T]) -> st.SearchStrategy[frozenset[T]]:
    # Mostly no criterion at all, so that plenty of generated definitions are eligible.
    return st.sampled_from([True, True, False]).flatmap(lambda empty: st.just(frozenset()) if empty
                                                         else subsets(values))


def maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.one_of(st.none(), strategy)


@st.composite
def definitions(draw: st.DrawFn, code: str, today: date) -> DiscountDefinition:
    kind = draw(st.sampled_from(list(ValueKind)))
    # Mostly already effective on `today`, sometimes not yet; the expiration may fall either side of it.
    effective = today - timedelta(days=draw(st.integers(-60, 500)))
    expiration = draw(maybe(st.integers(1, 800).map(lambda n: effective + timedelta(days=n))))
    fields: dict[str, Any] = {}
    if kind is ValueKind.PERCENTAGE:
        fields["percentage"] = draw(st.integers(1, 10000).map(lambda c: Decimal(c) * CENT))
    elif kind is ValueKind.AMOUNT:
        fields["amount"] = draw(cents(1, 10000))
    elif kind is ValueKind.AMOUNT_RANGE:
        low, high = sorted((draw(cents(1, 10000)), draw(cents(1, 10000))))
        fields.update(amount_min=low, amount_max=high)
    if kind is ValueKind.FREE_PERIOD:
        fields.update(free_periods=draw(st.integers(1, 3)), duration_kind=DurationKind.PERIODS)
        edifice, multiplier, step_cap = EdificeType.TRADE, Decimal(1), None
    else:
        duration = draw(st.sampled_from(list(DurationKind)))
        fields["duration_kind"] = duration
        if duration is DurationKind.PERIODS:
            fields["duration_periods"] = draw(st.integers(1, 12))
        elif duration is DurationKind.UNTIL_DATE:
            fields["duration_until"] = effective + timedelta(days=draw(st.integers(0, 900)))
        edifice, multiplier = draw(st.sampled_from(list(EdificeType))), draw(multipliers)
        step_cap = draw(maybe(cents(1, 5000)))
    jobs_late = draw(st.sampled_from([False, False, False, True]))
    approval = draw(st.sampled_from(list(ApprovalMethod)))
    d = DiscountDefinition(
        code=code, name=f"Discount {code}", value_kind=kind, effective_date=effective, expiration_date=expiration,
        billing_frequency=None if jobs_late else draw(maybe(st.sampled_from(list(BillingFrequency)))),
        max_applications=draw(maybe(st.integers(1, 4))), applications_window_months=draw(st.integers(1, 24)),
        approval=approval, approval_unit="Customer Care managers" if approval is ApprovalMethod.MANUAL else None,
        product_types=draw(criterion(list(ProductType))), product_codes=draw(criterion(PRODUCTS)),
        main_service_only=draw(st.booleans()), customer_segments=draw(criterion(list(CustomerSegment))),
        card_segments=draw(criterion(list(CardSegment))), max_late_payments=draw(maybe(st.integers(0, 3))),
        min_tenure_months=draw(maybe(st.integers(0, 36))), call_types=draw(criterion(list(CallType))),
        jobs_late_only=jobs_late, auto_apply=kind is not ValueKind.AMOUNT_RANGE and draw(st.booleans()),
        edifice_type=edifice, multiplier=multiplier, step_cap=step_cap,
        term_days=draw(st.integers(1, 30)) if edifice is EdificeType.TERM else None,
        active=draw(st.sampled_from([True, True, True, False])), **fields,
    )
    assert d.problems() == [], d.problems()  # the strategy only builds valid definitions
    return d


@st.composite
def services(draw: st.DrawFn) -> ServiceContext:
    n = draw(st.integers(0, 4))
    items = tuple(
        BillingItem(item_id=i, product_code=draw(st.sampled_from(PRODUCTS)),
                    product_type=draw(st.sampled_from(list(ProductType))), is_main=i == 0,
                    quantity=Decimal(draw(st.integers(1, 3))), unit_price=draw(cents(0, 20000)))
        for i in range(n)
    )
    if draw(st.booleans()):
        expected = draw(dates)
        actual = draw(maybe(st.integers(-10, 10).map(lambda k: expected + timedelta(days=k))))
        return ServiceContext(items, None, expected, actual)
    return ServiceContext(items, draw(st.sampled_from(list(BillingFrequency))))


customers = st.builds(
    CustomerContext, segment=st.sampled_from(list(CustomerSegment)), card_segment=st.sampled_from(list(CardSegment)),
    late_payments_12m=st.integers(0, 5), customer_since=st.dates(date(2015, 1, 1), date(2027, 12, 31)),
    lifetime_value=cents(-1000, 500000),
)


@st.composite
def calls(draw: st.DrawFn) -> Call:
    today = draw(dates)
    defs = tuple(draw(definitions(code, today)) for code in CODES)
    usage = draw(st.lists(st.builds(PriorUsage, code=st.sampled_from(CODES),
                                    applied_on=st.integers(-400, 30).map(lambda k: today + timedelta(days=k))),
                          max_size=6))
    return defs, draw(customers), draw(services()), draw(maybe(st.sampled_from(list(CallType)))), today, usage


@MANY
@given(case=calls())
def test_no_suggestion_breaks_its_definition(case: Call) -> None:
    defs, customer, service, call, today, usage = case
    out = evaluate(defs, customer, service, call, today, usage)
    assert sorted(s.code for s in out) == sorted(d.code for d in defs if d.active)
    eligibility = [s.eligible for s in out]
    assert eligibility == sorted(eligibility, reverse=True)  # eligible ones first
    scores = [s.score for s in out if s.eligible]
    assert scores == sorted(scores, reverse=True)
    for s in out:
        d = s.definition
        # Bounds: the default amount is always one the definition accepts.
        assert check_amount(d, s.amount_default) == s.amount_default
        if d.value_kind is ValueKind.AMOUNT_RANGE:
            assert d.amount_min is not None and d.amount_max is not None and s.amount_default is not None
            assert d.amount_min <= s.amount_default <= d.amount_max
        # Costs: never negative, never more than the items it applies to, never more than the step cap.
        by_id = {i.item_id: i for i in service.items}
        assert set(s.item_ids) == {i.item_id for i in matching_items(d, service.items)}
        items_gross = sum((round_money(by_id[i].unit_price * by_id[i].quantity) for i in s.item_ids), ZERO)
        assert ZERO <= s.cost_per_period <= items_gross
        if d.step_cap is not None:
            assert s.cost_per_period <= d.step_cap
        assert s.total_cost == s.cost_per_period * s.periods
        assert s.cost_percent == percent_of(s.total_cost, s.service_cost)
        assert s.reasons and all(r.startswith(("eligible: ", "not eligible: ")) for r in s.reasons)
        assert s.eligible == (not any(r.startswith("not eligible") for r in s.reasons))
        if not s.eligible:
            continue
        # Dates and caps.
        assert d.is_valid_on(today)
        if d.max_applications is not None:
            assert applications_in_window(d, usage, today) < d.max_applications
        assert s.periods >= 1 and s.item_ids
        if d.duration_kind is DurationKind.UNTIL_DATE and d.value_kind is not ValueKind.FREE_PERIOD:
            assert d.duration_until is not None
            months = service.billing_frequency.months if service.billing_frequency else 0
            assert add_months(today, (s.periods - 1) * months) <= d.duration_until
        # Criteria.
        assert d.billing_frequency is None or service.billing_frequency is d.billing_frequency
        assert not d.jobs_late_only or service.is_late_job
        assert not d.customer_segments or customer.segment in d.customer_segments
        assert not d.card_segments or customer.card_segment in d.card_segments
        assert not d.call_types or call in d.call_types
        assert d.max_late_payments is None or customer.late_payments_12m <= d.max_late_payments
        assert d.min_tenure_months is None or (
            whole_months_between(customer.customer_since, today) >= d.min_tenure_months)


charges_st = st.lists(
    st.builds(Charge, item_id=st.integers(0, 5), description=st.just("item"),
              unit_price=cents(0, 100000) | st.integers(0, 10**6).map(lambda c: Decimal(c) / 10000),
              quantity=st.integers(0, 5).map(Decimal) | st.just(Decimal("0.5")),
              tax_rate=st.sampled_from(RATES)),
    min_size=1, max_size=6, unique_by=lambda c: c.item_id,
)


@st.composite
def applied(draw: st.DrawFn, ref: int) -> AppliedDiscount:
    kind = draw(st.sampled_from(list(ValueKind)))
    if kind is ValueKind.PERCENTAGE:
        value: Decimal | None = draw(st.integers(1, 10000).map(lambda c: Decimal(c) * CENT))
    elif kind is ValueKind.FREE_PERIOD:
        value = None
    else:
        value = draw(cents(1, 50000))
    free = kind is ValueKind.FREE_PERIOD
    return AppliedDiscount(
        ref=ref, value_kind=kind, value=value,
        edifice_type=EdificeType.TRADE if free else draw(st.sampled_from(list(EdificeType))),
        multiplier=Decimal(1) if free else draw(multipliers), step_cap=draw(st.none() | cents(1, 10000)),
        item_ids=draw(st.frozensets(st.integers(0, 5), max_size=3)),
    )


prorations = st.none() | st.integers(28, 366).flatmap(
    lambda days: st.integers(0, days).map(lambda served: Proration(served, days)))


@MANY
@given(charges=charges_st, discounts=st.integers(0, 4).flatmap(lambda n: st.tuples(*(applied(i) for i in range(n)))),
       proration=prorations)
def test_invoice_lines_always_add_up(charges: list[Charge], discounts: tuple[AppliedDiscount, ...],
                                     proration: Proration | None) -> None:
    lines = compute_lines(charges, discounts, proration)
    totals = summarise(lines)
    for line in lines:
        for value in (line.gross, line.discount, line.net, line.tax, line.payment_discount, line.discount_percent):
            assert value == value.quantize(CENT)
        assert ZERO <= line.discount <= line.gross  # no negative line
        assert line.net == line.gross - line.discount >= ZERO
        assert ZERO <= line.payment_discount <= line.net
        assert line.discount_percent == percent_of(line.discount, line.gross)  # recorded percentage
        assert line.tax == round_money(line.net * line.tax_rate / 100)
        assert line.total == line.net + line.tax
        assert sum((p.amount for p in line.parts if p.deducted), ZERO) == line.discount
        assert sum((p.amount for p in line.parts if not p.deducted), ZERO) == line.payment_discount
        assert all(p.amount > 0 for p in line.parts)
    # Line nets sum to the invoice net; VAT per rate is within rounding of VAT on the band's net.
    assert totals.net == sum((x.net for x in lines), ZERO) == totals.gross - totals.discount
    assert totals.total == totals.net + totals.tax
    assert sum((b.net for b in totals.tax_bands), ZERO) == totals.net
    assert sum((b.tax for b in totals.tax_bands), ZERO) == totals.tax
    for band in totals.tax_bands:
        in_band = sum(1 for x in lines if x.tax_rate == band.rate)
        assert abs(band.tax - band.net * band.rate / 100) <= Decimal("0.005") * in_band
    assert totals.payment_discount == sum((x.payment_discount for x in lines), ZERO)
    # Every discount stays within its own step cap and its own lines.
    taken: dict[object, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        for part in line.parts:
            taken[part.ref] += part.amount
            d = discounts[int(part.ref)]
            assert not d.item_ids or line.item_id in d.item_ids
    for d in discounts:
        if d.step_cap is not None and d.value_kind is not ValueKind.FREE_PERIOD:
            cap = round_money(proration.scale(d.step_cap) if proration else d.step_cap)
            assert taken[d.ref] <= cap
        if d.value_kind is ValueKind.FREE_PERIOD:
            for line in lines:
                if not d.item_ids or line.item_id in d.item_ids:
                    assert line.net == ZERO


@MANY
@given(charges=charges_st, value=cents(1, 50000), proration=prorations)
def test_a_lone_amount_discount_takes_exactly_its_amount_or_the_whole_gross(
        charges: list[Charge], value: Decimal, proration: Proration | None) -> None:
    lines = compute_lines(charges, [AppliedDiscount("x", ValueKind.AMOUNT, value)], proration)
    gross = sum((x.gross for x in lines), ZERO)
    expected = round_money(proration.scale(value) if proration else value)
    assert sum((x.discount for x in lines), ZERO) == min(expected, gross)


@MANY
@given(charges=charges_st, pct=st.integers(1, 10000).map(lambda c: Decimal(c) * CENT))
def test_a_lone_percentage_is_the_rounded_share_of_each_line(charges: list[Charge], pct: Decimal) -> None:
    for line in compute_lines(charges, [AppliedDiscount("p", ValueKind.PERCENTAGE, pct)]):
        assert line.discount == round_money(line.gross * pct / 100)


@MANY
@given(total_weights=st.lists(cents(0, 100000), min_size=1, max_size=8).flatmap(
    lambda ws: st.tuples(cents(0, int(sum(ws, ZERO) / CENT)), st.just(ws))))
def test_split_amount_is_exact_and_never_exceeds_a_weight(total_weights: tuple[Decimal, list[Decimal]]) -> None:
    total, weights = total_weights
    shares = split_amount(total, weights)
    if sum(weights, ZERO) == 0:
        assert shares == [ZERO] * len(weights)
        return
    assert sum(shares, ZERO) == total
    assert all(ZERO <= s <= w for s, w in zip(shares, weights, strict=True))


@MANY
@given(value=cents(0, 10**12 - 1), whole=cents(1, 10**8))
def test_money_round_trips_and_percent_rule(value: Decimal, whole: Decimal) -> None:
    assert parse_money(format_money(value)) == value
    assert round_money(round_money(value)) == round_money(value)
    assert percent_of(value, whole) == round_money(value * 100 / whole)


@MANY
@given(start=dates, until=dates, months=st.sampled_from([1, 3, 12]))
def test_count_period_starts_matches_brute_force(start: date, until: date, months: int) -> None:
    brute = 0
    while add_months(start, brute * months) <= until:
        brute += 1
    assert count_period_starts(start, until, months) == brute
