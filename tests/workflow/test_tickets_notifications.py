"""Change notifications: a committed change reaches a listener; a rolled-back one does not; and nothing
depends on receiving them (no listener, or a lost one, changes nothing about the work)."""

from __future__ import annotations

import pytest
from builders import customer_with_subscription, open_ticket
from sqlalchemy import text

from agentdesk.services import queues
from agentdesk.services.notifications import RECONNECTED, ChangeListener, parse


def listener_url(connect_as):
    """A listener signs in like the GUI does: as the person, on its own connection."""
    return connect_as("csr2").url


def test_listener_receives_a_committed_claim(installer, connect_as):
    csr = connect_as("csr")
    t = open_ticket(csr, customer_with_subscription(installer))
    with ChangeListener(listener_url(connect_as)) as listener:
        claimed = queues.take_next(csr)
        change = listener.wait_for("ticket", claimed.id, timeout=5)
    assert change == {"table": "ticket", "id": t.id, "op": "update"}


def test_rolled_back_change_is_not_announced(installer, connect_as):
    csr = connect_as("csr")
    t = open_ticket(csr, customer_with_subscription(installer))
    with ChangeListener(listener_url(connect_as)) as listener:
        listener.poll(0.2)  # nothing pending
        with pytest.raises(RuntimeError), csr.session() as s:
            s.execute(text("UPDATE ticket SET priority = 1 WHERE id = :i"), {"i": t.id})
            raise RuntimeError("the agent pressed Cancel")
        assert listener.poll(0.5) == []
        queues.claim(csr, t.id)
        assert [c["id"] for c in listener.changes(1.0)] == [t.id]


def test_nothing_depends_on_receiving_notifications(installer, connect_as):
    """With no listener, or one whose connection died, the work and the queues are just the same."""
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    first, second = (open_ticket(csr, customer_with_subscription(installer)) for _ in range(2))

    got = queues.take_next(csr)  # nobody listening at all
    assert got is not None and got.id == first.id
    assert [t.id for t in queues.list_queue(csr2, "retention").tickets] == [second.id]

    listener = ChangeListener(listener_url(connect_as)).open()
    try:
        with installer.session() as s:  # the connection is cut (server restart, network)
            s.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name = 'agentdesk-listener'"))
        queues.take_next(csr2)  # missed by the listener; still done
        seen = []
        for _ in range(10):  # notices the loss, reconnects and says "refresh everything"
            seen += listener.poll(0.5)
            if seen:
                break
        assert seen == [RECONNECTED]
        assert queues.list_queue(csr2, "mine").tickets[0].id == second.id
        queues.release(csr2, second.id, queues.list_queue(csr2, "mine").tickets[0].version)
        assert listener.wait_for("ticket", second.id, timeout=5) is not None
    finally:
        listener.close()


def test_parse_ignores_foreign_payloads():
    assert parse('{"table": "offer", "id": 7, "op": "insert"}') == {"table": "offer", "id": 7, "op": "insert"}
    assert parse("not json") is None
    assert parse('{"table": "offer"}') is None
