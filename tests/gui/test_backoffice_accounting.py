"""Accounting's approval screen against the real database: records, bill preview, approve, send back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from builders import add_subscription, make_customer, ticket_in_progress
from sqlalchemy import select

from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.db.models import BillingItemRecord, DiscountDefinition, Ticket
from agentdesk.domain.errors import PermissionDenied
from agentdesk.gui.backoffice import common, page_classes
from agentdesk.gui.backoffice.accounting_page import AccountingPage
from agentdesk.gui.backoffice.harness import make_context, open_page, wait_idle
from agentdesk.gui.context import AppContext
from agentdesk.services import accounting, approvals, offers
from agentdesk.services.dto import TicketSummary

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


def in_accounting(installer: Database, csr: Database, manager: Database, name: str,
                  amount: str = "20.00") -> TicketSummary:
    """A ticket whose ZX-SUB-RANGE discount a manager approved and the CSR confirmed."""
    customer = make_customer(installer, segment="gold", lifetime_value="4000.00", name=name)
    service = add_subscription(installer, customer, products=("FIBRE-500", "TV-SPORTS"))
    ticket = ticket_in_progress(csr, service)
    with installer.session() as s:
        definition_id = s.scalar(select(DiscountDefinition.id).where(DiscountDefinition.code == "ZX-SUB-RANGE"))
    offer = offers.make_offer(csr, ticket.id, ticket.version, int(definition_id), amount=Decimal(amount))
    discount = offers.accept_offer(csr, offer.id, "phone").discount
    approvals.approve_discount(manager, discount.id, discount.version)
    with installer.session() as s:
        version = s.get(Ticket, ticket.id).version  # type: ignore[union-attr]
    return approvals.confirm_assignment(csr, ticket.id, version)


def ticket_state(installer: Database, ticket_id: int) -> tuple[str, str | None]:
    with installer.session() as s:
        t = s.get(Ticket, ticket_id)
        assert t is not None
        return t.state, t.resolution


def test_only_accounting_gets_the_screen_and_the_database_agrees(installer, connect_as) -> None:  # type: ignore[no-untyped-def]
    assert AccountingPage not in page_classes("csr") and AccountingPage not in page_classes("manager")
    assert AccountingPage in page_classes("accounting")
    ticket = in_accounting(installer, connect_as("csr"), connect_as("manager"), "Petros Kyprianou")
    for who in ("csr", "manager"):
        with pytest.raises(PermissionDenied):
            accounting.accounting_approve(connect_as(who), ticket.id, ticket.version)
    assert ticket_state(installer, ticket.id) == ("accounting", None)


def test_records_and_bill_preview_then_approve(qtbot, installer, connect_as, context_as) -> None:  # type: ignore[no-untyped-def]
    ticket = in_accounting(installer, connect_as("csr"), connect_as("manager"), "Christina Loizou")
    page = open_page(qtbot, AccountingPage(context_as("accounting")), lambda p: p.tickets.rowCount() == 1)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.records.rowCount() == 1, timeout=15_000)
    cells = [page.records.data(page.records.index(0, c)) for c in range(page.records.columnCount())]
    # The patent's fields: description, frequency, cost, approved discount, discount frequency, % of cost.
    assert cells[0] == "Fibre 500 Mbit/s"
    assert cells[1] == "Monthly"
    assert cells[2] == "€ 44.90" and cells[3] == "€ 20.00"
    assert cells[4].startswith("monthly")
    assert cells[5] == "44.54 %"  # 20.00 / 44.90, half-up to two decimals
    qtbot.waitUntil(lambda: page.preview.model.rowCount() == 2, timeout=15_000)
    assert "Christina Loizou" in page.preview.title.text()
    assert "saving <b>€ 23.80</b>" in page.preview.totals.text()  # 20.00 off, plus its 19 % VAT

    page.approve_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=15_000)
    assert ticket.number in page.banner.text and page.tickets.rowCount() == 0
    assert ticket_state(installer, ticket.id) == ("closed", "retained")
    with installer.session() as s:
        stored = s.scalars(select(BillingItemRecord).where(BillingItemRecord.ticket_id == ticket.id)).all()
        assert [(r.approved_discount, r.discount_percent) for r in stored] == [(Decimal("20.00"), Decimal("44.5400"))]


def test_send_back_several_with_one_reason(qtbot, installer, connect_as, context_as, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    csr, manager = connect_as("csr"), connect_as("manager")
    first = in_accounting(installer, csr, manager, "Stella Antoniou")
    second = in_accounting(installer, csr, manager, "Marios Hadjis", amount="8.00")
    page = open_page(qtbot, AccountingPage(context_as("accounting")), lambda p: p.tickets.rowCount() == 2)
    page.table.selectAll()
    assert page.back_button.text() == "Send 2 back…"

    monkeypatch.setattr(common.ReasonDialog, "ask", classmethod(lambda cls, *a, **k: None))
    page.back_button.click()  # dialog closed: nothing happens
    wait_idle(qtbot, page)
    assert ticket_state(installer, first.id)[0] == "accounting"

    monkeypatch.setattr(common.ReasonDialog, "ask",
                        classmethod(lambda cls, *a, **k: "Discount starts before the contract renewal"))
    page.back_button.click()
    qtbot.waitUntil(lambda: page.banner.kind == "success" and not page.banner.isHidden(), timeout=15_000)
    assert "2 tickets sent back" in page.banner.text
    assert ticket_state(installer, first.id)[0] == "in_progress"
    assert ticket_state(installer, second.id)[0] == "in_progress"
    with pytest.raises(Exception, match="Say why"):
        accounting.send_back(connect_as("accounting"), first.id, 1, "  ")
