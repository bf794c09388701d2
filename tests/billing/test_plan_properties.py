"""Property tests of the billing run's planning (pure, no database): totals, discount uses, counting down."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.billing.periods import BillingPeriod, subscription_span
from agentdesk.billing.plan import (
    AdhocData,
    BillingTerms,
    CustomerData,
    Item,
    PlannedInvoice,
    SubscriptionData,
    plan_invoice,
)
from agentdesk.domain.discounts import (
    BillingFrequency,
    CardSegment,
    CustomerSegment,
    EdificeType,
    ProductType,
    ValueKind,
)
from agentdesk.domain.periods import add_months

CENT = Decimal("0.01")
TERMS = BillingTerms(issue_date=dt.date(2026, 11, 22), payment_terms_days=14)
money = st.integers(0, 20_000).map(lambda c: Decimal(c) * CENT)
months = st.integers(0, 35).map(lambda m: BillingPeriod.of(add_months(dt.date(2025, 1, 1), m)))


@st.composite
def items(draw: st.DrawFn, first_id: int) -> tuple[Item, ...]:
    n = draw(st.integers(1, 4))
    return tuple(Item(id=first_id + i, product_code=f"P{i}", product_name=f"Product {i}",
                      product_type=draw(st.sampled_from(list(ProductType))),
                      tax_rate=draw(st.sampled_from([Decimal("0"), Decimal("5"), Decimal("19"), Decimal("21")])),
                      is_main=i == 0, quantity=draw(st.integers(1, 3)), unit_price=draw(money)) for i in range(n))


@st.composite
def adhoc(draw: st.DrawFn, discount_id: int, sub: SubscriptionData) -> AdhocData:
    kind = draw(st.sampled_from(list(ValueKind)))
    edifice = EdificeType.TRADE if kind is ValueKind.FREE_PERIOD else draw(st.sampled_from(list(EdificeType)))
    total = draw(st.one_of(st.none(), st.integers(1, 6)))
    chosen = draw(st.sets(st.sampled_from([i.id for i in sub.items])))
    return AdhocData(
        id=discount_id, subscription_id=sub.id, job_id=None, ticket_id=None, code=f"D{discount_id}", name="d",
        value_kind=kind, percentage=Decimal(draw(st.integers(1, 100))) if kind is ValueKind.PERCENTAGE else None,
        amount=draw(money) if kind in (ValueKind.AMOUNT, ValueKind.AMOUNT_RANGE) else None,
        free_periods=1 if kind is ValueKind.FREE_PERIOD else None, edifice_type=edifice,
        multiplier=draw(st.sampled_from([Decimal("1"), Decimal("0.5"), Decimal("0.1")])) if kind is not ValueKind.FREE_PERIOD else Decimal(1),
        step_cap=draw(st.one_of(st.none(), money.filter(lambda m: m > 0))) if kind is not ValueKind.FREE_PERIOD else None,
        effective_date=draw(st.one_of(st.none(), st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)))),
        expiration_date=None, periods_total=total, periods_used=draw(st.integers(0, 7)) if total else 0,
        item_ids=frozenset(chosen), term_days=draw(st.one_of(st.none(), st.integers(1, 30))),
    )


@st.composite
def customers(draw: st.DrawFn) -> CustomerData:
    subs = []
    discounts = []
    for s in range(draw(st.integers(1, 3))):
        start = draw(st.dates(dt.date(2024, 1, 1), dt.date(2027, 6, 30)))
        end = draw(st.one_of(st.none(), st.dates(start, dt.date(2028, 1, 1))))
        sub = SubscriptionData(id=s + 1, number=f"S{s}", frequency=draw(st.sampled_from(list(BillingFrequency))),
                               start_date=start, end_date=end, items=draw(items(first_id=10 * (s + 1))))
        subs.append(sub)
        for d in range(draw(st.integers(0, 3))):
            discounts.append(draw(adhoc(discount_id=100 * (s + 1) + d, sub=sub)))
    return CustomerData(
        id=1, account_number="A1", name="Customer", address_line1="1 Street", address_line2=None, postal_code="1000",
        city="Town", country="CY", vat_id=None, segment=CustomerSegment.SILVER, card_segment=CardSegment.NONE,
        late_payments_12m=0, customer_since=dt.date(2020, 1, 1), subscriptions=tuple(subs), adhoc=tuple(discounts))


@settings(max_examples=150, deadline=None)
@given(customer=customers(), period=months)
def test_invoice_totals_are_the_sums_of_their_lines_and_discount_uses_match(customer: CustomerData,
                                                                          period: BillingPeriod) -> None:
    plan = plan_invoice(customer, period, TERMS)
    due = [s for s in customer.subscriptions
           if subscription_span(s.frequency, s.start_date, s.end_date, period) is not None]
    if plan is None:
        assert not due
        return
    assert isinstance(plan, PlannedInvoice)
    assert len(plan.lines) == sum(len(s.items) for s in due)
    assert plan.net_total == sum(x.net for x in plan.lines)
    assert plan.tax_total == sum(x.tax for x in plan.lines)
    assert plan.gross_total == plan.net_total + plan.tax_total
    assert plan.discount_total == sum(x.discount for x in plan.lines)
    assert plan.term_discount_amount + plan.cumulative_discount_amount == sum(x.payment_discount for x in plan.lines)
    exhausted = {d.id for d in customer.adhoc if d.periods_total is not None and d.periods_used >= d.periods_total}
    for line in plan.lines:
        assert 0 <= line.discount <= line.gross and line.net == line.gross - line.discount
        assert 0 <= line.payment_discount <= line.net
        assert sum(a.amount for a in line.applications) == line.discount + line.payment_discount
        assert all(a.amount > 0 and a.discount_id not in exhausted for a in line.applications)
        if line.gross:
            assert line.discount_percent == (line.discount * 100 / line.gross).quantize(CENT, ROUND_HALF_UP)
    assert plan.used_discount_ids == {a.discount_id for x in plan.lines for a in x.applications}
    assert (plan.term_discount_date is None) == (plan.term_discount_amount == 0)


@settings(max_examples=100, deadline=None)
@given(customer=customers(), first=months, runs=st.integers(1, 14))
def test_counted_discounts_are_used_in_at_most_their_number_of_periods(customer: CustomerData, first: BillingPeriod,
                                                                       runs: int) -> None:
    used = {d.id: d.periods_used for d in customer.adhoc}
    per = first
    for _ in range(runs):
        current = CustomerData(**{**customer.__dict__, "adhoc": tuple(
            AdhocData(**{**d.__dict__, "periods_used": used[d.id]}) for d in customer.adhoc)})
        plan = plan_invoice(current, per, TERMS)
        if isinstance(plan, PlannedInvoice):
            for discount_id in plan.used_discount_ids:
                used[discount_id] += 1
        per = BillingPeriod.of(add_months(per.start, 1))
    for d in customer.adhoc:
        if d.periods_total is not None:
            assert used[d.id] <= max(d.periods_total, d.periods_used)
