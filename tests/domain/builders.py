"""Test builders: the three CRM.COM scenarios (moved to 2026) and small context factories."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from agentdesk.domain.discounts import (
    ApprovalMethod,
    BillingFrequency,
    BillingItem,
    CardSegment,
    CustomerContext,
    CustomerSegment,
    DiscountDefinition,
    DurationKind,
    ProductType,
    ServiceContext,
    ValueKind,
)

D = Decimal
CARE = "Customer Care managers"
START_2026 = date(2026, 1, 1)
END_2026 = date(2026, 12, 31)


def scenario1() -> DiscountDefinition:
    """Scenario 1: ad hoc subscription discount, 5-20 per month, 3 per year, monthly only, main service only,
    valid and lasting until 31/12/2026, approved manually by Customer Care managers."""
    return DiscountDefinition(
        id=1, code="ZX-SUB-RANGE", name="Serious complaint credit (monthly)",
        value_kind=ValueKind.AMOUNT_RANGE, amount_min=D("5.00"), amount_max=D("20.00"),
        billing_frequency=BillingFrequency.MONTHLY,
        effective_date=START_2026, expiration_date=END_2026,
        duration_kind=DurationKind.UNTIL_DATE, duration_until=END_2026,
        max_applications=3, applications_window_months=12,
        approval=ApprovalMethod.MANUAL, approval_unit=CARE,
        product_types=frozenset({ProductType.SUBSCRIPTION_PACKAGE}), main_service_only=True,
    )


def scenario2() -> DiscountDefinition:
    """Scenario 2: ad hoc job discount, 50 % of the installation service fee for late jobs, manual."""
    return DiscountDefinition(
        id=2, code="ZX-JOB-50", name="Late installation 50%",
        value_kind=ValueKind.PERCENTAGE, percentage=D("50"),
        effective_date=START_2026, expiration_date=END_2026, duration_kind=DurationKind.ONCE,
        approval=ApprovalMethod.MANUAL, approval_unit=CARE,
        product_codes=frozenset({"INSTALL"}), jobs_late_only=True,
    )


def scenario3() -> DiscountDefinition:
    """Scenario 3: automatic 20 EUR off the installation service fee for late jobs."""
    return DiscountDefinition(
        id=3, code="ZX-JOB-AUTO20", name="Late installation 20 EUR",
        value_kind=ValueKind.AMOUNT, amount=D("20.00"),
        effective_date=START_2026, expiration_date=END_2026, duration_kind=DurationKind.ONCE,
        approval=ApprovalMethod.AUTOMATIC, auto_apply=True,
        product_codes=frozenset({"INSTALL"}), jobs_late_only=True,
    )


def definition(**overrides: Any) -> DiscountDefinition:
    """A plain valid 10 % discount open to everyone, with overrides."""
    base = DiscountDefinition(
        id=99, code="PLAIN10", name="Plain 10%", value_kind=ValueKind.PERCENTAGE, percentage=D("10"),
        effective_date=START_2026,
    )
    return replace(base, **overrides)


def customer(segment: CustomerSegment = CustomerSegment.GOLD, *, value: str = "1200.00",
             card: CardSegment = CardSegment.STANDARD, late: int = 0,
             since: date = date(2020, 5, 1)) -> CustomerContext:
    return CustomerContext(segment=segment, card_segment=card, late_payments_12m=late, customer_since=since,
                           lifetime_value=D(value))


MAIN = BillingItem("sub-main", "TV-BASIC", ProductType.SUBSCRIPTION_PACKAGE, True, D(1), D("45.00"),
                   "Basic TV package")
ADDON = BillingItem("sub-sports", "TV-SPORTS", ProductType.ADD_ON, False, D(1), D("10.00"), "Sports add-on")
EXTRA_PACKAGE = BillingItem("sub-second", "TV-KIDS", ProductType.SUBSCRIPTION_PACKAGE, False, D(1),
                            D("8.00"), "Kids package")
INSTALL = BillingItem("job-install", "INSTALL", ProductType.INSTALLATION_FEE, False, D(1), D("80.00"),
                      "Installation Service fee")
DISH = BillingItem("job-dish", "DISH", ProductType.ONE_OFF_FEE, False, D(1), D("120.00"), "Satellite dish")


def subscription(frequency: BillingFrequency = BillingFrequency.MONTHLY,
                 items: tuple[BillingItem, ...] = (MAIN, ADDON, EXTRA_PACKAGE)) -> ServiceContext:
    return ServiceContext(items=items, billing_frequency=frequency)


def job(expected: date | None = date(2026, 2, 14), actual: date | None = date(2026, 2, 20),
        items: tuple[BillingItem, ...] = (INSTALL, DISH)) -> ServiceContext:
    return ServiceContext(items=items, billing_frequency=None, expected_completion=expected,
                          actual_completion=actual)
