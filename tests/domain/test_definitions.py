"""Discount definitions: enums and the invariants checked by validate()/problems()."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from agentdesk.domain.discounts import (
    ApprovalMethod,
    BillingFrequency,
    DurationKind,
    EdificeType,
    ValueKind,
    matching_items,
)
from agentdesk.domain.errors import ValidationError

from .builders import ADDON, EXTRA_PACKAGE, INSTALL, MAIN, definition, scenario1, scenario2, scenario3


def test_enum_values_are_the_database_strings() -> None:
    assert [v.value for v in ValueKind] == ["percentage", "amount", "amount_range", "free_period"]
    assert EdificeType.CUMULATIVE_TERM.value == "cumulative_term"
    assert ValueKind("amount_range") is ValueKind.AMOUNT_RANGE
    assert str(DurationKind.UNTIL_DATE) == "until_date"


@pytest.mark.parametrize(("freq", "months", "per_year"), [
    (BillingFrequency.MONTHLY, 1, 12), (BillingFrequency.QUARTERLY, 3, 4), (BillingFrequency.ANNUAL, 12, 1),
])
def test_billing_frequency_lengths(freq: BillingFrequency, months: int, per_year: int) -> None:
    assert freq.months == months and freq.periods_per_year == per_year


def test_the_scenario_definitions_are_valid() -> None:
    for d in (scenario1(), scenario2(), scenario3(), definition()):
        assert d.problems() == []
        d.validate()


def _fields(**overrides: Any) -> set[str]:
    return {p.field for p in definition(**overrides).problems()}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"code": " "}, "code"),
    ({"name": ""}, "name"),
    ({"version": 0}, "version"),
    ({"expiration_date": date(2025, 12, 31)}, "expiration_date"),
    ({"percentage": D(0)}, "percentage"),
    ({"percentage": D("100.01")}, "percentage"),
    ({"percentage": None}, "percentage"),
    ({"amount": D(5)}, "amount"),  # not used by a percentage discount
    ({"value_kind": ValueKind.AMOUNT, "percentage": None}, "amount"),
    ({"value_kind": ValueKind.AMOUNT, "percentage": None, "amount": D("-1")}, "amount"),
    ({"value_kind": ValueKind.AMOUNT, "percentage": None, "amount": D("1.005")}, "amount"),
    ({"value_kind": ValueKind.AMOUNT_RANGE, "percentage": None, "amount_min": D(5)}, "amount_max"),
    ({"value_kind": ValueKind.AMOUNT_RANGE, "percentage": None, "amount_min": D(21), "amount_max": D(20)},
     "amount_max"),
    ({"value_kind": ValueKind.FREE_PERIOD, "percentage": None, "duration_kind": DurationKind.PERIODS},
     "free_periods"),
    ({"value_kind": ValueKind.FREE_PERIOD, "percentage": None, "free_periods": 0,
      "duration_kind": DurationKind.PERIODS}, "free_periods"),
    ({"value_kind": ValueKind.FREE_PERIOD, "percentage": None, "free_periods": 2}, "duration_kind"),
    ({"value_kind": ValueKind.FREE_PERIOD, "percentage": None, "free_periods": 2,
      "duration_kind": DurationKind.PERIODS, "duration_periods": 3}, "duration_periods"),
    ({"value_kind": ValueKind.FREE_PERIOD, "percentage": None, "free_periods": 2,
      "duration_kind": DurationKind.PERIODS, "multiplier": D("0.5")}, "multiplier"),
    ({"value_kind": ValueKind.FREE_PERIOD, "percentage": None, "free_periods": 2,
      "duration_kind": DurationKind.PERIODS, "edifice_type": EdificeType.CUMULATIVE_TERM}, "edifice_type"),
    ({"value_kind": ValueKind.FREE_PERIOD, "percentage": None, "free_periods": 2,
      "duration_kind": DurationKind.PERIODS, "step_cap": D(5)}, "step_cap"),
    ({"duration_kind": DurationKind.PERIODS}, "duration_periods"),
    ({"duration_kind": DurationKind.PERIODS, "duration_periods": 0}, "duration_periods"),
    ({"duration_periods": 3}, "duration_periods"),
    ({"duration_kind": DurationKind.UNTIL_DATE}, "duration_until"),
    ({"duration_kind": DurationKind.UNTIL_DATE, "duration_until": date(2025, 6, 1)}, "duration_until"),
    ({"duration_until": date(2026, 6, 1)}, "duration_until"),
    ({"max_applications": 0}, "max_applications"),
    ({"applications_window_months": 0}, "applications_window_months"),
    ({"approval": ApprovalMethod.MANUAL}, "approval_unit"),
    ({"max_late_payments": -1}, "max_late_payments"),
    ({"min_tenure_months": -1}, "min_tenure_months"),
    ({"jobs_late_only": True, "billing_frequency": BillingFrequency.MONTHLY}, "billing_frequency"),
    ({"value_kind": ValueKind.AMOUNT_RANGE, "percentage": None, "amount_min": D(5), "amount_max": D(20),
      "auto_apply": True}, "auto_apply"),
    ({"multiplier": D(0)}, "multiplier"),
    ({"multiplier": D("1.5")}, "multiplier"),
    ({"step_cap": D(0)}, "step_cap"),
    ({"edifice_type": EdificeType.TERM}, "term_days"),
    ({"edifice_type": EdificeType.TERM, "term_days": 0}, "term_days"),
    ({"term_days": 10}, "term_days"),
])
def test_each_invariant_is_reported_on_its_field(overrides: dict[str, Any], field: str) -> None:
    assert field in _fields(**overrides)


def test_validate_raises_the_first_problem_with_a_readable_message() -> None:
    bad = replace(scenario1(), amount_min=D(25))
    with pytest.raises(ValidationError) as info:
        bad.validate()
    assert info.value.field == "amount_max"
    assert str(info.value) == "amount max must be at least the minimum 25.00"


def test_expiration_message_names_the_effective_date() -> None:
    problems = definition(expiration_date=date(2025, 1, 1)).problems()
    assert [str(p) for p in problems] == ["expiration date must be after the effective date 01/01/2026"]


def test_several_problems_are_all_reported() -> None:
    assert _fields(code="", percentage=D(0), max_applications=0) == {"code", "percentage", "max_applications"}


def test_valid_edge_values_are_accepted() -> None:
    assert definition(percentage=D(100), expiration_date=date(2026, 1, 2)).problems() == []
    assert definition(edifice_type=EdificeType.TERM, term_days=15, multiplier=D("0.10"),
                      step_cap=D("5.00")).problems() == []


def test_matching_items_applies_main_service_and_product_criteria() -> None:
    items = (MAIN, ADDON, EXTRA_PACKAGE, INSTALL)
    assert matching_items(scenario1(), items) == (MAIN,)
    assert matching_items(replace(scenario1(), main_service_only=False), items) == (MAIN, EXTRA_PACKAGE)
    assert matching_items(scenario2(), items) == (INSTALL,)
    assert matching_items(definition(), items) == items


def test_expiration_on_the_effective_date_is_refused_like_the_database_does() -> None:
    problems = definition(expiration_date=date(2026, 1, 1)).problems()
    assert [p.field for p in problems] == ["expiration_date"]
