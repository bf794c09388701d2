"""The whole CSR path of a cancellation call, keyboard only, from "take next" to the accounting queue."""

from __future__ import annotations

from typing import Any

import pytest
from builders import add_subscription, make_customer, open_ticket

from agentdesk.gui.walkthrough import standard_save_call
from agentdesk.services import eligibility, queues, tickets
from agentdesk.services.dto import QueueRef

pytestmark = pytest.mark.gui


def test_standard_save_call_keyboard_only(main_window, installer, qtbot):
    window = main_window("csr")
    # Billed quarterly: the monthly-only complaint credit (which needs a manager) is not eligible.
    service = add_subscription(installer, make_customer(installer, segment="silver", lifetime_value="800.00"),
                               frequency="quarterly")
    queued = open_ticket(window.context.db, service)
    # The top eligible offer of this customer is automatic, so the call ends in the accounting queue.
    top = next(s for s in eligibility.eligibility_for_ticket(installer, queued.id) if s.eligible)
    assert not top.needs_approval

    def wait(condition: Any, what: str) -> None:
        qtbot.waitUntil(condition, timeout=20_000)

    qtbot.waitUntil(lambda: window.queue_page("retention") is not None, timeout=10_000)
    result = standard_save_call(window, wait)

    assert result.ticket_id == queued.id
    assert result.state == "accounting"
    assert result.keystrokes <= 15, result.keys
    assert result.keystrokes == 9
    # The database agrees: the ticket waits in the accounting queue with the accepted offer on its timeline.
    detail = tickets.get_ticket(installer, queued.id)
    assert detail.ticket.state == "accounting"
    kinds = [e.kind for e in detail.timeline]
    for kind in ("claimed", "caller verified", "offer made", "offer accepted", "assignment confirmed"):
        assert kind in kinds
    accounting = queues.list_queue(installer, QueueRef("accounting"))
    assert queued.id in [t.id for t in accounting.tickets]
