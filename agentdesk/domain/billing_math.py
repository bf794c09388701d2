"""Line maths for the billing run: gross, discounts, net, tax, payment discounts, proration, durations.

Rules (rounding is ``money.round_money``: half-up to the cent, per line):

* **Gross** of a line = ``unit_price × quantity`` for one whole period (``unit_price`` is the price of one
  unit per period of the charge's frequency, or per job for a one-off charge), times the proration fraction
  when the period is cut short, rounded once.
* **Proration** is by days. A cancellation effective on day C means C is the first day without service, so
  ``served_days = C - period_start`` out of ``period_days = period_end - period_start`` (the real length of
  that period: 28-31 days for a month, 90-92 for a quarter, 365/366 for a year). Fixed discount amounts and
  step caps are prorated by the same fraction; percentages need no proration.
* **Trade discounts** (and free periods) are deducted on the bill. They are *additive*: each is computed on
  the line's gross, not on what earlier discounts left. Free periods go first and take the whole gross; the
  others follow in the order given and are cut so a line's total discount never exceeds its gross (no
  negative line); a step cap never limits a free period. A fixed amount applied to several lines is shared out in proportion to their gross
  (largest remainder, so the shares sum exactly to the amount). The step cap limits one application's total
  over all its lines in one period. The multiplier scales the value before the cap.
* **Term and cumulative-term discounts** are not deducted: they are computed the same way on the line's net
  (after trade discounts), cannot exceed it, and are reported as the "less X if paid by DATE" amount
  (term; DATE = issue date + term days) or "less X at payment" (cumulative term). Tax is on the net.
* **Tax** = ``net × rate / 100`` per line, rounded. Invoice totals are sums of rounded lines, so line nets
  always sum to the invoice net and tax per rate is within half a cent per line of tax on the summed net.
* ``discount_percent`` = ``percent_of(discount, gross)``: the share of the line's service cost taken off.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from agentdesk.domain.discounts import (
    BillingFrequency,
    DiscountDefinition,
    DurationKind,
    EdificeType,
    ItemId,
    ValueKind,
)
from agentdesk.domain.money import HUNDRED, ZERO, format_money, percent_of, round_money, split_amount
from agentdesk.domain.periods import count_period_starts, format_date


@dataclass(frozen=True)
class Charge:
    """One billing item to bill for one period."""

    item_id: ItemId
    description: str
    unit_price: Decimal  # per period of `frequency`, or per job when `frequency` is None; >= 0
    quantity: Decimal  # >= 0
    tax_rate: Decimal  # percent, e.g. Decimal("19")
    frequency: BillingFrequency | None = None


@dataclass(frozen=True)
class AppliedDiscount:
    """An approved discount as the billing run applies it to one period.

    ``value`` is the percentage (PERCENTAGE), the amount per period (AMOUNT, AMOUNT_RANGE: the amount
    agreed with the customer), or ``None`` (FREE_PERIOD). ``item_ids`` are the billing items it applies to;
    empty means every line.
    """

    ref: ItemId
    value_kind: ValueKind
    value: Decimal | None
    edifice_type: EdificeType = EdificeType.TRADE
    multiplier: Decimal = Decimal(1)
    step_cap: Decimal | None = None
    item_ids: frozenset[ItemId] = frozenset()

    @classmethod
    def from_definition(cls, definition: DiscountDefinition, *, ref: ItemId, amount: Decimal | None = None,
                        item_ids: Iterable[ItemId] = ()) -> AppliedDiscount:
        """Build from a definition; ``amount`` is the agreed amount of an AMOUNT_RANGE definition."""
        kind = definition.value_kind
        value: Decimal | None
        if kind is ValueKind.PERCENTAGE:
            value = definition.percentage
        elif kind is ValueKind.AMOUNT:
            value = definition.amount
        elif kind is ValueKind.AMOUNT_RANGE:
            value = amount
        else:
            value = None
        if kind is not ValueKind.FREE_PERIOD and value is None:
            raise ValueError(f"discount {definition.code}: no value for a {kind.value} discount")
        return cls(ref=ref, value_kind=kind, value=value, edifice_type=definition.edifice_type,
                   multiplier=definition.multiplier, step_cap=definition.step_cap,
                   item_ids=frozenset(item_ids))


@dataclass(frozen=True)
class Proration:
    """``served_days`` out of ``period_days`` of a period were billed."""

    served_days: int
    period_days: int

    def __post_init__(self) -> None:
        if self.period_days <= 0 or not (0 <= self.served_days <= self.period_days):
            raise ValueError(f"bad proration {self.served_days}/{self.period_days}")

    @property
    def is_full(self) -> bool:
        return self.served_days == self.period_days

    def scale(self, amount: Decimal) -> Decimal:
        """``amount`` times the fraction, *not* rounded (callers round once, at the end)."""
        return amount * self.served_days / self.period_days


def cancellation_proration(period_start: date, period_end: date, cancel_effective: date) -> Proration:
    """Proration of the period ``[period_start, period_end)`` for a cancellation effective on
    ``cancel_effective`` (first day without service). Before the period: 0 days; after it: the full period."""
    period_days = (period_end - period_start).days
    served = min(max((cancel_effective - period_start).days, 0), period_days)
    return Proration(served, period_days)


@dataclass(frozen=True)
class DiscountPart:
    """How much one discount took off one line (``payment`` parts are not deducted on the bill)."""

    ref: ItemId
    edifice_type: EdificeType
    amount: Decimal

    @property
    def deducted(self) -> bool:
        return self.edifice_type is EdificeType.TRADE


@dataclass(frozen=True)
class Line:
    """One computed invoice line."""

    item_id: ItemId
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    frequency: BillingFrequency | None
    gross: Decimal
    discount: Decimal  # deducted on the bill (trade + free period)
    discount_percent: Decimal  # discount as % of gross
    net: Decimal
    tax: Decimal
    total: Decimal  # net + tax
    payment_discount: Decimal  # term + cumulative-term: taken at payment, not deducted here
    parts: tuple[DiscountPart, ...]


def _targets(discount: AppliedDiscount, charges: Sequence[Charge]) -> list[int]:
    return [i for i, c in enumerate(charges) if not discount.item_ids or c.item_id in discount.item_ids]


def _shares(discount: AppliedDiscount, bases: list[Decimal], proration: Proration | None) -> list[Decimal]:
    """What ``discount`` takes from each base before the room on each line is considered."""
    def scaled(amount: Decimal) -> Decimal:
        return round_money(proration.scale(amount) if proration else amount)

    kind = discount.value_kind
    mult = discount.multiplier
    if kind is ValueKind.FREE_PERIOD:
        shares = [round_money(b * mult) for b in bases]
    elif kind is ValueKind.PERCENTAGE:
        pct = discount.value or ZERO
        shares = [round_money(b * pct * mult / HUNDRED) for b in bases]
    else:
        total = min(scaled((discount.value or ZERO) * mult), sum(bases, ZERO))
        shares = split_amount(max(total, ZERO), bases)
    if discount.step_cap is not None and kind is not ValueKind.FREE_PERIOD:  # free means free: no cap
        cap = scaled(discount.step_cap)
        if sum(shares, ZERO) > cap:
            # Share the cap in proportion to what each line would have taken.
            shares = split_amount(cap, shares)
    return shares


def _apply(discounts: Iterable[AppliedDiscount], charges: Sequence[Charge], bases: list[Decimal],
           proration: Proration | None, parts: list[list[DiscountPart]]) -> list[Decimal]:
    """Apply ``discounts`` to ``bases``; returns the total taken per line (never above its base)."""
    taken = [ZERO for _ in bases]
    for discount in discounts:
        idx = _targets(discount, charges)
        if not idx:
            continue
        shares = _shares(discount, [bases[i] for i in idx], proration)
        for i, share in zip(idx, shares, strict=True):
            amount = min(share, bases[i] - taken[i])
            if amount > 0:
                taken[i] += amount
                parts[i].append(DiscountPart(discount.ref, discount.edifice_type, amount))
    return taken


def compute_lines(charges: Sequence[Charge], discounts: Sequence[AppliedDiscount],
                  proration: Proration | None = None) -> list[Line]:
    """Price one period of one service: one :class:`Line` per charge, in the charges' order.

    ``discounts`` are the approved discounts that cover this period (see :func:`covers_period`).
    ``proration`` applies to every charge (a cancellation cuts the whole service short).
    """
    for c in charges:
        if c.unit_price < 0 or c.quantity < 0 or c.tax_rate < 0:
            raise ValueError(f"charge {c.item_id}: unit price, quantity and tax rate must not be negative")
    gross = [round_money(proration.scale(c.unit_price * c.quantity) if proration else c.unit_price * c.quantity)
             for c in charges]
    parts: list[list[DiscountPart]] = [[] for _ in charges]
    # Free periods first so they take the whole gross; other trade discounts keep their given order.
    trade = sorted((d for d in discounts if d.edifice_type is EdificeType.TRADE),
                   key=lambda d: d.value_kind is not ValueKind.FREE_PERIOD)
    taken = _apply(trade, charges, gross, proration, parts)
    net = [g - t for g, t in zip(gross, taken, strict=True)]
    later = [d for d in discounts if d.edifice_type is not EdificeType.TRADE]
    payment = _apply(later, charges, net, proration, parts)
    lines = []
    for i, c in enumerate(charges):
        tax = round_money(net[i] * c.tax_rate / HUNDRED)
        lines.append(Line(
            item_id=c.item_id, description=c.description, quantity=c.quantity, unit_price=c.unit_price,
            tax_rate=c.tax_rate, frequency=c.frequency, gross=gross[i], discount=taken[i],
            discount_percent=percent_of(taken[i], gross[i]), net=net[i], tax=tax, total=net[i] + tax,
            payment_discount=payment[i], parts=tuple(parts[i]),
        ))
    return lines


def compute_line(charge: Charge, discounts: Sequence[AppliedDiscount],
                 proration: Proration | None = None) -> Line:
    """:func:`compute_lines` for a single charge."""
    return compute_lines([charge], discounts, proration)[0]


@dataclass(frozen=True)
class TaxBand:
    rate: Decimal
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class InvoiceTotals:
    """Sums of lines (all plain sums of rounded line values)."""

    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal  # net + tax: the amount due
    term_discount: Decimal  # "less X if paid by DATE"
    cumulative_discount: Decimal  # "less X at payment", whatever the date
    tax_bands: tuple[TaxBand, ...]  # one per tax rate, ascending

    @property
    def payment_discount(self) -> Decimal:
        return self.term_discount + self.cumulative_discount


def summarise(lines: Iterable[Line]) -> InvoiceTotals:
    """Invoice totals from its lines."""
    lines = list(lines)
    bands: dict[Decimal, tuple[Decimal, Decimal]] = {}
    term = cumulative = ZERO
    for line in lines:
        # Normalise the key so 19, 19.0 and 19.00 fall into one band.
        key = line.tax_rate.normalize() + ZERO
        net, tax = bands.get(key, (ZERO, ZERO))
        bands[key] = (net + line.net, tax + line.tax)
        for part in line.parts:
            if part.edifice_type is EdificeType.TERM:
                term += part.amount
            elif part.edifice_type is EdificeType.CUMULATIVE_TERM:
                cumulative += part.amount
    net_total = sum((x.net for x in lines), ZERO)
    tax_total = sum((x.tax for x in lines), ZERO)
    return InvoiceTotals(
        gross=sum((x.gross for x in lines), ZERO),
        discount=sum((x.discount for x in lines), ZERO),
        net=net_total, tax=tax_total, total=net_total + tax_total,
        term_discount=term, cumulative_discount=cumulative,
        tax_bands=tuple(TaxBand(rate, n, t) for rate, (n, t) in sorted(bands.items())),
    )


def discount_date(issue_date: date, term_days: int) -> date:
    """EDIFICE discount date ("if paid by"): the issue date plus the term days."""
    return issue_date + timedelta(days=term_days)


def payment_discount_due(lines: Iterable[Line], paid_on: date, pay_by: date | None) -> Decimal:
    """Discount to take when a payment arrives on ``paid_on``: cumulative-term always, term only if
    ``paid_on`` is on or before ``pay_by``."""
    due = ZERO
    for line in lines:
        for part in line.parts:
            if part.edifice_type is EdificeType.CUMULATIVE_TERM or (
                    part.edifice_type is EdificeType.TERM and pay_by is not None and paid_on <= pay_by):
                due += part.amount
    return due


def term_discount_note(amount: Decimal, pay_by: date | None) -> str:
    """Invoice text for a payment discount: ``"less 12.30 if paid by 15/02/2026"`` (or ``"... at payment"``)."""
    if pay_by is None:
        return f"less {format_money(amount)} at payment"
    return f"less {format_money(amount)} if paid by {format_date(pay_by)}"


# --- Durations ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscountSpan:
    """When an ad hoc discount applies: dates plus, for counted durations, the periods given so far.

    ``periods_total`` is 1 for ONCE, N for PERIODS (or the free periods), ``None`` for UNTIL_DATE.
    """

    duration_kind: DurationKind
    effective_date: date
    expiration_date: date | None = None
    periods_total: int | None = None
    periods_used: int = 0

    @property
    def periods_left(self) -> int | None:
        """Periods still to discount (``None`` = bounded by date only)."""
        if self.periods_total is None:
            return None
        return max(self.periods_total - self.periods_used, 0)


def periods_in_duration(definition: DiscountDefinition, start: date,
                        frequency: BillingFrequency | None) -> int:
    """How many billing periods a discount created on ``start`` lasts (a job counts as one period).

    ONCE: 1. PERIODS: ``duration_periods``. FREE_PERIOD: ``free_periods``. UNTIL_DATE: the periods of
    ``frequency`` starting on ``start``, ``start + 1 period``, ... on or before ``duration_until``.
    A job (``frequency is None``) is billed once, so it counts as 1 period (0 if the duration is over).
    """
    kind = definition.duration_kind
    if definition.value_kind is ValueKind.FREE_PERIOD:
        count = definition.free_periods or 0
    elif kind is DurationKind.ONCE:
        count = 1
    elif kind is DurationKind.PERIODS:
        count = definition.duration_periods or 0
    else:
        until = definition.duration_until
        if until is None or until < start:
            count = 0
        elif frequency is None:
            count = 1
        else:
            count = count_period_starts(start, until, frequency.months)
    return min(count, 1) if frequency is None else count


def span_from_definition(definition: DiscountDefinition, start: date) -> DiscountSpan:
    """The span of an ad hoc discount created from ``definition`` and effective on ``start``."""
    if definition.value_kind is ValueKind.FREE_PERIOD:
        return DiscountSpan(DurationKind.PERIODS, start, None, definition.free_periods)
    kind = definition.duration_kind
    if kind is DurationKind.ONCE:
        return DiscountSpan(kind, start, None, 1)
    if kind is DurationKind.PERIODS:
        return DiscountSpan(kind, start, None, definition.duration_periods)
    return DiscountSpan(kind, start, definition.duration_until, None)


def covers_period(span: DiscountSpan, period_start: date, period_end: date) -> bool:
    """Whether the discount applies to the period ``[period_start, period_end)``.

    The period must overlap the span's dates (a discount effective mid-period covers that whole period;
    for a one-off job pass the billing date and the next day) and, for counted durations, periods must be
    left (ONCE already used, or N periods counted down to zero, means no).
    """
    if period_end <= span.effective_date:
        return False
    if span.expiration_date is not None and period_start > span.expiration_date:
        return False
    left = span.periods_left
    return left is None or left > 0
