"""What a discount *is*: definitions, the customer/service/ticket context they are judged against, usage.

Everything here is a frozen dataclass or a ``str`` enum whose values are the lowercase strings stored in the
database. Loading a definition never validates it (old rows must stay readable); call
:meth:`DiscountDefinition.problems` / :meth:`DiscountDefinition.validate` before saving one.

Vocabulary (from the CRM.COM and EDIFICE source documents):

* value kind: a percentage of the charge, a fixed amount, an amount the agent picks inside a range, or a
  number of free periods. Amounts are *per billing period* of the service (per month for a monthly service).
* duration: once (one period / one job), a number of periods, or until a date.
* EDIFICE type: ``trade`` is deducted on the bill; ``term`` is printed as "less X if paid by DATE" (DATE =
  issue date + ``term_days``) and taken at payment; ``cumulative_term`` is taken at payment whatever the date.
* multiplier: scales the value (``1`` = as is). EDIFICE's "discount multiplier 0.10" (10 % of the charge) is
  ``percentage=100, multiplier=0.10``; it is mainly useful with ``step_cap``, the most one application may
  take off in one period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from agentdesk.domain.errors import ValidationError
from agentdesk.domain.money import CENT, HUNDRED, format_money
from agentdesk.domain.periods import format_date

ItemId = int | str


class ValueKind(StrEnum):
    PERCENTAGE = "percentage"
    AMOUNT = "amount"
    AMOUNT_RANGE = "amount_range"
    FREE_PERIOD = "free_period"


class DurationKind(StrEnum):
    ONCE = "once"
    PERIODS = "periods"
    UNTIL_DATE = "until_date"


class ApprovalMethod(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class EdificeType(StrEnum):
    TRADE = "trade"
    TERM = "term"
    CUMULATIVE_TERM = "cumulative_term"


class BillingFrequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        """Length of one period in months: 1, 3 or 12."""
        return {"monthly": 1, "quarterly": 3, "annual": 12}[self.value]

    @property
    def periods_per_year(self) -> int:
        """12, 4 or 1."""
        return 12 // self.months


class ProductType(StrEnum):
    SUBSCRIPTION_PACKAGE = "subscription_package"
    ADD_ON = "add_on"
    ONE_OFF_FEE = "one_off_fee"
    INSTALLATION_FEE = "installation_fee"


class CallType(StrEnum):
    CANCELLATION = "cancellation"
    COMPLAINT = "complaint"
    LATE_INSTALLATION = "late_installation"
    BILLING_DISPUTE = "billing_dispute"
    PRICE = "price"
    MOVING = "moving"
    COMPETITOR = "competitor"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"


class CustomerSegment(StrEnum):
    """Customer segment from payment history and value (retention patent), richest first."""

    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"
    BRONZE = "bronze"


class CardSegment(StrEnum):
    PREMIUM = "premium"
    STANDARD = "standard"
    NONE = "none"


def _label(value: str) -> str:
    return value.replace("_", " ")


@dataclass(frozen=True, kw_only=True)
class DiscountDefinition:
    """A discount the desk may offer, one version of it (``code`` + ``version`` is unique).

    Empty frozensets mean "any" (no criterion); ``None`` on an optional limit means "no limit".
    """

    id: int | None = None
    code: str
    version: int = 1
    name: str
    value_kind: ValueKind
    percentage: Decimal | None = None  # PERCENTAGE: 0 < p <= 100
    amount: Decimal | None = None  # AMOUNT: per period
    amount_min: Decimal | None = None  # AMOUNT_RANGE: per period
    amount_max: Decimal | None = None
    free_periods: int | None = None  # FREE_PERIOD
    billing_frequency: BillingFrequency | None = None  # None = any frequency (and jobs)
    effective_date: date  # the definition may be offered from this day...
    expiration_date: date | None = None  # ...up to and including this day (None = open)
    duration_kind: DurationKind = DurationKind.ONCE
    duration_periods: int | None = None  # PERIODS
    duration_until: date | None = None  # UNTIL_DATE (inclusive: last period starting on/before it)
    max_applications: int | None = None  # cap per customer within the window (None = no cap)
    applications_window_months: int = 12
    approval: ApprovalMethod = ApprovalMethod.AUTOMATIC
    approval_unit: str | None = None  # unit whose members approve a MANUAL discount
    product_types: frozenset[ProductType] = frozenset()
    product_codes: frozenset[str] = frozenset()
    main_service_only: bool = False
    customer_segments: frozenset[CustomerSegment] = frozenset()
    card_segments: frozenset[CardSegment] = frozenset()
    max_late_payments: int | None = None  # in the last 12 months
    min_tenure_months: int | None = None
    call_types: frozenset[CallType] = frozenset()
    jobs_late_only: bool = False  # job segment "actual completion later than expected"
    auto_apply: bool = False
    edifice_type: EdificeType = EdificeType.TRADE
    multiplier: Decimal = Decimal(1)
    step_cap: Decimal | None = None
    term_days: int | None = None  # TERM only: discount date = issue date + term_days
    active: bool = True

    def problems(self) -> list[ValidationError]:
        """Every broken invariant, one :class:`ValidationError` each (empty list = valid)."""
        return definition_problems(self)

    def validate(self) -> None:
        """Raise the first problem found, if any."""
        found = self.problems()
        if found:
            raise found[0]

    def is_valid_on(self, day: date) -> bool:
        """Whether ``day`` lies in the definition's validity (effective..expiration, inclusive)."""
        return self.effective_date <= day and (self.expiration_date is None or day <= self.expiration_date)

    @property
    def needs_approval(self) -> bool:
        return self.approval is ApprovalMethod.MANUAL


def _money_ok(value: Decimal) -> bool:
    return value == value.quantize(CENT)


def definition_problems(d: DiscountDefinition) -> list[ValidationError]:
    """Check a definition's invariants; see :meth:`DiscountDefinition.problems`."""
    out: list[ValidationError] = []

    def bad(name: str, message: str) -> None:
        out.append(ValidationError(name, message))

    if not d.code.strip():
        bad("code", "code is required")
    if not d.name.strip():
        bad("name", "name is required")
    if d.version < 1:
        bad("version", "version must be 1 or more")
    if d.expiration_date is not None and d.expiration_date <= d.effective_date:
        bad("expiration_date",
            f"expiration date must be after the effective date {format_date(d.effective_date)}")

    # Value: exactly the fields of the chosen kind, each in range.
    kind = d.value_kind
    used = {
        "percentage": kind is ValueKind.PERCENTAGE,
        "amount": kind is ValueKind.AMOUNT,
        "amount_min": kind is ValueKind.AMOUNT_RANGE,
        "amount_max": kind is ValueKind.AMOUNT_RANGE,
        "free_periods": kind is ValueKind.FREE_PERIOD,
    }
    for name, needed in used.items():
        value = getattr(d, name)
        if needed and value is None:
            bad(name, f"{_label(name)} is required for a {_label(kind)} discount")
        elif not needed and value is not None:
            bad(name, f"{_label(name)} must be empty for a {_label(kind)} discount")
    if kind is ValueKind.PERCENTAGE and d.percentage is not None and not (0 < d.percentage <= HUNDRED):
        bad("percentage", "percentage must be more than 0 and at most 100")
    for name in ("amount", "amount_min", "amount_max", "step_cap"):
        value = getattr(d, name)
        if value is not None and (value <= 0 or not _money_ok(value)):
            bad(name, f"{_label(name)} must be a positive amount with at most 2 decimals")
    if (kind is ValueKind.AMOUNT_RANGE and d.amount_min is not None and d.amount_max is not None
            and d.amount_min > d.amount_max):
        bad("amount_max",
            f"amount max must be at least the minimum {format_money(d.amount_min)}")
    if kind is ValueKind.FREE_PERIOD and d.free_periods is not None and d.free_periods < 1:
        bad("free_periods", "free periods must be 1 or more")

    # Duration.
    dk = d.duration_kind
    if kind is ValueKind.FREE_PERIOD:
        # The free periods *are* the duration.
        if dk is not DurationKind.PERIODS:
            bad("duration_kind", "a free period discount must last a number of periods")
        elif d.duration_periods is not None and d.duration_periods != d.free_periods:
            bad("duration_periods", "duration periods must equal the free periods (or be empty)")
    elif dk is DurationKind.PERIODS and (d.duration_periods is None or d.duration_periods < 1):
        bad("duration_periods", "duration periods must be 1 or more for a discount lasting N periods")
    if dk is not DurationKind.PERIODS and d.duration_periods is not None:
        bad("duration_periods", f"duration periods must be empty for a '{_label(dk)}' duration")
    if dk is DurationKind.UNTIL_DATE:
        if d.duration_until is None:
            bad("duration_until", "an end date is required for a discount lasting until a date")
        elif d.duration_until < d.effective_date:
            bad("duration_until",
                f"duration end date must be on or after the effective date {format_date(d.effective_date)}")
    elif d.duration_until is not None:
        bad("duration_until", f"duration end date must be empty for a '{_label(dk)}' duration")

    # Caps and criteria.
    if d.max_applications is not None and d.max_applications < 1:
        bad("max_applications", "the cap on applications must be 1 or more (leave it empty for no cap)")
    if d.applications_window_months < 1:
        bad("applications_window_months", "the applications window must be 1 month or more")
    if d.approval is ApprovalMethod.MANUAL and not (d.approval_unit or "").strip():
        bad("approval_unit", "a manually approved discount needs the unit that approves it")
    if d.max_late_payments is not None and d.max_late_payments < 0:
        bad("max_late_payments", "max late payments must be 0 or more")
    if d.min_tenure_months is not None and d.min_tenure_months < 0:
        bad("min_tenure_months", "minimum tenure must be 0 months or more")
    if d.jobs_late_only and d.billing_frequency is not None:
        bad("billing_frequency", "a late-job discount applies to jobs, which have no billing frequency")
    if d.auto_apply and kind is ValueKind.AMOUNT_RANGE:
        bad("auto_apply", "an automatic discount needs a fixed value, not an amount range")

    # EDIFICE.
    if not (0 < d.multiplier <= 1):
        bad("multiplier", "multiplier must be more than 0 and at most 1")
    if kind is ValueKind.FREE_PERIOD and d.multiplier != 1:
        bad("multiplier", "a free period discount takes the whole charge: multiplier must be 1")
    if d.edifice_type is EdificeType.TERM:
        if d.term_days is None or d.term_days < 1:
            bad("term_days", "a term discount needs the number of days to pay (1 or more)")
    elif d.term_days is not None:
        bad("term_days", "term days are only used by term discounts")
    if kind is ValueKind.FREE_PERIOD and d.step_cap is not None:
        bad("step_cap", "a free period takes the whole charge: leave the step cap empty")
    if kind is ValueKind.FREE_PERIOD and d.edifice_type is not EdificeType.TRADE:
        bad("edifice_type", "a free period is deducted on the bill: use the trade type")
    return out


@dataclass(frozen=True)
class CustomerContext:
    """What eligibility needs to know about the caller."""

    segment: CustomerSegment
    card_segment: CardSegment
    late_payments_12m: int
    customer_since: date
    lifetime_value: Decimal  # customer value used for ranking (see eligibility.retention_budget)


@dataclass(frozen=True)
class BillingItem:
    """One billing item of a service. ``unit_price`` is per billing period (per job for one-off charges)."""

    item_id: ItemId
    product_code: str
    product_type: ProductType
    is_main: bool
    quantity: Decimal
    unit_price: Decimal
    description: str = ""


@dataclass(frozen=True)
class ServiceContext:
    """The subscription or job the call is about. ``billing_frequency is None`` means a job."""

    items: tuple[BillingItem, ...]
    billing_frequency: BillingFrequency | None
    expected_completion: date | None = None  # jobs only
    actual_completion: date | None = None  # jobs only

    @property
    def is_job(self) -> bool:
        return self.billing_frequency is None

    @property
    def is_late_job(self) -> bool:
        """A job whose actual completion date is later than the expected one (CRM.COM's job segment)."""
        return (self.is_job and self.expected_completion is not None
                and self.actual_completion is not None and self.actual_completion > self.expected_completion)


@dataclass(frozen=True)
class TicketContext:
    """What the ticket contributes to eligibility; services pass its fields to ``eligibility.evaluate``."""

    call_type: CallType
    today: date


@dataclass(frozen=True)
class PriorUsage:
    """One discount already given to this customer (counted against ``max_applications``)."""

    code: str
    applied_on: date


def matching_items(definition: DiscountDefinition, items: Iterable[BillingItem]) -> tuple[BillingItem, ...]:
    """Billing items the definition applies to by default: main service only, product types and codes."""
    return tuple(
        item for item in items
        if (not definition.main_service_only or item.is_main)
        and (not definition.product_types or item.product_type in definition.product_types)
        and (not definition.product_codes or item.product_code in definition.product_codes)
    )


__all__ = [
    "ApprovalMethod",
    "BillingFrequency",
    "BillingItem",
    "CallType",
    "CardSegment",
    "Channel",
    "CustomerContext",
    "CustomerSegment",
    "DiscountDefinition",
    "DurationKind",
    "EdificeType",
    "ItemId",
    "PriorUsage",
    "ProductType",
    "ServiceContext",
    "TicketContext",
    "ValueKind",
    "definition_problems",
    "matching_items",
]
