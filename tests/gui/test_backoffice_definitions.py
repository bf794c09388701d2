"""The discount definitions editor against the real database: messages as the user types, versioning."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from builders import add_subscription, make_customer, ticket_in_progress
from PySide6.QtCore import QDate

from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.gui.backoffice.definitions_page import DefinitionsPage, parse_number
from agentdesk.gui.backoffice.harness import make_context, open_page, wait_idle
from agentdesk.gui.context import AppContext
from agentdesk.services import definitions, offers

pytestmark = pytest.mark.gui


@pytest.fixture
def context_as(connect_as: Callable[[str], Database], settings: Settings, qapp: object) -> Iterator[Callable[[str], AppContext]]:
    made: list[AppContext] = []

    def make(key: str) -> AppContext:
        context = make_context(settings, connect_as(key))
        made.append(context)
        return context

    yield make
    for context in made:
        context.runner.wait_for_done(10_000)


def select_code(page: DefinitionsPage, code: str) -> None:
    row = next(i for i, info in enumerate(page.model.rows()) if info.code == code)
    page.table.selectRow(row)


def test_parse_number_names_field_and_fix() -> None:
    assert parse_number("amount", " 20,5 ") == (Decimal("20.5"), None)
    value, problem = parse_number("max_applications", "three")
    assert value is None and problem is not None
    assert problem.field == "max_applications" and "whole number" in problem.message
    _, problem = parse_number("step_cap", "1.234")
    assert problem is not None and "2 decimals" in problem.message


def test_every_mistake_is_named_as_the_user_types(qtbot, context_as) -> None:  # type: ignore[no-untyped-def]
    page = open_page(qtbot, DefinitionsPage(context_as("manager")), lambda p: p.model.rowCount() >= 10)
    page.new_button.click()
    messages = page.validator.messages
    assert "Code is required" in messages["code"] and "Name is required" in messages["name"]
    assert not page.save_button.isEnabled()

    page.inputs["code"].setText("RET-TEST")
    page.inputs["name"].setText("Test offer")
    page.inputs["percentage"].setText("150")
    assert "at most 100" in page.validator.messages["percentage"]
    page.inputs["percentage"].setText("-5")
    assert "more than 0" in page.validator.messages["percentage"]
    page.inputs["percentage"].setText("abc")
    assert "must be a number" in page.validator.messages["percentage"]
    page.inputs["percentage"].setText("10")

    page.inputs["effective_date"].setDate(QDate(2026, 6, 1))
    page.inputs["expiration_date"].setDate(QDate(2026, 5, 1))
    assert "must be after the effective date 01/06/2026" in page.validator.messages["expiration_date"]
    page.inputs["expiration_date"].setDate(QDate(2026, 12, 31))

    page.inputs["max_applications"].setText("0")
    assert "1 or more" in page.validator.messages["max_applications"]
    page.inputs["max_applications"].setText("2")

    page.inputs["value_kind"].setCurrentIndex(page.inputs["value_kind"].findData(page.inputs["value_kind"].itemData(2)))
    assert "amount min is required" in page.validator.messages["amount_min"].lower()
    page.inputs["amount_min"].setText("-1")
    page.inputs["amount_max"].setText("0.5")
    assert "positive amount" in page.validator.messages["amount_min"]
    page.inputs["amount_min"].setText("5")
    page.inputs["amount_max"].setText("4")
    assert "at least the minimum 5.00" in page.validator.messages["amount_max"]
    page.inputs["amount_max"].setText("15")

    page.inputs["approval"].setCurrentIndex(1)  # manual, but no unit chosen
    assert "needs the unit" in page.validator.messages["approval_unit"]
    page.inputs["approval_unit"].setCurrentIndex(page.inputs["approval_unit"].findData("customer_care_managers"))

    page.inputs["edifice_type"].setCurrentIndex(1)  # term without days to pay
    assert "days to pay" in page.validator.messages["term_days"]
    page.inputs["term_days"].setText("10")
    assert page.validator.messages == {}
    assert page.save_button.isEnabled() and page.save_button.text() == "Create definition"
    page.save_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=15_000)
    created = next(i for i in definitions.list_definitions(page.db) if i.code == "RET-TEST")
    d = created.definition
    assert (d.amount_min, d.amount_max, d.max_applications, d.term_days) == (Decimal("5.00"), Decimal("15.00"), 2, 10)
    assert d.percentage is None  # fields of other kinds are not sent


def test_a_used_definition_is_versioned_never_changed(qtbot, installer, connect_as, context_as) -> None:  # type: ignore[no-untyped-def]
    csr = connect_as("csr")
    service = add_subscription(installer, make_customer(installer, segment="gold", lifetime_value="4000.00"))
    ticket = ticket_in_progress(csr, service)
    used = next(i for i in definitions.list_definitions(installer) if i.code == "ZX-SUB-RANGE")
    offer = offers.make_offer(csr, ticket.id, ticket.version, used.id, amount=Decimal("12.00"))

    page = open_page(qtbot, DefinitionsPage(context_as("manager")), lambda p: p.model.rowCount() >= 10)
    select_code(page, "ZX-SUB-RANGE")
    assert "saving creates version 2" in page.mode_label.text()
    assert page.save_button.text() == "Save as version 2"
    assert not page.save_button.isEnabled()  # nothing changed yet
    page.inputs["amount_max"].setText("25.00")
    assert page.save_button.isEnabled()
    page.save_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=15_000)
    wait_idle(qtbot, page)
    assert "version 2 saved" in page.banner.text

    history = definitions.definition_history(installer, "ZX-SUB-RANGE")
    assert [(h.version, h.active, h.definition.amount_max) for h in history] == [
        (1, False, Decimal("20.00")), (2, True, Decimal("25.00"))]
    assert offers.get_offer(installer, offer.id).definition_id == used.id  # the offer keeps version 1


def test_an_unused_definition_is_corrected_in_place(qtbot, installer, context_as) -> None:  # type: ignore[no-untyped-def]
    page = open_page(qtbot, DefinitionsPage(context_as("admin")), lambda p: p.model.rowCount() >= 10)
    select_code(page, "EDI-TRADE-5")
    assert "not been used" in page.mode_label.text() and page.save_button.text() == "Save changes"
    page.inputs["step_cap"].setText("12.50")
    page.save_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=15_000)
    history = definitions.definition_history(installer, "EDI-TRADE-5")
    assert [(h.version, h.definition.step_cap) for h in history] == [(1, Decimal("12.50"))]


def test_csr_cannot_change_definitions(installer, connect_as) -> None:  # type: ignore[no-untyped-def]
    from agentdesk.domain.errors import PermissionDenied

    target = next(i for i in definitions.list_definitions(installer) if i.code == "EDI-TRADE-5")
    with pytest.raises(PermissionDenied):
        definitions.save_changes(connect_as("csr"), target.id, step_cap=Decimal("1.00"))
    assert DefinitionsPage.roles == frozenset({"manager", "admin"})
