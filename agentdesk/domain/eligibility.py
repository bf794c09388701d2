"""Which discounts a caller may be offered, what each would cost, and in which order to offer them.

:func:`evaluate` judges every active definition against the customer, the service, the call type, today's
date and the customer's prior usage, and returns one :class:`Suggestion` per definition, eligible or not,
with plain-English reasons ("eligible: ..." / "not eligible: ..."; the blocking ones listed first).

Costs. The billing items a suggestion applies to by default are the service's items matching the
definition's product criteria (``discounts.matching_items``). The cost per period is what the discount would
take off those items in one whole period, computed with ``billing_math.compute_lines`` (multiplier, step cap
and the no-negative-line rule included; term/cumulative-term discounts count in full, as if the customer
pays in time). The number of periods is ``billing_math.periods_in_duration`` from today. The service's cost
over the same duration is the gross of *all* its items per period times that number of periods, and
``cost_percent`` is the total cost as a percentage of it (``money.percent_of``).

Ranking (retention patent: the offer is tailored to the customer's worth while staying profitable):

* Each customer has a **retention budget** = lifetime value x the segment's share
  (platinum 20 %, gold 15 %, silver 10 %, bronze 5 %; a negative value gives a zero budget).
* An offer whose total cost fits the budget scores its total cost (richest affordable offer first); an offer
  over budget scores ``budget - total cost`` (negative: the less it overshoots, the higher). So a
  high-value customer sees the richer offers first and a low-value customer the cheaper ones.
* Eligible suggestions come first, by score descending, then total cost ascending, then code and version.
  Ineligible ones follow, by code and version. The order is fully deterministic.
* For an amount range the default amount is the per-period share of the budget
  (``budget / periods``, truncated to the cent), clamped to the range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from agentdesk.domain.billing_math import AppliedDiscount, Charge, compute_lines, periods_in_duration
from agentdesk.domain.discounts import (
    BillingFrequency,
    CallType,
    CustomerContext,
    CustomerSegment,
    DiscountDefinition,
    ItemId,
    PriorUsage,
    ServiceContext,
    ValueKind,
    matching_items,
)
from agentdesk.domain.errors import ValidationError
from agentdesk.domain.money import CENT, ZERO, floor_cents, format_money, percent_of, round_money
from agentdesk.domain.periods import add_months, format_date, whole_months_between

#: Share of a customer's lifetime value the desk may spend to keep them, by segment.
BUDGET_SHARE: dict[CustomerSegment, Decimal] = {
    CustomerSegment.PLATINUM: Decimal("0.20"),
    CustomerSegment.GOLD: Decimal("0.15"),
    CustomerSegment.SILVER: Decimal("0.10"),
    CustomerSegment.BRONZE: Decimal("0.05"),
}


@dataclass(frozen=True)
class DiscountCost:
    """What a discount would cost over its duration, and against what."""

    per_period: Decimal
    periods: int
    total: Decimal
    service_per_period: Decimal  # gross of all the service's items for one period
    service_total: Decimal  # over the same number of periods
    percent: Decimal  # total as % of service_total, 2 decimals half-up


@dataclass(frozen=True)
class Suggestion:
    """One definition judged for one call."""

    definition: DiscountDefinition
    eligible: bool
    reasons: tuple[str, ...]  # "not eligible: ..." first, then "eligible: ..."
    item_ids: tuple[ItemId, ...]  # billing items it applies to by default
    amount_min: Decimal | None  # AMOUNT_RANGE bounds; AMOUNT: all three equal the fixed amount
    amount_max: Decimal | None
    amount_default: Decimal | None
    cost_per_period: Decimal  # at amount_default
    periods: int
    total_cost: Decimal
    service_cost: Decimal  # the service's gross over the same periods
    cost_percent: Decimal
    score: Decimal

    @property
    def code(self) -> str:
        return self.definition.code

    @property
    def needs_approval(self) -> bool:
        return self.definition.needs_approval


def retention_budget(customer: CustomerContext) -> Decimal:
    """How much the desk may spend to keep this customer (see the module docstring)."""
    return round_money(max(customer.lifetime_value, ZERO) * BUDGET_SHARE[customer.segment])


def applications_in_window(definition: DiscountDefinition, usage: Iterable[PriorUsage], today: date) -> int:
    """Prior uses of the definition's code after ``today - applications_window_months`` (future ones count)."""
    start = add_months(today, -definition.applications_window_months)
    return sum(1 for u in usage if u.code == definition.code and u.applied_on > start)


def check_amount(definition: DiscountDefinition, amount: Decimal | None) -> Decimal | None:
    """Check an amount typed for ``definition``; return the amount to record (``None`` when it takes none).

    AMOUNT_RANGE needs an amount within [min, max] in whole cents; AMOUNT accepts nothing or its own
    amount; PERCENTAGE and FREE_PERIOD take no amount. Raises :class:`ValidationError` on ``"amount"``.
    """
    kind = definition.value_kind
    if kind is ValueKind.AMOUNT_RANGE:
        low, high = definition.amount_min, definition.amount_max
        assert low is not None and high is not None, "range definition without bounds"
        between = f"between {format_money(low)} and {format_money(high)}"
        if amount is None:
            raise ValidationError("amount", f"amount is required: enter an amount {between}")
        if amount != amount.quantize(CENT):
            raise ValidationError("amount", "amount may have at most 2 decimals")
        if not (low <= amount <= high):
            raise ValidationError("amount", f"amount must be {between}")
        return amount.quantize(CENT)
    if kind is ValueKind.AMOUNT:
        fixed = definition.amount
        assert fixed is not None, "amount definition without amount"
        if amount is not None and amount != fixed:
            raise ValidationError("amount", f"amount is fixed at {format_money(fixed)} for this discount")
        return fixed
    if amount is not None:
        raise ValidationError("amount", f"a {kind.value.replace('_', ' ')} discount takes no amount")
    return None


def discount_cost(definition: DiscountDefinition, service: ServiceContext, today: date, *,
                  amount: Decimal | None = None, item_ids: Sequence[ItemId] | None = None) -> DiscountCost:
    """Cost of ``definition`` on ``service`` from ``today`` (``amount``: the chosen range amount;
    ``item_ids``: the items it applies to, default the matching items). Used live by the offer wizard."""
    if item_ids is None:
        item_ids = [item.item_id for item in matching_items(definition, service.items)]
    charges = [Charge(item.item_id, item.description, item.unit_price, item.quantity, ZERO,
                      service.billing_frequency) for item in service.items]
    periods = periods_in_duration(definition, today, service.billing_frequency)
    value_missing = definition.value_kind is ValueKind.AMOUNT_RANGE and amount is None
    if item_ids and not value_missing:
        applied = AppliedDiscount.from_definition(definition, ref=definition.code, amount=amount,
                                                  item_ids=item_ids)
        lines = compute_lines(charges, [applied])
        per_period = sum((x.discount + x.payment_discount for x in lines), ZERO)
        service_per_period = sum((x.gross for x in lines), ZERO)
    else:
        per_period = ZERO
        service_per_period = sum((x.gross for x in compute_lines(charges, [])), ZERO)
    total = per_period * periods
    service_total = service_per_period * periods
    return DiscountCost(per_period, periods, total, service_per_period, service_total,
                        percent_of(total, service_total))


def _default_amount(definition: DiscountDefinition, budget: Decimal, periods: int) -> Decimal | None:
    kind = definition.value_kind
    if kind is ValueKind.AMOUNT:
        return definition.amount
    if kind is not ValueKind.AMOUNT_RANGE:
        return None
    low, high = definition.amount_min, definition.amount_max
    assert low is not None and high is not None
    share = floor_cents(budget / periods) if periods > 0 else low
    return min(max(share, low), high)


def _score(total: Decimal, budget: Decimal) -> Decimal:
    return total if total <= budget else budget - total


def _names(values: Iterable[str]) -> str:
    return " or ".join(sorted(v.replace("_", " ") for v in values))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _judge(d: DiscountDefinition, customer: CustomerContext, service: ServiceContext,
           call_type: CallType | None, today: date, usage: Sequence[PriorUsage],
           items: tuple[ItemId, ...], descriptions: list[str], periods: int) -> tuple[list[str], list[str]]:
    """(blocking reasons, passing reasons) for one definition."""
    no: list[str] = []
    yes: list[str] = []

    if today < d.effective_date:
        no.append(f"not available until {format_date(d.effective_date)}")
    elif d.expiration_date is not None and today > d.expiration_date:
        no.append(f"expired on {format_date(d.expiration_date)}")
    elif d.expiration_date is not None:
        yes.append(f"available until {format_date(d.expiration_date)}")
    else:
        yes.append("available with no end date")

    if d.call_types:
        if call_type in d.call_types:
            yes.append(f"call type {call_type.value.replace('_', ' ')}" if call_type else "call type")
        else:
            got = call_type.value.replace("_", " ") if call_type else "not set"
            no.append(f"call type {got} (needs {_names(d.call_types)})")

    if d.billing_frequency is not None:
        want: BillingFrequency = d.billing_frequency
        if service.billing_frequency is want:
            yes.append(f"billed {want.value}")
        elif service.billing_frequency is None:
            no.append(f"for subscriptions billed {want.value} only, not jobs")
        else:
            no.append(f"for {want.value} billing only (the service is billed {service.billing_frequency.value})")

    if d.jobs_late_only:
        exp, act = service.expected_completion, service.actual_completion
        if not service.is_job:
            no.append("for late jobs only, not subscriptions")
        elif exp is None or act is None:
            no.append("for jobs completed later than expected; this job has no actual completion date yet")
        elif service.is_late_job:
            yes.append(f"job completed {format_date(act)}, later than expected {format_date(exp)}")
        else:
            no.append(f"job completed {format_date(act)}, not later than expected {format_date(exp)}")

    if d.customer_segments:
        seg = customer.segment.value
        if customer.segment in d.customer_segments:
            yes.append(f"customer segment {seg}")
        else:
            no.append(f"customer segment {seg} (needs {_names(d.customer_segments)})")

    if d.card_segments:
        card = customer.card_segment.value
        if customer.card_segment in d.card_segments:
            yes.append(f"card segment {card}")
        else:
            no.append(f"card segment {card} (needs {_names(d.card_segments)})")

    if d.max_late_payments is not None:
        late = _plural(customer.late_payments_12m, "late payment")
        if customer.late_payments_12m <= d.max_late_payments:
            yes.append(f"{late} in the last 12 months (at most {d.max_late_payments})")
        else:
            no.append(f"{late} in the last 12 months (at most {d.max_late_payments} allowed)")

    if d.min_tenure_months is not None:
        tenure = whole_months_between(customer.customer_since, today)
        if tenure >= d.min_tenure_months:
            yes.append(f"customer for {_plural(tenure, 'month')} (at least {d.min_tenure_months})")
        else:
            no.append(f"customer for {_plural(tenure, 'month')} (needs at least {d.min_tenure_months})")

    if items:
        yes.append(f"applies to {', '.join(descriptions)}")
    else:
        criteria = []
        if d.main_service_only:
            criteria.append("main service only")
        if d.product_types:
            criteria.append(f"product type {_names(d.product_types)}")
        if d.product_codes:
            criteria.append(f"product {' or '.join(sorted(d.product_codes))}")
        no.append(f"no billing item matches ({', '.join(criteria) or 'the service has no items'})")

    if d.max_applications is not None:
        used = applications_in_window(d, usage, today)
        window = _plural(d.applications_window_months, "month")
        if used >= d.max_applications:
            no.append(f"{used} of {d.max_applications} discounts already used in the last {window}")
        else:
            yes.append(f"{used} of {d.max_applications} discounts used in the last {window}")

    if periods == 0:
        until = d.duration_until
        no.append(f"its duration ended on {format_date(until)}" if until else "its duration is empty")
    return no, yes


def evaluate(definitions: Iterable[DiscountDefinition], customer: CustomerContext, service: ServiceContext,
             call_type: CallType | None, today: date, usage: Iterable[PriorUsage] = ()) -> list[Suggestion]:
    """One :class:`Suggestion` per *active* definition, eligible first, ranked (see module docstring)."""
    usage = list(usage)
    budget = retention_budget(customer)
    out: list[Suggestion] = []
    for d in definitions:
        if not d.active:
            continue
        matched = matching_items(d, service.items)
        item_ids = tuple(item.item_id for item in matched)
        descriptions = [item.description or item.product_code for item in matched]
        periods = periods_in_duration(d, today, service.billing_frequency)
        no, yes = _judge(d, customer, service, call_type, today, usage, item_ids, descriptions, periods)
        default = _default_amount(d, budget, periods)
        cost = discount_cost(d, service, today, amount=default, item_ids=item_ids)
        fixed_or_range = d.value_kind in (ValueKind.AMOUNT, ValueKind.AMOUNT_RANGE)
        out.append(Suggestion(
            definition=d,
            eligible=not no,
            reasons=tuple([f"not eligible: {r}" for r in no] + [f"eligible: {r}" for r in yes]),
            item_ids=item_ids,
            amount_min=(d.amount_min if d.value_kind is ValueKind.AMOUNT_RANGE else d.amount)
            if fixed_or_range else None,
            amount_max=(d.amount_max if d.value_kind is ValueKind.AMOUNT_RANGE else d.amount)
            if fixed_or_range else None,
            amount_default=default,
            cost_per_period=cost.per_period,
            periods=cost.periods,
            total_cost=cost.total,
            service_cost=cost.service_total,
            cost_percent=cost.percent,
            score=_score(cost.total, budget),
        ))
    out.sort(key=lambda s: (0, -s.score, s.total_cost, s.code, s.definition.version) if s.eligible
             else (1, ZERO, ZERO, s.code, s.definition.version))
    return out
