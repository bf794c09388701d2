"""The manager dashboard against the real database: every figure arranged through the real workflow.

Three customers call. Two are saved with a 20.00 a month credit (manager approval, accounting approval);
one of them calls again the same day and leaves anyway (a lost save); the third leaves at once. Next month
is billed, so the credit of the one still with us is a billed discount cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from builders import ServiceRef, add_subscription, make_customer, ticket_in_progress
from PySide6.QtCharts import QAbstractBarSeries
from PySide6.QtCore import QDate
from sqlalchemy import select

from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.db.models import DiscountDefinition, Ticket
from agentdesk.gui.backoffice import page_classes
from agentdesk.gui.backoffice.dashboard_page import DashboardPage
from agentdesk.gui.backoffice.harness import make_context, open_page
from agentdesk.gui.context import AppContext
from agentdesk.services import accounting, approvals, billing, offers
from agentdesk.services import dashboard as dashboard_service

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
        context.runner.wait_for_done(20_000)


def _version(installer: Database, ticket_id: int) -> int:
    with installer.session() as s:
        return s.get(Ticket, ticket_id).version  # type: ignore[union-attr]


def saved(installer: Database, csr: Database, manager: Database, acct: Database, service: ServiceRef) -> None:
    ticket = ticket_in_progress(csr, service)
    with installer.session() as s:
        definition_id = int(s.scalar(select(DiscountDefinition.id).where(DiscountDefinition.code == "ZX-SUB-RANGE")))
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id, amount=Decimal("20.00"))
    discount = offers.accept_offer(csr, offer.id, "phone").discount
    approvals.approve_discount(manager, discount.id, discount.version)
    approvals.confirm_assignment(csr, ticket.id, _version(installer, ticket.id))
    accounting.accounting_approve(acct, ticket.id, _version(installer, ticket.id))


def cancelled(csr: Database, service: ServiceRef) -> None:
    ticket = ticket_in_progress(csr, service)
    offers.proceed_with_cancellation(csr, ticket.id, ticket.version)


def months(today: dt.date) -> tuple[dt.date, dt.date, str]:
    start = today.replace(day=1)
    nxt = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    end = dt.date(nxt.year + (nxt.month == 12), nxt.month % 12 + 1, 1)
    return start, end, nxt.strftime("%Y-%m")


@pytest.fixture
def history(installer: Database, connect_as: Callable[[str], Database]) -> tuple[dt.date, dt.date]:
    csr, manager, acct = connect_as("csr"), connect_as("manager"), connect_as("accounting")
    stays = add_subscription(installer, make_customer(installer, segment="gold", lifetime_value="4000.00",
                                                      name="Loyal Lefteris"))
    leaves_later = add_subscription(installer, make_customer(installer, segment="gold", lifetime_value="3000.00",
                                                             name="Fickle Froso"))
    leaves_now = add_subscription(installer, make_customer(installer, name="Gone Giorgos"))
    saved(installer, csr, manager, acct, stays)
    saved(installer, csr, manager, acct, leaves_later)
    cancelled(csr, leaves_later)  # saved this morning, gone this afternoon
    cancelled(csr, leaves_now)
    start, end, next_month = months(dt.date.today())
    billing.run_period(acct, next_month)
    return start, end


def test_dashboard_figures(history, connect_as, test_users) -> None:  # type: ignore[no-untyped-def]
    start, end = history
    data = dashboard_service.dashboard(connect_as("manager"), start, end)
    this_month, next_month = data.outcomes
    assert (this_month.saved, this_month.cancelled, this_month.save_rate) == (2, 2, Decimal("50.00"))
    assert (next_month.saved, next_month.cancelled) == (0, 0)
    [offered] = data.offers
    assert (offered.code, offered.made, offered.accepted, offered.acceptance_rate) == ("ZX-SUB-RANGE", 2, 2,
                                                                                       Decimal("100.00"))
    cost_now, cost_next = data.costs
    assert (cost_now.billed, cost_now.approved) == (Decimal("0.00"), 2)
    assert (cost_next.billed, cost_next.applications) == (Decimal("20.00"), 1)  # only the customer who stayed
    [lost] = data.lost_saves
    assert (lost.customer, lost.days_after, lost.discounts) == ("Fickle Froso", 0, "ZX-SUB-RANGE")
    [agent] = data.agents
    assert agent.agent == test_users["csr"].name
    assert (agent.closed, agent.saved, agent.cancelled, agent.discounts_given, agent.lost_saves) == (4, 2, 2, 2, 1)


def test_dashboard_page_charts_and_tables(qtbot, history, context_as) -> None:  # type: ignore[no-untyped-def]
    assert DashboardPage not in page_classes("csr") and DashboardPage not in page_classes("accounting")
    start, end = history
    page = DashboardPage(context_as("manager"))
    page.start_edit.setDate(QDate(start.year, start.month, 1))
    page.end_edit.setDate(QDate(end.year, end.month, 1).addDays(-1))
    page = open_page(qtbot, page, lambda p: p.data is not None and p.data.start == start)
    assert page.tiles["saved"].value.text() == "2" and page.tiles["cancelled"].value.text() == "2"
    assert page.tiles["rate"].value.text() == "50.00 %" and page.tiles["lost"].value.text() == "1"
    assert page.tiles["cost"].value.text() == "€ 20.00"
    # Every chart has its numbers beside it: the bars and the table agree.
    series = [s for s in page.panels["outcomes"].view.chart().series() if isinstance(s, QAbstractBarSeries)][0]
    saved_bars = [series.barSets()[0].at(i) for i in range(series.barSets()[0].count())]
    assert saved_bars == [2.0, 0.0]
    assert page.outcomes.data(page.outcomes.index(0, 1)) == "2"
    assert page.offers.data(page.offers.index(0, 5)) == "100.00 %"
    assert page.costs.data(page.costs.index(1, 1)) == "€ 20.00"
    assert page.lost.data(page.lost.index(0, 1)) == "Fickle Froso"
    assert page.agents.data(page.agents.index(0, 4)) == "50.00 %"

    page.end_edit.setDate(QDate(start.year, start.month, 1).addMonths(-2))
    assert "must not be before" in page.period_error.text() and not page.show_button.isEnabled()
