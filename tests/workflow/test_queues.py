"""Queues on a real database: order, keyset pages, filters, counts, take_next under concurrency, and the
database's rules on who may claim, assign and release."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from decimal import Decimal

import pytest
from builders import add_subscription, customer_with_subscription, make_customer, open_ticket
from sqlalchemy import text

from agentdesk.domain.errors import ConflictError, PermissionDenied, RuleViolation, ValidationError
from agentdesk.services import queues
from agentdesk.services.dto import QueueFilter, QueueRef


def set_ticket(installer, ticket_id, **values):
    """Arrange a ticket's columns as test data (triggers off: even the stamped ones, like created_at)."""
    sets = ", ".join(f"{k} = :{k}" for k in values)
    with installer.session() as s:
        s.execute(text("SET LOCAL session_replication_role = replica"))
        s.execute(text(f"UPDATE ticket SET {sets} WHERE id = :id"), {"id": ticket_id, **values})


def queued_tickets(installer, csr, n, *, segment="silver", value="100.00", call_type="complaint"):
    return [
        open_ticket(csr, customer_with_subscription(installer, segment=segment, lifetime_value=value),
                    call_type=call_type)
        for _ in range(n)
    ]


def all_pages(db, queue, limit, filters=None):
    pages, key = [], None
    while True:
        page = queues.list_queue(db, queue, filters, key, limit)
        pages.append(page.tickets)
        if page.next_key is None:
            return pages
        key = page.next_key


def test_service_queue_order_priority_due_value_id(installer, connect_as):
    csr = connect_as("csr")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    spec = [  # priority, due in minutes, customer value
        (3, 10, "100.00"), (2, 50, "100.00"), (2, 20, "50.00"), (2, 20, "900.00"), (3, 10, "100.00"), (1, 300, "1.00"),
    ]
    made = []
    for priority, due, value in spec:
        t = open_ticket(csr, customer_with_subscription(installer, lifetime_value=value))
        set_ticket(installer, t.id, priority=priority, due_at=now + dt.timedelta(minutes=due))
        made.append(t.id)
    page = queues.list_queue(csr, QueueRef.service("retention"))
    expected = [made[5], made[3], made[2], made[1], made[0], made[4]]
    assert [t.id for t in page.tickets] == expected
    assert page.next_key is None


def test_keyset_pages_cover_the_queue_once_with_ties(installer, connect_as):
    csr = connect_as("csr")
    tickets = queued_tickets(installer, csr, 23)
    same_due = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    for i, t in enumerate(tickets):  # many exact ties on priority, due and value: the id settles them
        set_ticket(installer, t.id, priority=1 + i % 2, due_at=same_due + dt.timedelta(minutes=i % 3))
    whole = queues.list_queue(csr, "retention", limit=100).tickets
    pages = all_pages(csr, "retention", 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [t.id for p in pages for t in p] == [t.id for t in whole]
    assert len(whole) == 23
    # A page boundary in the middle of a tie still continues at the right row.
    keys = [(t.priority, t.due_at, -t.customer_value, t.id) for t in whole]
    assert keys == sorted(keys)


def test_keyset_continues_after_the_queue_changes(installer, connect_as):
    """Claiming tickets already shown does not shift the next page (no OFFSET)."""
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    queued_tickets(installer, csr, 6)
    first = queues.list_queue(csr, "retention", limit=3)
    queues.take_next(csr2)
    queues.take_next(csr2)
    second = queues.list_queue(csr, "retention", after_key=first.next_key, limit=3)
    assert len(second.tickets) == 3
    assert not {t.id for t in first.tickets} & {t.id for t in second.tickets}


def test_filters(installer, connect_as):
    csr = connect_as("csr")
    gold = make_customer(installer, segment="gold", name="Eleni Georgiou", account_number="ACC-GOLD-1")
    t_gold = open_ticket(csr, add_subscription(installer, gold), call_type="price")
    t_silver = open_ticket(csr, customer_with_subscription(installer, segment="silver"), call_type="moving")
    t_old = open_ticket(csr, customer_with_subscription(installer, segment="bronze"), call_type="moving")
    now = dt.datetime.now(dt.UTC)
    set_ticket(installer, t_old.id, created_at=now - dt.timedelta(hours=5), due_at=now - dt.timedelta(minutes=5))
    set_ticket(installer, t_silver.id, due_at=now + dt.timedelta(minutes=30))

    def ids(**kw):
        return {t.id for t in queues.list_queue(csr, "retention", QueueFilter(**kw)).tickets}

    assert ids(call_type="moving") == {t_silver.id, t_old.id}
    assert ids(segment="gold") == {t_gold.id}
    assert ids(text="georgiou") == {t_gold.id}
    assert ids(text="ACC-GOLD") == {t_gold.id}
    assert ids(text=t_silver.number) == {t_silver.id}
    assert ids(text=f"t-{t_silver.id}") == {t_silver.id}  # "t-42" finds T-000042
    assert ids(text="100%_") == set()  # wildcards are searched literally
    assert ids(due="overdue") == {t_old.id}
    assert ids(due="due_soon") == {t_silver.id}
    assert ids(min_age_minutes=120) == {t_old.id}
    assert ids(max_age_minutes=120) == {t_gold.id, t_silver.id}
    assert ids(call_type="moving", segment="bronze") == {t_old.id}
    with pytest.raises(ValidationError):
        queues.list_queue(csr, "retention", QueueFilter(due="someday"))  # type: ignore[arg-type]


def test_mine_approvals_accounting_and_counts(installer, connect_as, test_users):
    csr, csr2, manager = connect_as("csr"), connect_as("csr2"), connect_as("manager")
    tickets = queued_tickets(installer, csr, 5)
    senior_ticket = open_ticket(csr, customer_with_subscription(installer, segment="platinum"))
    now = dt.datetime.now(dt.UTC)
    set_ticket(installer, tickets[4].id, due_at=now - dt.timedelta(minutes=1))

    a = queues.claim(csr, tickets[0].id)
    b = queues.claim(csr, tickets[1].id)
    queues.claim(csr2, tickets[2].id)
    with csr.session() as s:  # the agent sends one to a manager ...
        s.execute(text("UPDATE ticket SET state = 'pending_approval' WHERE id = :i"), {"i": a.id})
    set_ticket(installer, b.id, state="accounting")  # ... and one is at accounting (with its discount)

    assert {t.id for t in queues.list_queue(csr, "mine").tickets} == {a.id, b.id}
    assert [t.id for t in queues.list_queue(manager, "approvals").tickets] == [a.id]
    assert [t.id for t in queues.list_queue(manager, "accounting").tickets] == [b.id]
    assert [t.id for t in queues.list_queue(csr, "mine", QueueFilter(state="accounting")).tickets] == [b.id]
    assert [t.id for t in queues.list_queue(csr, "senior_save").tickets] == [senior_ticket.id]

    counts = queues.queue_counts(csr)
    assert counts.queued("retention") == 2 and counts.queued("senior_save") == 1
    assert {u.unit_code: u.overdue for u in counts.units} == {"retention": 1, "senior_save": 0}
    assert (counts.mine, counts.approvals, counts.accounting) == (2, 1, 1)
    assert queues.queue_counts(csr2).mine == 1

    with pytest.raises(Exception, match="not found"):
        queues.list_queue(csr, "nowhere")


def test_take_next_takes_the_best_of_my_queues(installer, connect_as, test_users):
    csr, senior = connect_as("csr"), connect_as("senior")
    low, high = queued_tickets(installer, csr, 2)
    set_ticket(installer, high.id, priority=1)
    platinum = open_ticket(csr, customer_with_subscription(installer, segment="platinum"))

    got = queues.take_next(csr)
    assert got is not None and got.id == high.id
    assert (got.state, got.assigned_to) == ("in_progress", test_users["csr"].name)
    assert queues.take_next(csr).id == low.id
    assert queues.take_next(csr) is None  # the platinum ticket is the senior team's

    assert queues.take_next(senior).id == platinum.id
    with installer.session() as s:
        kinds = s.execute(text("SELECT kind, actor FROM ticket_event WHERE ticket_id = :i ORDER BY id"),
                          {"i": platinum.id}).all()
    assert [tuple(k) for k in kinds] == [("created", test_users["csr"].name), ("claimed", test_users["senior"].name)]


def test_take_next_with_several_units_and_unit_code(installer, connect_as, test_users):
    csr, manager = connect_as("csr"), connect_as("manager")
    with installer.session() as s:  # csr also joins the senior team
        s.execute(text("INSERT INTO user_unit (user_id, unit_id) SELECT u.id, n.id FROM app_user u, unit n "
                       "WHERE u.role_name = :r AND n.code = 'senior_save'"), {"r": test_users["csr"].name})
    retention = queued_tickets(installer, csr, 1)[0]
    platinum = open_ticket(csr, customer_with_subscription(installer, segment="platinum"))  # priority 1
    assert queues.take_next(csr).id == platinum.id
    assert queues.take_next(csr).id == retention.id

    other = queued_tickets(installer, csr, 1)[0]
    with pytest.raises(PermissionDenied, match="another team"):
        queues.take_next(connect_as("senior"), "retention")
    assert queues.take_next(manager, "retention").id == other.id  # managers may take from any queue
    with pytest.raises(RuleViolation, match="no service team"):
        queues.take_next(manager)
    with pytest.raises(Exception, match="not found"):
        queues.take_next(csr, "no_such_unit")


def test_twenty_agents_claim_concurrently_without_double_claims(installer, connect_as):
    """20 threads, each with its own connection, race for one queue: every ticket goes to exactly one."""
    csr = connect_as("csr")
    tickets = queued_tickets(installer, csr, 30)
    agents = [connect_as("csr" if i % 2 else "csr2") for i in range(20)]
    barrier = threading.Barrier(len(agents))
    claimed: dict[int, list[int]] = {i: [] for i in range(len(agents))}
    errors: list[BaseException] = []

    def work(i, db):
        try:
            barrier.wait(timeout=20)
            first = queues.take_next(db)  # everyone at once: all must get one, distinct
            claimed[i].append(first.id)
            barrier.wait(timeout=20)
            while (t := queues.take_next(db)) is not None:
                claimed[i].append(t.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, db)) for i, db in enumerate(agents)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    firsts = [c[0] for c in claimed.values()]
    assert len(set(firsts)) == 20
    everything = [tid for c in claimed.values() for tid in c]
    assert sorted(everything) == sorted(t.id for t in tickets)  # each exactly once
    with installer.session() as s:
        per_ticket = Counter(s.execute(text("SELECT ticket_id FROM ticket_event WHERE kind = 'claimed'")).scalars())
        states = set(s.execute(text("SELECT state FROM ticket")).scalars())
    assert set(per_ticket.values()) == {1} and len(per_ticket) == 30
    assert states == {"in_progress"}


def test_claim_a_particular_ticket_once(installer, connect_as, test_users):
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    t = queued_tickets(installer, csr, 1)[0]
    queues.claim(csr, t.id)
    with pytest.raises(ConflictError) as info:
        queues.claim(csr2, t.id)
    assert info.value.changed_by == test_users["csr"].name


def test_csr_cannot_assign_to_someone_else_even_in_raw_sql(installer, connect_as, test_users):
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    other = test_users["csr2"].name
    queued, mine = queued_tickets(installer, csr, 2)
    queues.claim(csr, mine.id)

    with pytest.raises(PermissionDenied, match="Only a manager"), csr.session() as s:
        s.execute(text("UPDATE ticket SET state = 'in_progress', assigned_to = :u WHERE id = :i"),
                  {"u": other, "i": queued.id})
    with pytest.raises(PermissionDenied, match="Only a manager"), csr.session() as s:
        s.execute(text("UPDATE ticket SET assigned_to = :u WHERE id = :i"), {"u": other, "i": mine.id})
    with pytest.raises(PermissionDenied):
        queues.assign(csr, queued.id, other)
    # ... nor take a colleague's ticket, nor release it.
    with pytest.raises(PermissionDenied):
        queues.assign(csr2, mine.id, other)
    current = queues.list_queue(csr, "mine").tickets[0]
    with pytest.raises(PermissionDenied, match="Only the agent"):
        queues.release(csr2, mine.id, current.version)

    # Claiming for himself from his own queue is fine, even in raw SQL.
    with csr.session() as s:
        s.execute(text("UPDATE ticket SET state = 'in_progress', assigned_to = session_user WHERE id = :i"),
                  {"i": queued.id})
    with installer.session() as s:
        owners = dict(s.execute(text("SELECT id, assigned_to FROM ticket")).all())
    assert owners == {queued.id: test_users["csr"].name, mine.id: test_users["csr"].name}


def test_manager_assigns_and_reassigns_csr_releases(installer, connect_as, test_users):
    csr, manager = connect_as("csr"), connect_as("manager")
    t = queued_tickets(installer, csr, 1)[0]
    a = queues.assign(manager, t.id, test_users["csr2"].name, t.version)
    assert (a.state, a.assigned_to) == ("in_progress", test_users["csr2"].name)
    b = queues.reassign(manager, t.id, test_users["csr"].name, a.version)
    assert b.assigned_to == test_users["csr"].name
    with pytest.raises(ConflictError):
        queues.reassign(manager, t.id, test_users["csr2"].name, a.version)  # stale
    with pytest.raises(ValidationError) as info:
        queues.assign(manager, t.id, "nobody_here")
    assert info.value.field == "assigned_to"

    r = queues.release(csr, t.id, b.version)
    assert (r.state, r.assigned_to) == ("queued", None)
    with installer.session() as s:
        kinds = list(s.execute(text("SELECT kind FROM ticket_event WHERE ticket_id = :i ORDER BY id"),
                               {"i": t.id}).scalars())
    assert kinds == ["created", "assigned", "reassigned", "released"]


def test_state_machine_refuses_wrong_moves(installer, connect_as):
    csr, csr2, manager, accounting = (connect_as(k) for k in ("csr", "csr2", "manager", "accounting"))
    t = queued_tickets(installer, csr, 1)[0]

    def move(db, sql):
        with db.session() as s:
            s.execute(text(f"UPDATE ticket SET {sql} WHERE id = :i"), {"i": t.id})

    with pytest.raises(RuleViolation, match="cannot go from Queued to Accounting"):
        move(manager, "state = 'accounting'")
    queues.claim(csr, t.id)
    with pytest.raises(RuleViolation, match="retained only by accounting"):
        move(csr, "state = 'closed', resolution = 'retained'")
    with pytest.raises(PermissionDenied):
        move(csr2, "reason = 'not mine to edit'")
    set_ticket(installer, t.id, state="accounting")  # as if confirmed with an approved discount
    with pytest.raises(PermissionDenied, match="Only accounting"):
        move(manager, "state = 'in_progress'")
    with pytest.raises(PermissionDenied, match="Only accounting"):
        move(csr, "state = 'closed', resolution = 'cancelled'")
    move(accounting, "state = 'in_progress'")  # sent back
    move(csr, "state = 'closed', resolution = 'withdrawn'")
    with installer.session() as s:
        closed_at = s.execute(text("SELECT closed_at FROM ticket WHERE id = :i"), {"i": t.id}).scalar_one()
    assert closed_at is not None
    with pytest.raises(RuleViolation, match="is closed"):
        move(manager, "priority = 1")
    with pytest.raises(RuleViolation, match="starts unassigned"), csr.session() as s:
        s.execute(text("INSERT INTO ticket (customer_id, subscription_id, channel, call_type, state, "
                       "queue_unit_id, due_at, assigned_to) SELECT customer_id, subscription_id, 'phone', "
                       "'cancellation', 'in_progress', queue_unit_id, now(), session_user FROM ticket "
                       "WHERE id = :i"), {"i": t.id})


def test_ticket_identity_cannot_be_rewritten(installer, connect_as):
    csr = connect_as("csr")
    t = queues.claim(csr, queued_tickets(installer, csr, 1)[0].id)
    other = customer_with_subscription(installer)
    with csr.session() as s:
        s.execute(text("UPDATE ticket SET number = 'T-X', customer_id = :c, customer_value = 1 WHERE id = :i"),
                  {"c": other.customer.id, "i": t.id})
    with installer.session() as s:
        row = s.execute(text("SELECT number, customer_id, customer_value FROM ticket WHERE id = :i"),
                        {"i": t.id}).one()
    assert tuple(row) == (t.number, t.customer_id, Decimal("100.00"))


def test_take_next_survives_a_lost_prepared_statement(installer, connect_as):
    """The usual claim is prepared once per connection; if the connection forgot it, it is prepared again."""
    csr = connect_as("csr")
    first, second = queued_tickets(installer, csr, 2)
    assert queues.take_next(csr).id == first.id
    with csr.session() as s:
        names = s.execute(text("SELECT name FROM pg_prepared_statements")).scalars().all()
        assert [n for n in names if n.startswith("agentdesk_take_next")]
        s.execute(text("DEALLOCATE ALL"))
    assert queues.take_next(csr).id == second.id
    assert queues.take_next(csr) is None


def test_customer_answer_may_reach_a_colleague_of_the_team(installer, connect_as):
    """offer_pending -> in_progress -> pending_approval by a colleague of the same team; not by another team."""
    from builders import ticket_in_progress

    csr, csr2, senior = connect_as("csr"), connect_as("csr2"), connect_as("senior")
    t = ticket_in_progress(csr, customer_with_subscription(installer))

    def move(db, state):
        with db.session() as s:
            s.execute(text("UPDATE ticket SET state = :s WHERE id = :i"), {"s": state, "i": t.id})

    move(csr, "offer_pending")
    with pytest.raises(PermissionDenied, match="record the customer's answer"):
        move(senior, "in_progress")
    move(csr2, "in_progress")
    with pytest.raises(PermissionDenied, match="confirm it to accounting"):
        move(csr2, "accounting")
    move(csr2, "pending_approval")
    with pytest.raises(PermissionDenied, match="Only a manager can approve"):
        move(csr, "accounting")


def test_counts_are_capped_for_huge_queues(installer, connect_as, monkeypatch):
    csr = connect_as("csr")
    queued_tickets(installer, csr, 3)
    monkeypatch.setattr(queues, "COUNT_CAP", 2)
    (retention,) = [u for u in queues.queue_counts(csr).units if u.unit_code == "retention"]
    assert (retention.queued, retention.cap, retention.queued_text) == (2, 2, "2+")
