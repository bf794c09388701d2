"""Discount definitions: validated by the domain before saving; once offered, never edited - a change is a
new version and old offers keep the terms they were made under (the database refuses the edit too)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text

from agentdesk.domain.discounts import (
    ApprovalMethod,
    DiscountDefinition,
    DurationKind,
    ProductType,
    ValueKind,
)
from agentdesk.domain.errors import PermissionDenied, RuleViolation, ValidationError
from agentdesk.services import definitions, offers
from agentdesk.services.eligibility import eligibility_for_ticket

from .offer_helpers import (
    definition_id,
    renewed_rules,  # noqa: F401  (autouse: December renews the year's rules)
    subscription_ticket,
)

D = Decimal


def _new(**overrides) -> DiscountDefinition:
    base = DiscountDefinition(
        code="RET-TEST-10", name="Test 10% for 3 months", value_kind=ValueKind.PERCENTAGE,
        percentage=D("10.00"), effective_date=dt.date.today().replace(month=1, day=1),
        duration_kind=DurationKind.PERIODS, duration_periods=3,
        approval=ApprovalMethod.MANUAL, approval_unit="customer_care_managers",
        product_types=frozenset({ProductType.SUBSCRIPTION_PACKAGE}), main_service_only=True,
    )
    return dataclasses.replace(base, **overrides)


def test_create_validates_with_the_domain_rules(connect_as):
    manager = connect_as("manager")
    with pytest.raises(ValidationError, match="percentage must be more than 0 and at most 100") as err:
        definitions.create_definition(manager, _new(percentage=D("150")))
    assert err.value.field == "percentage"
    with pytest.raises(ValidationError, match="needs the unit") as err:
        definitions.create_definition(manager, _new(approval_unit=None))
    with pytest.raises(ValidationError, match="no unit 'nowhere'"):
        definitions.create_definition(manager, _new(approval_unit="nowhere"))
    with pytest.raises(ValidationError, match="exists: save a new version"):
        definitions.create_definition(manager, _new(code="ZX-SUB-RANGE"))

    created = definitions.create_definition(manager, _new(approval_unit="Customer Care managers"),
                                            description="For the test")
    assert (created.code, created.version, created.active, created.in_use) == ("RET-TEST-10", 1, True, False)
    assert created.approval_unit_name == "Customer Care managers"
    assert created.definition.approval_unit == "customer_care_managers" and created.description == "For the test"
    assert definitions.get_definition(manager, created.id) == created


def test_a_csr_cannot_keep_definitions(connect_as):
    with pytest.raises(PermissionDenied):
        definitions.create_definition(connect_as("csr"), _new())


def test_an_unused_definition_is_corrected_in_place(connect_as):
    manager = connect_as("manager")
    created = definitions.create_definition(manager, _new())
    fixed = definitions.save_changes(manager, created.id, percentage=D("12.50"), name="Test 12.5%")
    assert (fixed.id, fixed.version, fixed.definition.percentage, fixed.definition.name) == (
        created.id, 1, D("12.50"), "Test 12.5%")


def test_a_used_definition_gets_a_new_version_and_old_offers_keep_theirs(installer, connect_as):
    csr, manager = connect_as("csr"), connect_as("manager")
    _service, ticket = subscription_ticket(installer, csr)
    v1 = definition_id(csr, "ZX-SUB-RANGE")
    offer = offers.make_offer(csr, ticket.id, ticket.version, v1, amount=D("20.00"))

    # The database refuses to edit a used definition, whoever asks.
    with pytest.raises(RuleViolation, match="has been used: save a new version"), manager.session() as s:
        s.execute(text("UPDATE discount_definition SET amount_max = 25 WHERE id = :i"), {"i": v1})
    with pytest.raises(ValidationError, match="amount max must be at least"):
        definitions.save_changes(manager, v1, amount_max=D("4.00"))

    v2 = definitions.save_changes(manager, v1, amount_max=D("25.00"))

    assert (v2.code, v2.version, v2.definition.amount_max, v2.active) == ("ZX-SUB-RANGE", 2, D("25.00"), True)
    assert v2.id != v1 and not definitions.get_definition(manager, v1).active
    history = definitions.definition_history(manager, "ZX-SUB-RANGE")
    assert [(h.version, h.active) for h in history] == [(1, False), (2, True)]
    kept = offers.get_offer(csr, offer.id)
    assert kept.definition_id == v1 and kept.terms["definition"]["version"] == 1 and offers.verify_terms(kept)
    rng = next(s for s in eligibility_for_ticket(csr, ticket.id) if s.code == "ZX-SUB-RANGE")
    assert (rng.version, rng.amount_max) == (2, D("25.00"))
    with pytest.raises(RuleViolation, match="has a newer version"):
        definitions.new_version(manager, v1, amount_max=D("30.00"))
    with pytest.raises(ValidationError, match="code names every version"):
        definitions.new_version(manager, v2.id, code="OTHER")


def test_deactivating_is_allowed_even_once_used(installer, connect_as):
    csr, manager = connect_as("csr"), connect_as("manager")
    _service, ticket = subscription_ticket(installer, csr)
    used = definition_id(csr, "ZX-SUB-RANGE")
    offers.make_offer(csr, ticket.id, ticket.version, used, amount=D("20.00"))
    off = definitions.set_definition_active(manager, used, False)
    assert not off.active and off.in_use
    assert "ZX-SUB-RANGE" not in {d.code for d in definitions.list_definitions(manager)}
    assert "ZX-SUB-RANGE" in {d.code for d in definitions.list_definitions(manager, include_inactive=True)}
