"""Administration screens against the real database: company settings, routing rules, users and units.

Each test drives the real widgets (setText, click) and checks both what the screen says and what the
database holds afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.domain.errors import PermissionDenied, RuleViolation, ValidationError
from agentdesk.gui.backoffice import page_classes, pages
from agentdesk.gui.backoffice.harness import make_context
from agentdesk.gui.backoffice.routing_page import RoutingPage
from agentdesk.gui.backoffice.settings_page import SettingsPage
from agentdesk.gui.backoffice.users_page import UsersPage
from agentdesk.gui.context import AppContext
from agentdesk.services import routing as routing_service
from agentdesk.services import settings as settings_service
from agentdesk.services import users as user_service

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


def open_page(qtbot, page, ready: Callable[[Any], bool]):  # type: ignore[no-untyped-def]
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: ready(page), timeout=10_000)
    return page


def idle(qtbot, context: AppContext) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not context.runner.busy, timeout=10_000)


# -- which pages each role gets ---------------------------------------------------------------------------


def test_each_role_gets_its_own_pages(qtbot, context_as: Callable[[str], AppContext]) -> None:  # type: ignore[no-untyped-def]
    titles: dict[str, list[str]] = {}
    for key in ("csr", "manager", "accounting", "admin"):
        built = pages(context_as(key))
        for page in built:
            qtbot.addWidget(page)
        titles[key] = [p.title for p in built]
    assert titles["csr"] == []
    assert "Company settings" in titles["admin"] and "Users and units" in titles["admin"]
    assert "Company settings" not in titles["manager"] and "Users and units" not in titles["manager"]
    assert "Routing rules" in titles["manager"]
    assert "Routing rules" not in titles["accounting"]
    for cls in page_classes("csr"):
        pytest.fail(f"a CSR was offered {cls.__name__}")


# -- company settings -------------------------------------------------------------------------------------


def test_settings_validate_as_typed_and_save_everything_at_once(qtbot, context_as, installer) -> None:  # type: ignore[no-untyped-def]
    context = context_as("admin")
    page = open_page(qtbot, SettingsPage(context), lambda p: bool(p.edits["name"].text()))
    iban_error = page.validator._fields["iban"][1]
    assert not page.save_button.isEnabled()  # nothing changed yet

    page.edits["iban"].setText("CY18 0020 0128 0000 0012 0052 7600")  # one digit wrong
    assert "check digits" in iban_error.text() and iban_error.isVisibleTo(page)
    assert not page.save_button.isEnabled()
    page.edits["smtp_host"].setText("mail.zx-telecom.example")
    page.edits["smtp_port"].setText("")
    assert "SMTP port is required" in page.validator.messages["smtp_port"]
    page.edits["credit_note_series"].setText(page.edits["invoice_series"].text())
    assert "must differ" in page.validator.messages["credit_note_series"]

    page.edits["iban"].setText("CY17 0020 0128 0000 0012 0052 7600")
    page.edits["smtp_port"].setText("587")
    page.edits["credit_note_series"].setText("CN")
    page.edits["name"].setText("Company ZX Telecom Plc")
    page.tax_spins["TV-SPORTS"].setValue(9.0)
    assert page.validator.messages == {}
    assert page.save_button.isEnabled()
    page.save_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=10_000)

    saved = settings_service.get_settings(installer)
    assert saved.name == "Company ZX Telecom Plc"
    assert saved.smtp_host == "mail.zx-telecom.example" and saved.smtp_port == 587
    rates = {p.code: p.tax_rate for p in settings_service.list_products(installer)}
    assert rates["TV-SPORTS"] == Decimal("9.00") and rates["FIBRE-100"] == Decimal("19.00")


def test_settings_refused_for_a_manager_change_nothing(connect_as, installer) -> None:  # type: ignore[no-untyped-def]
    manager = connect_as("manager")
    before = settings_service.get_settings(manager)
    changed = type(before)(**{**before.__dict__, "name": "Hijacked Ltd"})
    with pytest.raises(PermissionDenied):
        settings_service.update_settings(manager, changed, tax_rates={"FIBRE-100": Decimal("5.00")})
    assert settings_service.get_settings(installer).name == before.name
    assert {p.code: p.tax_rate for p in settings_service.list_products(installer)}["FIBRE-100"] == Decimal("19.00")


def test_settings_service_names_the_field() -> None:
    base = settings_service.CompanySettingsData(
        name="X", address_line1="1 Road", address_line2=None, postal_code="1000", city="Nicosia", country="cy",
        vat_id="CY1", iban="CY17 0020 0128 0000 0012 0052 7600", bic=None, bank_name=None, phone=None,
        email="not-an-email", website=None, currency="EUR", invoice_series="INV", credit_note_series="CN",
        payment_terms_days=14, smtp_host=None, smtp_port=None, smtp_sender=None, offer_validity_days=0,
    )
    fields = {p.field: p.message for p in settings_service.settings_problems(base)}
    assert set(fields) == {"country", "email", "offer_validity_days"}
    assert "two-letter" in fields["country"]
    assert "between 1 and 365" in fields["offer_validity_days"]


# -- routing rules ----------------------------------------------------------------------------------------


def test_routing_rule_created_with_messages_for_each_mistake(qtbot, context_as, installer) -> None:  # type: ignore[no-untyped-def]
    context = context_as("manager")
    page = open_page(qtbot, RoutingPage(context), lambda p: p.model.rowCount() >= 5)
    assert not page.delete_button.isVisible()  # managers do not delete rules

    page.new_button.click()
    assert "Name is required" in page.validator.messages["name"]
    assert "Choose the unit" in page.validator.messages["unit_code"]
    assert not page.save_button.isEnabled()
    page.position.setValue(10)  # taken by the platinum rule
    assert "taken by" in page.validator.messages["position"]
    page.position.setValue(25)
    page.name.setText("Silver web cancellations")
    page.unit.setCurrentIndex(page.unit.findData("retention"))
    page.segment.setCurrentIndex(page.segment.findData("silver"))
    page.channel.setCurrentIndex(page.channel.findData("web"))
    page.min_value.setText("12.345")
    assert "2 decimals" in page.validator.messages["min_lifetime_value"]
    page.min_value.setText("100")
    page.priority.setValue(7)
    assert "1 (most urgent) to 5" in page.validator.messages["priority"]
    page.priority.setValue(2)
    assert page.validator.messages == {}
    page.save_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=10_000)

    rules = {r.position: r for r in routing_service.list_rules(installer)}
    assert rules[25].name == "Silver web cancellations"
    assert (rules[25].segment, rules[25].channel, rules[25].min_lifetime_value) == ("silver", "web", Decimal("100.00"))


def test_routing_delete_is_for_administrators(qtbot, context_as, connect_as, installer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rules = routing_service.list_rules(installer)
    late = next(r for r in rules if r.position == 40)
    with pytest.raises(PermissionDenied):
        routing_service.delete_rule(connect_as("manager"), late.id)

    context = context_as("admin")
    page = open_page(qtbot, RoutingPage(context), lambda p: p.model.rowCount() >= 5)
    row = next(i for i, r in enumerate(page.model.rows()) if r.id == late.id)
    page.table.selectRow(row)
    assert page.delete_button.isVisible() and page.delete_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.delete_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=10_000)
    assert late.id not in {r.id for r in routing_service.list_rules(installer)}


def test_the_last_catch_all_rule_cannot_be_deleted(connect_as, installer) -> None:  # type: ignore[no-untyped-def]
    catch_all = next(r for r in routing_service.list_rules(installer) if r.criteria_text() == "any call")
    with pytest.raises(RuleViolation, match="catches every call"):
        routing_service.delete_rule(connect_as("admin"), catch_all.id)


# -- users and units --------------------------------------------------------------------------------------


def test_add_user_with_units_then_disable(qtbot, context_as, installer, settings) -> None:  # type: ignore[no-untyped-def]
    context = context_as("admin")
    page = open_page(qtbot, UsersPage(context), lambda p: p.user_model.rowCount() >= 8)
    name = f"maria_{context.db.user.split('_')[-1]}"
    page.name.setText("Maria")  # capitals are refused
    assert "lower-case" in page.validator.messages["name"]
    page.name.setText(name)
    page.display_name.setText("Maria Kyriakou")
    page.role.setCurrentIndex(page.role.findData("csr"))
    assert "service queue" in page.validator.messages["units"]
    page.set_units(["retention"])
    page.password.setText("short")
    assert "at least 8" in page.validator.messages["password"]
    page.password.setText("long enough pass")
    page.confirm.setText("long enough pasS")
    assert "differ" in page.validator.messages["confirm"]
    page.confirm.setText("long enough pass")
    assert page.validator.messages == {} and page.add_button.isEnabled()
    page.add_button.click()
    qtbot.waitUntil(lambda: any(u.name == name for u in page.user_model.rows()), timeout=10_000)
    added = user_service.get_user(installer, name)
    assert (added.role, added.units, added.active) == ("csr", ("retention",), True)

    row = next(i for i, u in enumerate(page.user_model.rows()) if u.name == name)
    page.user_table.selectRow(row)
    assert page.toggle_button.text() == "Disable user"
    page.toggle_button.click()
    qtbot.waitUntil(lambda: not user_service.get_user(installer, name).active, timeout=10_000)
    idle(qtbot, context)
    assert page.toggle_button.text() == "Enable user"


def test_add_unit_and_refusal_for_duplicates(qtbot, context_as, installer) -> None:  # type: ignore[no-untyped-def]
    context = context_as("admin")
    page = open_page(qtbot, UsersPage(context), lambda p: p.unit_model.rowCount() >= 4)
    page.unit_code.setText("retention")
    assert "exists" in page.unit_validator.messages["code"]
    assert not page.unit_add.isEnabled()
    page.unit_code.setText("business_save")
    page.unit_name.setText("Business save team")
    page.unit_queue.setChecked(True)
    page.unit_add.click()
    qtbot.waitUntil(lambda: page.unit_model.rowCount() == 5, timeout=10_000)
    assert any(u.code == "business_save" and u.is_service_queue for u in routing_service.list_units(installer))
    with pytest.raises(ValidationError):
        routing_service.create_unit(installer, "business_save", "Again", is_service_queue=False)


def test_change_an_existing_users_role_and_units(qtbot, context_as, installer, test_users) -> None:  # type: ignore[no-untyped-def]
    from agentdesk.gui.backoffice.users_page import UserChangeDialog

    context = context_as("admin")
    # A login of this test's own: roles are cluster-wide, so changing a shared test role would leak.
    name = f"promoted_{test_users['admin'].name.split('_')[-1]}"
    user_service.add_user(installer, name, role="csr", password="long enough pass", units=("retention",))
    page = open_page(qtbot, UsersPage(context), lambda p: p.user_model.rowCount() >= 9)
    row = next(i for i, u in enumerate(page.user_model.rows()) if u.name == name)
    page.user_table.selectRow(row)
    assert page.change_button.isEnabled()

    dialog = UserChangeDialog(page.user_model.row(row), page.units, page)
    qtbot.addWidget(dialog)
    dialog.role.setCurrentIndex(dialog.role.findData("manager"))
    assert dialog.chosen() == ("manager", ("retention",))  # units preselected from the user
    page.apply_user_change(page.user_model.row(row), *dialog.chosen())
    qtbot.waitUntil(lambda: user_service.get_user(installer, name).role == "manager", timeout=10_000)
    idle(qtbot, context)
    assert page.banner.kind == "success" and "is now" in page.banner.text
