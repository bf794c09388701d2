"""The manager's approval pane against the real database.

Discounts are arranged the way people create them: a CSR opens, claims and verifies a ticket, makes an
offer and records the customer's acceptance, which leaves a manual discount Pending Approval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from builders import ServiceRef, add_subscription, make_customer, open_ticket, ticket_in_progress
from PySide6.QtCore import Qt
from sqlalchemy import select, text

from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.db.models import AdhocDiscount, DiscountDefinition
from agentdesk.domain.errors import PermissionDenied, ValidationError
from agentdesk.gui.backoffice import common, page_classes
from agentdesk.gui.backoffice.approvals_page import ApprovalsPage
from agentdesk.gui.backoffice.harness import make_context, open_page, wait_idle
from agentdesk.gui.context import AppContext
from agentdesk.services import approvals, intake, offers, queues
from agentdesk.services.offers import DiscountInfo

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


def definition_id(installer: Database, code: str) -> int:
    with installer.session() as s:
        return int(s.scalar(select(DiscountDefinition.id).where(DiscountDefinition.code == code,
                                                                DiscountDefinition.active)))


def gold_service(installer: Database, name: str) -> ServiceRef:
    customer = make_customer(installer, segment="gold", lifetime_value="4000.00", name=name)
    return add_subscription(installer, customer, products=("FIBRE-500", "TV-SPORTS"))


def pending_discount(installer: Database, agent: Database, service: ServiceRef, *, code: str = "ZX-SUB-RANGE",
                     amount: str | None = "20.00", by_manager: bool = False) -> DiscountInfo:
    """An accepted offer of a manually approved definition: its discount waits for a manager."""
    if by_manager:  # the manager takes the call himself: assigned to himself by himself
        ticket = queues.assign(agent, open_ticket(agent, service).id, agent.user)
        ticket = intake.verify_caller(agent, ticket.id, ticket.version, "pin")
    else:
        ticket = ticket_in_progress(agent, service)
    offer = offers.make_offer(agent, ticket.id, ticket.version, definition_id(installer, code),
                              amount=Decimal(amount) if amount else None)
    accepted = offers.accept_offer(agent, offer.id, "phone")
    assert accepted.discount.state == "pending_approval"
    return accepted.discount


def state_of(installer: Database, discount_id: int) -> str:
    with installer.session() as s:
        d = s.get(AdhocDiscount, discount_id)
        assert d is not None
        return d.state


def test_the_main_window_gets_the_pages_of_the_role(qtbot, context_as) -> None:  # type: ignore[no-untyped-def]
    from agentdesk.gui.pages import back_office_pages

    def titles(key: str) -> set[str]:
        built = back_office_pages(context_as(key))
        for page in built:
            qtbot.addWidget(page)  # deleted by Qt at teardown, as the main window would
        return {p.title for p in built}

    manager = titles("manager")
    assert {"Approvals", "Dashboard", "Discount definitions", "Routing rules"} <= manager
    assert not manager & {"Accounting queue", "Invoices", "Billing runs", "Company settings"}
    assert titles("accounting") == {"Accounting queue", "Invoices", "Billing runs"}
    assert titles("csr") == set()


def test_csr_is_not_offered_the_pane_and_the_database_refuses_anyway(installer, connect_as) -> None:  # type: ignore[no-untyped-def]
    assert ApprovalsPage not in page_classes("csr")
    assert ApprovalsPage not in page_classes("accounting")
    csr = connect_as("csr")
    discount = pending_discount(installer, connect_as("csr2"), gold_service(installer, "Eleni Georgiou"))
    with pytest.raises(PermissionDenied, match="Only a manager"):
        approvals.approve_discount(csr, discount.id, discount.version)
    assert state_of(installer, discount.id) == "pending_approval"


def test_pane_shows_cost_value_cap_csr_and_ticket_then_approves(qtbot, installer, connect_as, context_as) -> None:  # type: ignore[no-untyped-def]
    csr = connect_as("csr")
    discount = pending_discount(installer, csr, gold_service(installer, "Andreas Christou"))
    page = open_page(qtbot, ApprovalsPage(context_as("manager")), lambda p: p.model.rowCount() == 1)

    row = page.model.row(0)
    texts = [page.model.data(page.model.index(0, c)) for c in range(page.model.columnCount())]
    assert texts[0] == row.ticket_number and row.ticket_number.startswith("T-")
    assert texts[1] == "Andreas Christou" and texts[2] == "Gold"
    assert texts[3] == "€ 4,000.00"  # the customer's value
    assert texts[4] == "ZX-SUB-RANGE · 20.00/month"
    assert texts[5] == "€ 20.00"  # per period
    assert texts[6] == f"€ {row.total_cost:,.2f}" and row.total_cost == row.cost_per_period * row.periods > 0
    assert texts[7] == f"{row.cost_percent:.2f} %" and Decimal(0) < row.cost_percent < Decimal(100)
    assert texts[8] == "0 of 3"  # the definition's cap, none used yet
    assert texts[9] == csr.user
    assert f"× {row.periods} period" in page.model.data(page.model.index(0, 6), Qt.ItemDataRole.ToolTipRole)

    page.table.selectRow(0)
    assert "4,000.00" in page.detail_labels["customer"].text()
    assert page.approve_button.isEnabled()
    page.approve_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=15_000)
    assert "1 discount approved" in page.banner.text
    assert page.model.rowCount() == 0
    assert state_of(installer, discount.id) == "approved"


def test_own_discount_refused_with_the_four_eyes_message(qtbot, installer, connect_as, context_as) -> None:  # type: ignore[no-untyped-def]
    context = context_as("manager")
    own = pending_discount(installer, context.db, gold_service(installer, "Maria Ioannou"), by_manager=True)
    page = open_page(qtbot, ApprovalsPage(context), lambda p: p.model.rowCount() == 1)
    page.table.selectRow(0)
    assert "four-eyes" in page.own_note.text()
    page.approve_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "error" and not page.banner.isHidden(), timeout=15_000)
    assert "four-eyes rule" in page.banner.text
    assert state_of(installer, own.id) == "pending_approval"
    # Another manager of the unit may approve it.
    approvals.approve_discount(connect_as("manager2"), own.id, own.version)
    assert state_of(installer, own.id) == "approved"


def test_several_at_once_and_a_cap_used_meanwhile(qtbot, installer, connect_as, context_as) -> None:  # type: ignore[no-untyped-def]
    csr = connect_as("csr")
    customer = make_customer(installer, segment="gold", lifetime_value="4000.00", name="Nikos Demetriou")
    first = add_subscription(installer, customer, products=("FIBRE-100",))
    second = add_subscription(installer, customer, products=("FIBRE-500",))
    other = gold_service(installer, "Sofia Petrou")
    # RET-25PCT-12M may be given once in 24 months. Both offers are made before either is accepted (two
    # agents' calls at the same time), so two discounts wait; whichever is approved first uses the cap.
    made = []
    for service in (first, second):
        ticket = ticket_in_progress(csr, service)
        made.append(offers.make_offer(csr, ticket.id, ticket.version, definition_id(installer, "RET-25PCT-12M")))
    d1, d2 = (offers.accept_offer(csr, offer.id, "phone").discount for offer in made)
    d3 = pending_discount(installer, csr, other)
    page = open_page(qtbot, ApprovalsPage(context_as("manager")), lambda p: p.model.rowCount() == 3)

    page.table.selectAll()
    assert page.approve_button.text() == "Approve 3 selected"
    page.approve_button.click()
    qtbot.waitUntil(lambda: not page.banner.isHidden() and page.banner.kind == "warning", timeout=15_000)
    wait_idle(qtbot, page)
    assert "2 discounts approved" in page.banner.text
    assert "1 refused" in page.banner.text and "already used by this customer" in page.banner.text
    states = {d.id: state_of(installer, d.id) for d in (d1, d2, d3)}
    assert sorted(states.values()) == ["approved", "approved", "pending_approval"]
    assert page.model.rowCount() == 1  # the refused one stays to be cancelled


def test_cancel_needs_a_reason(qtbot, installer, connect_as, context_as, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    discount = pending_discount(installer, connect_as("csr"), gold_service(installer, "Georgia Nicolaou"))
    context = context_as("manager")
    page = open_page(qtbot, ApprovalsPage(context), lambda p: p.model.rowCount() == 1)
    page.table.selectRow(0)

    # The dialog's OK stays disabled until a reason is typed, and accept() refuses an empty one.
    dialog = common.ReasonDialog("Cancel discount", "Why?", page)
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    dialog.accept()
    assert dialog.result() == 0 and "reason is required" in dialog.note.text()
    dialog.edit.setPlainText("Customer already got a goodwill credit this quarter")
    assert dialog.ok_button.isEnabled()

    # The service refuses a blank reason; the database refuses one too if a caller bypasses the service.
    with pytest.raises(ValidationError, match="reason") as refused:
        approvals.cancel_discount(context.db, discount.id, discount.version, "   ")
    assert refused.value.field == "cancel_reason"
    with pytest.raises(ValidationError, match="Give a reason") as refused, context.db.session() as s:
        s.execute(text("UPDATE adhoc_discount SET state = 'cancelled', cancel_reason = ' ' WHERE id = :i"),
                  {"i": discount.id})
    assert refused.value.field == "cancel_reason"
    assert state_of(installer, discount.id) == "pending_approval"

    monkeypatch.setattr(common.ReasonDialog, "ask", classmethod(lambda cls, *a, **k: None))
    page.cancel_button.click()  # the manager closed the dialog: nothing happens
    assert state_of(installer, discount.id) == "pending_approval"

    monkeypatch.setattr(common.ReasonDialog, "ask", classmethod(lambda cls, *a, **k: "Duplicate of a credit"))
    page.cancel_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=15_000)
    assert "1 discount cancelled" in page.banner.text
    with installer.session() as s:
        d = s.get(AdhocDiscount, discount.id)
        assert d is not None and d.state == "cancelled" and d.cancel_reason == "Duplicate of a credit"
