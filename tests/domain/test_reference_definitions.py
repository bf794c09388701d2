"""The shipped reference definitions must pass the same validation as definitions typed in the editor."""

from __future__ import annotations

import datetime as dt

import pytest

from agentdesk.demo.reference import discount_definitions
from agentdesk.domain.discounts import (
    ApprovalMethod,
    CallType,
    CustomerSegment,
    DiscountDefinition,
    DurationKind,
    EdificeType,
    ProductType,
    ValueKind,
)

ENUM_FIELDS = {"value_kind": ValueKind, "duration_kind": DurationKind, "approval": ApprovalMethod,
               "edifice_type": EdificeType}
SET_FIELDS = {"product_types": ProductType, "customer_segments": CustomerSegment, "call_types": CallType}


def as_domain(spec: dict[str, object]) -> DiscountDefinition:
    fields = {k: v for k, v in spec.items() if k not in ("description", "applications_window_months")}
    for name, enum in ENUM_FIELDS.items():
        if name in fields:
            fields[name] = enum(fields[name])
    for name, enum in SET_FIELDS.items():
        if name in fields:
            fields[name] = frozenset(enum(v) for v in fields[name])  # type: ignore[attr-defined]
    if "product_codes" in fields:
        fields["product_codes"] = frozenset(fields["product_codes"])  # type: ignore[arg-type]
    return DiscountDefinition(applications_window_months=spec.get("applications_window_months", 12), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", discount_definitions(dt.date(2026, 11, 22)), ids=lambda s: str(s["code"]))
def test_reference_definition_is_valid(spec: dict[str, object]) -> None:
    assert as_domain(spec).problems() == []


def test_crm_scenario_one_has_the_seeds_numbers() -> None:
    spec = {s["code"]: s for s in discount_definitions(dt.date(2026, 3, 1))}["ZX-SUB-RANGE"]
    assert (str(spec["amount_min"]), str(spec["amount_max"])) == ("5.00", "20.00")
    assert spec["max_applications"] == 3 and spec["applications_window_months"] == 12
    assert spec["duration_until"] == dt.date(2026, 12, 31) and spec["billing_frequency"] == "monthly"
    assert spec["main_service_only"] is True and spec["approval_unit"] == "customer_care_managers"
