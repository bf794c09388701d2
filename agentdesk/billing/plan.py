"""What one customer's invoice for one billing period will contain: pure computation, no database.

The loader (:mod:`agentdesk.billing.loader`) reads a customer's due subscriptions, billable jobs and
*approved* discounts into the frozen dataclasses below; :func:`plan_invoice` turns them into a
:class:`PlannedInvoice` using the domain's line maths (:func:`agentdesk.domain.billing_math.compute_lines`).
The writer stores exactly that plan, and a bill preview shows exactly that plan, so preview and billing
cannot disagree.

Rounding: every amount is rounded **half-up to the cent on each line** (gross, each discount, net, tax);
invoice totals are plain sums of the rounded lines. The invoice states this in a printed note.

Which discounts reach a line:

* ad hoc discounts (the loader only ever reads those in state Approved) on the subscription or job, for
  the billing items listed on the discount (none listed = every item), when the period overlaps their
  effective/expiration dates and, for counted durations (once, N periods, free periods), periods are left;
* automatic definitions (``auto_apply``) whose criteria hold: validity dates, billing frequency, late jobs
  only, customer segment / card segment / late payments / tenure, product types and codes, main service;
  counted the same way (once = one period per subscription or job);
* trade discounts and free periods are deducted on the line; term and cumulative-term discounts are not:
  they are printed as "less X if paid by DATE" / "less X at payment" and taken when the payment arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from agentdesk.billing.periods import BillingPeriod, ServiceSpan, subscription_span
from agentdesk.domain.billing_math import (
    AppliedDiscount,
    Charge,
    DiscountSpan,
    Line,
    Proration,
    compute_lines,
    covers_period,
    summarise,
    term_discount_note,
)
from agentdesk.domain.discounts import (
    BillingFrequency,
    BillingItem,
    CardSegment,
    CustomerSegment,
    DiscountDefinition,
    DurationKind,
    EdificeType,
    ProductType,
    ValueKind,
    matching_items,
)
from agentdesk.domain.money import HUNDRED, ZERO, round_money
from agentdesk.domain.periods import format_date, whole_months_between

ROUNDING_NOTE = (
    "Amounts are rounded half-up to the cent on each line; totals are the sums of the lines."
)
_FOUR_PLACES = Decimal("0.0001")


# --- input ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A billing item with its product (price per billing period, or per job)."""

    id: int
    product_code: str
    product_name: str
    product_type: ProductType
    tax_rate: Decimal
    is_main: bool
    quantity: int
    unit_price: Decimal
    description: str | None = None

    @property
    def label(self) -> str:
        return self.description or self.product_name

    def as_domain(self) -> BillingItem:
        return BillingItem(self.id, self.product_code, self.product_type, self.is_main,
                           Decimal(self.quantity), self.unit_price, self.label)


@dataclass(frozen=True)
class SubscriptionData:
    id: int
    number: str
    frequency: BillingFrequency
    start_date: date
    end_date: date | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class JobData:
    id: int
    number: str
    description: str
    expected_completion: date
    actual_completion: date | None
    items: tuple[Item, ...]

    @property
    def is_late(self) -> bool:
        return self.actual_completion is not None and self.actual_completion > self.expected_completion


@dataclass(frozen=True)
class AdhocData:
    """An Approved ad hoc discount, with its definition's duration resolved into a count of periods."""

    id: int
    subscription_id: int | None
    job_id: int | None
    ticket_id: int | None
    code: str
    name: str
    value_kind: ValueKind
    percentage: Decimal | None
    amount: Decimal | None
    free_periods: int | None
    edifice_type: EdificeType
    multiplier: Decimal
    step_cap: Decimal | None
    effective_date: date | None
    expiration_date: date | None
    periods_total: int | None  # None: bounded by dates only
    periods_used: int  # distinct periods billed before this one
    item_ids: frozenset[int]  # empty: every item of the subscription or job
    term_days: int | None

    @property
    def ref(self) -> str:
        return f"d{self.id}"

    def value(self) -> Decimal | None:
        if self.value_kind is ValueKind.PERCENTAGE:
            return self.percentage
        if self.value_kind in (ValueKind.AMOUNT, ValueKind.AMOUNT_RANGE):
            return self.amount
        return None

    def applied(self, item_ids: Iterable[int]) -> AppliedDiscount | None:
        """The discount as billing maths applies it to the given items; None if it has no usable value."""
        value = self.value()
        if self.value_kind is not ValueKind.FREE_PERIOD and value is None:
            return None
        return AppliedDiscount(ref=self.ref, value_kind=self.value_kind, value=value,
                               edifice_type=self.edifice_type, multiplier=self.multiplier,
                               step_cap=self.step_cap, item_ids=frozenset(item_ids))

    def span(self) -> DiscountSpan:
        kind = DurationKind.UNTIL_DATE if self.periods_total is None else DurationKind.PERIODS
        return DiscountSpan(kind, self.effective_date or date.min, self.expiration_date,
                            self.periods_total, self.periods_used)


@dataclass(frozen=True)
class CustomerData:
    """One customer and everything of theirs a run may bill in one period."""

    id: int
    account_number: str
    name: str
    address_line1: str | None
    address_line2: str | None
    postal_code: str | None
    city: str | None
    country: str
    vat_id: str | None
    segment: CustomerSegment
    card_segment: CardSegment
    late_payments_12m: int
    customer_since: date
    subscriptions: tuple[SubscriptionData, ...] = ()
    jobs: tuple[JobData, ...] = ()
    adhoc: tuple[AdhocData, ...] = ()
    # Periods an automatic definition was already applied, by (definition id, "s"|"j", service id).
    auto_used: Mapping[tuple[int, str, int], int] = field(default_factory=dict)

    def missing_address(self) -> bool:
        return not ((self.address_line1 or "").strip() and (self.postal_code or "").strip()
                    and (self.city or "").strip())

    def address_text(self) -> str:
        """The buyer's address as printed: street lines, "postal code city", country (one per line)."""
        lines = [self.address_line1 or "", self.address_line2 or "",
                 f"{(self.postal_code or '').strip()} {(self.city or '').strip()}".strip(), self.country]
        return "\n".join(line.strip() for line in lines if line and line.strip())


@dataclass(frozen=True)
class BillingTerms:
    """What the company and the day of issue contribute: dates, currency, payment terms."""

    issue_date: date
    payment_terms_days: int
    currency: str = "EUR"

    @property
    def due_date(self) -> date:
        return self.issue_date + timedelta(days=self.payment_terms_days)


# --- output --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedApplication:
    """One use of a discount on one billing item in this period (a discount_application row)."""

    discount_id: int | None
    definition_id: int | None
    billing_item_id: int
    amount: Decimal


@dataclass(frozen=True)
class PlannedLine:
    billing_item_id: int
    description: str
    frequency: str  # "monthly" | "quarterly" | "annual" | "once"
    period_start: date
    period_end: date  # exclusive
    quantity: int
    unit_price: Decimal
    gross: Decimal
    discount: Decimal
    discount_percent: Decimal
    discount_label: str | None
    net: Decimal
    tax_rate: Decimal
    tax: Decimal
    edifice_type: str | None
    payment_discount: Decimal  # term + cumulative term on this line, taken at payment
    applications: tuple[PlannedApplication, ...]

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class PlannedRecord:
    """The patent's billing item record for a discounted item (written if none exists yet)."""

    discount_id: int
    billing_item_id: int
    ticket_id: int | None
    service_description: str
    service_frequency: str
    service_cost: Decimal
    approved_discount: Decimal
    discount_frequency: str
    discount_percent: Decimal


@dataclass(frozen=True)
class PlannedInvoice:
    customer_id: int
    account_number: str
    buyer_name: str
    buyer_address: str
    buyer_vat_id: str | None
    period_start: date
    period_end: date  # exclusive
    lines: tuple[PlannedLine, ...]
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal  # net + tax: the amount due
    discount_total: Decimal  # deducted on the bill
    term_discount_amount: Decimal  # "less X if paid by term_discount_date"
    term_discount_date: date | None
    cumulative_discount_amount: Decimal  # "less X at payment", whatever the date
    due_date: date
    used_discount_ids: frozenset[int]
    job_ids: tuple[int, ...]
    records: tuple[PlannedRecord, ...]

    @property
    def before_discounts(self) -> Decimal:
        """What the lines would have cost before any deducted discount, VAT included (for previews)."""
        return sum((line.gross + _tax(line.gross, line.tax_rate) for line in self.lines), ZERO)


@dataclass(frozen=True)
class CustomerProblem:
    """A customer the run could not invoice, and what to do about it."""

    customer_id: int
    account_number: str
    message: str


def _tax(amount: Decimal, rate: Decimal) -> Decimal:
    return round_money(amount * rate / HUNDRED)


# --- planning ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Names:
    """Display names of the discounts (by billing-maths ref) and their ids, for labels and applications."""

    labels: dict[str, str]
    discount_ids: dict[str, int]
    definition_ids: dict[str, int]
    term_days: dict[str, int | None]


def auto_ref(definition_id: int) -> str:
    return f"a{definition_id}"


def auto_periods_total(definition: DiscountDefinition) -> int | None:
    """Periods an automatic definition lasts per subscription or job (None: until its dates end)."""
    if definition.value_kind is ValueKind.FREE_PERIOD:
        return definition.free_periods or 1
    if definition.duration_kind is DurationKind.ONCE:
        return 1
    if definition.duration_kind is DurationKind.PERIODS:
        return definition.duration_periods or 1
    return None


def _auto_matches(definition: DiscountDefinition, customer: CustomerData, items: Sequence[Item], *,
                  frequency: BillingFrequency | None, late_job: bool, first_day: date, last_day: date,
                  used: int) -> list[int]:
    """Item ids an automatic definition applies to in this period (empty: it does not apply)."""
    if definition.id is None or not definition.active:
        return []
    if definition.effective_date > last_day or (definition.expiration_date and definition.expiration_date < first_day):
        return []
    if definition.duration_kind is DurationKind.UNTIL_DATE and definition.duration_until and \
            definition.duration_until < first_day:
        return []
    total = auto_periods_total(definition)
    if total is not None and used >= total:
        return []
    if definition.jobs_late_only and not late_job:
        return []
    if definition.billing_frequency is not None and definition.billing_frequency is not frequency:
        return []
    if definition.customer_segments and customer.segment not in definition.customer_segments:
        return []
    if definition.card_segments and customer.card_segment not in definition.card_segments:
        return []
    if definition.max_late_payments is not None and customer.late_payments_12m > definition.max_late_payments:
        return []
    if definition.min_tenure_months is not None and \
            whole_months_between(customer.customer_since, first_day) < definition.min_tenure_months:
        return []
    matched = matching_items(definition, [item.as_domain() for item in items])
    return [int(m.item_id) for m in matched]


def _discount_frequency(frequency: str, kind: ValueKind, total: int | None, until: date | None) -> str:
    if frequency == "once":
        return "once"
    if total is None:
        return f"{frequency} until {format_date(until)}" if until else f"{frequency}, open-ended"
    unit = "free period" if kind is ValueKind.FREE_PERIOD else "period"
    return f"{frequency}, {total} {unit}{'' if total == 1 else 's'}"


def _records(discount: AdhocData, charges: Sequence[Charge], items: Sequence[Item], frequency: str,
             item_ids: Iterable[int]) -> list[PlannedRecord]:
    """Billing item records for the items a discount touched, at a whole period's prices."""
    applied = discount.applied(item_ids)
    if applied is None:
        return []
    lines = compute_lines(charges, [applied])
    by_item = {item.id: item for item in items}
    out = []
    for line in lines:
        taken = sum((p.amount for p in line.parts if p.ref == discount.ref), ZERO)
        if taken <= 0:
            continue
        percent = (taken * 100 / line.gross).quantize(_FOUR_PLACES, ROUND_HALF_UP) if line.gross else Decimal(0)
        out.append(PlannedRecord(
            discount_id=discount.id, billing_item_id=int(line.item_id), ticket_id=discount.ticket_id,
            service_description=by_item[int(line.item_id)].label[:200], service_frequency=frequency,
            service_cost=line.gross, approved_discount=taken,
            discount_frequency=_discount_frequency(frequency, discount.value_kind, discount.periods_total,
                                                   discount.expiration_date)[:40],
            discount_percent=min(percent, Decimal(100)),
        ))
    return out


def _label(line: Line, names: _Names, terms: BillingTerms) -> str | None:
    texts = []
    for part in line.parts:
        name = names.labels.get(str(part.ref), str(part.ref))
        if part.edifice_type is EdificeType.TERM:
            days = names.term_days.get(str(part.ref))
            pay_by = terms.issue_date + timedelta(days=days if days is not None else terms.payment_terms_days)
            texts.append(f"{name}: {term_discount_note(part.amount, pay_by)}")
        elif part.edifice_type is EdificeType.CUMULATIVE_TERM:
            texts.append(f"{name}: {term_discount_note(part.amount, None)}")
        else:
            texts.append(name)
    if not texts:
        return None
    return "; ".join(texts)[:300]


def _edifice_type(line: Line) -> str | None:
    for part in line.parts:
        if not part.deducted:
            return part.edifice_type.value
    return EdificeType.TRADE.value if line.parts else None


def _planned_line(line: Line, names: _Names, terms: BillingTerms, description: str, frequency: str,
                  start: date, end: date) -> PlannedLine:
    apps: dict[tuple[int | None, int | None], Decimal] = {}
    for part in line.parts:
        key = (names.discount_ids.get(str(part.ref)), names.definition_ids.get(str(part.ref)))
        apps[key] = apps.get(key, ZERO) + part.amount
    return PlannedLine(
        billing_item_id=int(line.item_id), description=description[:300], frequency=frequency,
        period_start=start, period_end=end, quantity=int(line.quantity), unit_price=line.unit_price,
        gross=line.gross, discount=line.discount, discount_percent=line.discount_percent,
        discount_label=_label(line, names, terms), net=line.net, tax_rate=line.tax_rate, tax=line.tax,
        edifice_type=_edifice_type(line), payment_discount=line.payment_discount,
        applications=tuple(PlannedApplication(d, a, int(line.item_id), amount)
                           for (d, a), amount in apps.items()),
    )


def _prorated(label: str, proration: Proration | None) -> str:
    if proration is None or proration.is_full:
        return label
    return f"{label} (prorated: {proration.served_days} of {proration.period_days} days)"


def plan_invoice(customer: CustomerData, period: BillingPeriod, terms: BillingTerms,
                 autos: Sequence[DiscountDefinition] = (), *,
                 extra: Mapping[int, Sequence[AppliedDiscount]] | None = None,
                 extra_labels: Mapping[str, str] | None = None,
                 with_discounts: bool = True,
                 require_address: bool = True) -> PlannedInvoice | CustomerProblem | None:
    """The invoice of ``customer`` for ``period``; a problem if it cannot be issued; None if nothing is due.

    ``extra`` adds hypothetical discounts per subscription id (bill previews of an offer not yet made);
    ``with_discounts=False`` prices the same lines with no discount at all ("before" in a preview);
    ``require_address=False`` plans even without a billing address (a preview shows the problem apart).
    """
    names = _Names({}, {}, {}, {})
    lines: list[PlannedLine] = []
    domain_lines: list[Line] = []
    records: list[PlannedRecord] = []
    used: set[int] = set()
    job_ids: list[int] = []
    for label_ref, text in (extra_labels or {}).items():
        names.labels[label_ref] = text

    def register_adhoc(d: AdhocData) -> None:
        names.labels[d.ref] = d.name + (" (free period)" if d.value_kind is ValueKind.FREE_PERIOD else "")
        names.discount_ids[d.ref] = d.id
        names.term_days[d.ref] = d.term_days

    def register_auto(definition: DiscountDefinition) -> str:
        ref = auto_ref(int(definition.id or 0))
        names.labels[ref] = f"{definition.name} (automatic)"
        names.definition_ids[ref] = int(definition.id or 0)
        names.term_days[ref] = definition.term_days
        return ref

    def service_discounts(kind: str, service_id: int, items: Sequence[Item], start: date, end: date,
                          frequency: BillingFrequency | None, late_job: bool,
                          auto_day: tuple[date, date]) -> tuple[list[AppliedDiscount], list[AdhocData]]:
        if not with_discounts:
            return [], []
        own_ids = {item.id for item in items}
        applied: list[AppliedDiscount] = []
        adhoc_used: list[AdhocData] = []
        for d in customer.adhoc:
            if (d.subscription_id if kind == "s" else d.job_id) != service_id:
                continue
            span = d.span()
            if kind == "j":
                # A job is billed once, whenever it is billed: only "periods left" matters, not the dates.
                span = DiscountSpan(span.duration_kind, date.min, None, span.periods_total, span.periods_used)
            if not covers_period(span, start, end):
                continue
            targets = (d.item_ids & own_ids) if d.item_ids else own_ids
            one = d.applied(targets)
            if one is None or not targets:
                continue
            register_adhoc(d)
            applied.append(one)
            adhoc_used.append(d)
        for definition in autos:
            used_periods = customer.auto_used.get((int(definition.id or 0), kind, service_id), 0)
            matched = _auto_matches(definition, customer, items, frequency=frequency, late_job=late_job,
                                    first_day=auto_day[0], last_day=auto_day[1], used=used_periods)
            if not matched:
                continue
            try:
                one_auto = AppliedDiscount.from_definition(definition, ref=auto_ref(int(definition.id or 0)),
                                                           item_ids=matched)
            except ValueError:  # an automatic amount range has no amount to apply: nothing to do
                continue
            register_auto(definition)
            applied.append(one_auto)
        if kind == "s" and extra:
            applied.extend(extra.get(service_id, ()))
        return applied, adhoc_used

    for sub in customer.subscriptions:
        span: ServiceSpan | None = subscription_span(sub.frequency, sub.start_date, sub.end_date, period)
        if span is None or not sub.items:
            continue
        charges = [Charge(item.id, item.label, item.unit_price, Decimal(item.quantity), item.tax_rate,
                          sub.frequency) for item in sub.items]
        discounts, adhoc_used = service_discounts(
            "s", sub.id, sub.items, span.start, span.end, sub.frequency, False,
            (span.start, span.end - timedelta(days=1)))
        computed = compute_lines(charges, discounts, span.proration)
        domain_lines.extend(computed)
        by_id = {item.id: item for item in sub.items}
        for line in computed:
            lines.append(_planned_line(line, names, terms, _prorated(by_id[int(line.item_id)].label, span.proration),
                                       sub.frequency.value, span.start, span.end))
        for d in adhoc_used:
            touched = {int(line.item_id) for line in computed for p in line.parts if p.ref == d.ref}
            if touched:
                used.add(d.id)
                if d.item_ids:  # records name the items a discount lists (the database checks it)
                    records.extend(_records(d, charges, sub.items, sub.frequency.value, touched))

    for job in customer.jobs:
        if not job.items:
            continue
        done = job.actual_completion or period.start
        charges = [Charge(item.id, item.label, item.unit_price, Decimal(item.quantity), item.tax_rate, None)
                   for item in job.items]
        discounts, adhoc_used = service_discounts("j", job.id, job.items, period.start, period.end, None,
                                                  job.is_late, (done, done))
        computed = compute_lines(charges, discounts)
        domain_lines.extend(computed)
        by_id = {item.id: item for item in job.items}
        for line in computed:
            lines.append(_planned_line(line, names, terms, f"{by_id[int(line.item_id)].label} (job {job.number})",
                                       "once", done, done + timedelta(days=1)))
        for d in adhoc_used:
            touched = {int(line.item_id) for line in computed for p in line.parts if p.ref == d.ref}
            if touched:
                used.add(d.id)
                if d.item_ids:
                    records.extend(_records(d, charges, job.items, "once", touched))
        job_ids.append(job.id)

    if not lines:
        return None
    if require_address and customer.missing_address():
        return CustomerProblem(
            customer.id, customer.account_number,
            f"Customer {customer.account_number} ({customer.name}) has no billing address (street, postal code "
            f"and city are needed on an invoice): add it and run {period.label} again",
        )

    totals = summarise(domain_lines)
    term_refs_days = [
        names.term_days.get(str(p.ref)) for line in domain_lines for p in line.parts
        if p.edifice_type is EdificeType.TERM
    ]
    term_date = None
    if totals.term_discount > 0:
        days = [d for d in term_refs_days if d is not None]
        term_date = terms.issue_date + timedelta(days=min(days) if days else terms.payment_terms_days)
    return PlannedInvoice(
        customer_id=customer.id, account_number=customer.account_number, buyer_name=customer.name,
        buyer_address=customer.address_text(), buyer_vat_id=customer.vat_id,
        period_start=min(line.period_start for line in lines), period_end=max(line.period_end for line in lines),
        lines=tuple(lines), net_total=totals.net, tax_total=totals.tax, gross_total=totals.total,
        discount_total=totals.discount, term_discount_amount=totals.term_discount, term_discount_date=term_date,
        cumulative_discount_amount=totals.cumulative_discount, due_date=terms.due_date,
        used_discount_ids=frozenset(used), job_ids=tuple(job_ids), records=tuple(records),
    )
