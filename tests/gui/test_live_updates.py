"""Live updates between two signed-in sessions, and what the desktop does when the database goes away."""

from __future__ import annotations

import time

import pytest
from builders import customer_with_subscription, open_ticket

from agentdesk.services import queues

pytestmark = pytest.mark.gui


def test_another_agents_claim_shows_within_a_second_keeping_selection_and_scroll(
        main_window, desk_context, installer, qtbot):
    window = main_window("csr")
    queued = [open_ticket(window.context.db, customer_with_subscription(installer)) for _ in range(40)]
    qtbot.waitUntil(lambda: window.queue_page("retention") is not None, timeout=10_000)
    page = window.queue_page("retention")
    window.show_page(page)
    qtbot.waitUntil(lambda: page.model.rowCount() == 40 and not page.model.loading, timeout=10_000)
    qtbot.waitUntil(lambda: window.live.listening, timeout=10_000)
    table = page.table
    table.selectRow(30)
    selected_id = page.model.row_at(30).id
    table.verticalScrollBar().setValue(table.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: table.rowAt(0) > 2)  # scrolled: the claimed row will be above the viewport
    top_id = page.model.row_at(table.rowAt(0)).id

    other = desk_context("csr2")  # a second person, with his own connection
    order = page.model.ids()
    gone = order[2]  # a row above the viewport and above the selection
    started = time.monotonic()
    queues.claim(other.db, gone)
    qtbot.waitUntil(lambda: gone not in page.model.ids(), timeout=1_000)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert page.model.rowCount() == 39
    assert page.model.row_at(table.currentIndex().row()).id == selected_id
    assert page.model.row_at(table.rowAt(0)).id == top_id
    assert len(queued) == 40


def test_a_new_ticket_from_another_session_appears_in_the_open_queue(main_window, desk_context, installer, qtbot):
    window = main_window("csr")
    open_ticket(window.context.db, customer_with_subscription(installer))
    qtbot.waitUntil(lambda: window.queue_page("retention") is not None, timeout=10_000)
    page = window.queue_page("retention")
    window.show_page(page)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: window.live.listening, timeout=10_000)
    other = desk_context("csr2")
    fresh = open_ticket(other.db, customer_with_subscription(installer))
    qtbot.waitUntil(lambda: fresh.id in page.model.ids(), timeout=2_000)
    # and the navigation count follows
    qtbot.waitUntil(lambda: "(2" in window.navigation.currentItem().text(), timeout=3_000)


def test_lost_connection_is_announced_and_recovered(main_window, qtbot):
    window = main_window("csr", live=False)
    monitor = window.live.monitor
    with qtbot.waitSignal(window.context.changes.sig_connection_changed, timeout=2_000) as lost:
        window.context.runner.sig_connection_lost.emit("The database server cannot be reached; reconnecting…")
    assert lost.args[0] is False
    assert "Disconnected" in window.connection_label.text()
    assert not monitor.connected
    # the periodic ping (every 2 s while lost) finds the server again; every page is asked to refresh
    with qtbot.waitSignals([window.context.changes.sig_connection_changed, window.context.changes.sig_refresh_all],
                           timeout=5_000):
        pass
    assert monitor.connected
    assert window.connection_label.text() == "Connected"


def test_a_task_failing_on_a_dead_connection_is_recognised(qapp):
    from sqlalchemy.exc import OperationalError

    from agentdesk.db.errors import DatabaseRefused
    from agentdesk.gui.tasks import connection_problem

    class Dead(Exception):
        pgcode = None

    driver = OperationalError("SELECT 1", {}, Dead("server closed the connection unexpectedly"))
    refused = DatabaseRefused("The database refused the change: server closed the connection")
    refused.__cause__ = driver
    assert connection_problem(refused)
    assert connection_problem(ValueError("no")) is None
