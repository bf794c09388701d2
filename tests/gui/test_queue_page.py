"""The queue page: search and filters (server-side), overdue marks with an icon, Enter opens a ticket."""

from __future__ import annotations

from typing import Any

import pytest
from builders import add_subscription, customer_with_subscription, make_customer, open_ticket
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from sqlalchemy import text

from agentdesk.gui.queue_model import COL
from agentdesk.gui.queue_page import QueuePage
from agentdesk.services.dto import QueueRef

pytestmark = pytest.mark.gui


def retention_page(qtbot: Any, context: Any) -> QueuePage:
    page = QueuePage(context, QueueRef.service("retention"), "Retention desk")
    qtbot.addWidget(page)
    page.resize(1100, 600)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: not page.model.loading and page.model.rowCount() > 0, timeout=10_000)
    return page


def test_search_by_name_account_or_number_waits_for_typing_to_pause(desk_context, installer, qtbot):
    csr = desk_context("csr")
    wanted = open_ticket(csr.db, add_subscription(installer, make_customer(installer, name="Zoe Quartermaine")))
    for _ in range(3):
        open_ticket(csr.db, customer_with_subscription(installer))
    page = retention_page(qtbot, csr)
    assert page.model.rowCount() == 4
    QTest.keyClicks(page.search, "quarterm")
    assert page.model.rowCount() == 4  # nothing asked yet: the search waits for a pause in typing
    qtbot.waitUntil(lambda: page.model.ids() == [wanted.id], timeout=5_000)
    page.search.clear()
    QTest.keyClicks(page.search, wanted.number)
    QTest.keyClick(page.search, Qt.Key.Key_Return)  # Enter searches at once
    qtbot.waitUntil(lambda: page.model.ids() == [wanted.id], timeout=5_000)
    page.clear_filters()
    qtbot.waitUntil(lambda: page.model.rowCount() == 4, timeout=5_000)


def test_overdue_tickets_are_marked_with_colour_and_icon_and_can_be_filtered(desk_context, installer, qtbot):
    csr = desk_context("csr")
    late = open_ticket(csr.db, customer_with_subscription(installer))
    open_ticket(csr.db, customer_with_subscription(installer))
    with installer.session() as s:
        s.execute(text("UPDATE ticket SET due_at = now() - interval '2 hours' WHERE id = :i"), {"i": late.id})
    page = retention_page(qtbot, csr)
    row = page.model.row_of(late.id)
    due = page.model.index(row, COL["due"])
    assert page.model.data(due, Qt.ItemDataRole.DecorationRole) is not None  # an icon, not colour alone
    assert page.model.data(due, Qt.ItemDataRole.BackgroundRole) is not None
    assert page.model.data(due).startswith("overdue by 2 h")
    other = page.model.index(1 - row, COL["due"])
    assert page.model.data(other, Qt.ItemDataRole.DecorationRole) is None
    page.due_combo.setCurrentIndex(page.due_combo.findData("overdue"))
    qtbot.waitUntil(lambda: page.model.ids() == [late.id], timeout=5_000)


def test_enter_opens_the_selected_ticket(desk_context, installer, qtbot):
    csr = desk_context("csr")
    ticket = open_ticket(csr.db, customer_with_subscription(installer))
    opened: list[int] = []
    csr.open_ticket = opened.append
    page = retention_page(qtbot, csr)
    page.table.setFocus()
    page.table.selectRow(0)
    QTest.keyClick(page.table, Qt.Key.Key_Return)
    assert opened == [ticket.id]
