"""One ticket on a real database: the detail screen, edits with optimistic locking (no lost work),
private server-side drafts, notes, and the timeline of every step."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from builders import add_job, customer_with_subscription, issue_invoice, open_ticket, ticket_in_progress
from sqlalchemy import text

from agentdesk.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from agentdesk.services import drafts, queues, tickets


def test_detail_has_customer_panel_service_notes_and_timeline(installer, connect_as, test_users):
    csr = connect_as("csr")
    service = customer_with_subscription(installer, segment="gold", lifetime_value="2400.00", late_payments=1,
                                         customer_since=dt.date.today() - dt.timedelta(days=800))
    job = add_job(installer, service.customer, days_late=9)
    issue_invoice(installer, service.customer, net="100.00", tax="19.00", paid="19.00")  # 100.00 still due
    issue_invoice(installer, service.customer, net="50.00", tax="9.50", paid="59.50")  # paid in full

    t = ticket_in_progress(csr, service)
    tickets.update_ticket(csr, t.id, t.version, {"priority": 1, "reason": "Moving abroad"})
    tickets.add_note(csr, t.id, "Customer prefers e-mail")

    d = tickets.get_ticket(csr, t.id)
    assert d.ticket.number == t.number and d.ticket.priority == 1 and d.reason == "Moving abroad"
    assert d.verified_by == test_users["csr"].name and d.created_by == test_users["csr"].name
    p = d.customer
    assert (p.account_number, p.segment, p.late_payments_12m, p.lifetime_value) == (
        service.customer.account_number, "gold", 1, Decimal("2400.00"))
    assert p.tenure_months in (25, 26)
    assert p.contacts.email == "customer@example.com" and p.contacts.city == "Nicosia"
    assert (p.open_invoices_count, p.open_invoices_amount) == (1, Decimal("100.00"))
    kinds = {s.kind: s for s in p.services}
    assert set(kinds) == {"subscription", "job"}
    sub = kinds["subscription"]
    assert [(i.product_code, i.is_main, i.unit_price) for i in sub.items] == [
        ("FIBRE-100", True, Decimal("29.90")), ("ROUTER-RENT", False, Decimal("4.50"))]
    assert sub.total == Decimal("34.40") and sub.description == "Fibre 100 Mbit/s"
    assert kinds["job"].is_late and kinds["job"].number == job.number
    assert d.service.number == service.number
    assert [n.body for n in d.notes] == ["Customer prefers e-mail"]
    assert [e.kind for e in d.timeline] == ["created", "claimed", "caller verified", "updated", "note added"]
    assert [e.id for e in d.timeline] == sorted(e.id for e in d.timeline)
    assert d.timeline[3].before == {"priority": 2, "reason": "Found a cheaper offer"}  # gold cancellation
    assert d.timeline[3].after == {"priority": 1, "reason": "Moving abroad"}


def test_find_ticket_by_number(installer, connect_as):
    csr = connect_as("csr")
    t = open_ticket(csr, customer_with_subscription(installer))
    assert tickets.find_ticket(csr, t.number).id == t.id
    assert tickets.find_ticket(csr, str(t.id)).id == t.id
    assert tickets.find_ticket(csr, t.number.lower()).id == t.id
    with pytest.raises(NotFound):
        tickets.find_ticket(csr, "T-999999")
    with pytest.raises(ValidationError):
        tickets.find_ticket(csr, "hello")
    with pytest.raises(NotFound):
        tickets.get_ticket(csr, 987654)


def test_two_users_save_one_ticket_the_second_gets_a_conflict_naming_the_first(installer, connect_as, test_users):
    csr, manager = connect_as("csr"), connect_as("manager")
    t = ticket_in_progress(csr, customer_with_subscription(installer))
    mine = {"reason": "Competitor offers 20% less", "call_type": "competitor"}
    theirs = {"priority": 1}

    saved = tickets.update_ticket(manager, t.id, t.version, theirs)
    assert saved.version == t.version + 1 and saved.updated_by == test_users["manager"].name
    with pytest.raises(ConflictError) as info:
        tickets.update_ticket(csr, t.id, t.version, mine)
    assert info.value.changed_by == test_users["manager"].name
    assert info.value.changed_at == saved.updated_at
    assert test_users["manager"].name in str(info.value)
    assert mine == {"reason": "Competitor offers 20% less", "call_type": "competitor"}  # the input is kept

    # Reload, then save the kept input: both edits survive.
    fresh = tickets.get_ticket(csr, t.id)
    again = tickets.update_ticket(csr, t.id, fresh.version, mine)
    assert (again.priority, again.call_type) == (1, "competitor")


def test_simultaneous_saves_one_wins(installer, connect_as, test_users):
    csr, manager = connect_as("csr"), connect_as("manager")
    t = ticket_in_progress(csr, customer_with_subscription(installer))
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def save(key, db, changes):
        barrier.wait(timeout=10)
        try:
            outcome[key] = tickets.update_ticket(db, t.id, t.version, changes)
        except ConflictError as exc:
            outcome[key] = exc

    threads = [threading.Thread(target=save, args=("csr", csr, {"reason": "a"})),
               threading.Thread(target=save, args=("manager", manager, {"reason": "b"}))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(20)
    conflicts = {k: v for k, v in outcome.items() if isinstance(v, ConflictError)}
    winners = {k: v for k, v in outcome.items() if not isinstance(v, ConflictError)}
    assert len(conflicts) == 1 and len(winners) == 1
    (winner,) = winners
    (loser_error,) = conflicts.values()
    assert loser_error.changed_by == test_users[winner].name
    assert tickets.get_ticket(csr, t.id).reason == {"csr": "a", "manager": "b"}[winner]


def test_update_checks_fields_and_authority(installer, connect_as):
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    t = ticket_in_progress(csr, customer_with_subscription(installer))
    for bad, field in (({"state": "closed"}, "state"), ({"priority": 9}, "priority"),
                       ({"channel": "pigeon"}, "channel"), ({"call_type": "x"}, "call_type")):
        with pytest.raises(ValidationError) as info:
            tickets.update_ticket(csr, t.id, t.version, bad)
        assert info.value.field == field
    with pytest.raises(PermissionDenied):
        tickets.update_ticket(csr2, t.id, t.version, {"priority": 2})
    same = tickets.update_ticket(csr, t.id, t.version, {"priority": t.priority})  # nothing changed
    assert same.version == t.version


def test_draft_resumes_on_another_connection_and_is_private(installer, connect_as, test_users):
    csr_here, csr_there, csr2 = connect_as("csr"), connect_as("csr"), connect_as("csr2")
    t = ticket_in_progress(csr_here, customer_with_subscription(installer))
    payload = {"reason": "half typed", "amount": "12.50", "lines": [1, 2]}

    d1 = drafts.save_draft(csr_here, t.id, payload)
    assert d1.version == 1
    resumed = drafts.load_draft(csr_there, t.id)
    assert resumed is not None and resumed.payload == payload and resumed.version == 1

    assert drafts.load_draft(csr2, t.id) is None
    with csr2.session() as s:
        assert s.execute(text("SELECT count(*) FROM draft")).scalar_one() == 0
    assert drafts.discard_draft(csr2, t.id) is False  # cannot throw someone else's away
    # csr2 keeps a draft of their own on the same ticket, separately.
    drafts.save_draft(csr2, t.id, {"reason": "other"})

    d2 = drafts.save_draft(csr_there, t.id, payload | {"reason": "typed more"}, resumed.version)
    assert d2.version == 2
    with pytest.raises(ConflictError):  # the first window is behind now
        drafts.save_draft(csr_here, t.id, {"reason": "old"}, d1.version)
    with pytest.raises(ConflictError):  # "I had no draft" is stale too
        drafts.save_draft(csr_here, t.id, {"reason": "old"})
    assert drafts.load_draft(csr_here, t.id).payload["reason"] == "typed more"

    assert drafts.discard_draft(csr_here, t.id) is True
    assert drafts.load_draft(csr_there, t.id) is None
    assert drafts.load_draft(csr2, t.id).payload == {"reason": "other"}
    with installer.session() as s:
        owners = list(s.execute(text("SELECT owner FROM draft")).scalars())
    assert owners == [test_users["csr2"].name]


def test_draft_payload_must_be_json(installer, connect_as):
    csr = connect_as("csr")
    t = open_ticket(csr, customer_with_subscription(installer))
    with pytest.raises(ValidationError):
        drafts.save_draft(csr, t.id, {"when": dt.date.today()})
    with pytest.raises(NotFound):
        drafts.save_draft(csr, 424242, {"a": 1})


def test_notes(installer, connect_as, test_users):
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    t = open_ticket(csr, customer_with_subscription(installer))
    note = tickets.add_note(csr2, t.id, "  Called back, no answer  ")
    assert (note.body, note.author) == ("Called back, no answer", test_users["csr2"].name)
    with pytest.raises(ValidationError):
        tickets.add_note(csr, t.id, "   ")
    detail = tickets.get_ticket(csr, t.id)
    assert detail.timeline[-1].kind == "note added" and detail.timeline[-1].summary == "Called back, no answer"
    assert queues.list_queue(csr, "retention").tickets[0].version == t.version  # a note is not an edit
