"""Demo data: a small load has tickets in every state with consistent fields, the CRM.COM definitions and one
user per role who can sign in; it is one transaction, deterministic, refuses to run twice without --append,
and a big (bulk) load leaves the schema exactly as the migrations made it."""

from __future__ import annotations

import datetime as dt
import os
import select
from collections.abc import Callable, Iterator

import psycopg2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from agentdesk import bootstrap
from agentdesk.bootstrap import Database
from agentdesk.db.models.base import DISCOUNT_STATES, TICKET_STATES
from agentdesk.demo import data
from agentdesk.domain.errors import ValidationError

from .conftest import one_line_error, scalar, sql, url_text
from .test_migrations import schema_differences

TODAY = dt.date.today()


def load(db: Database, customers: int = 120, tickets: int = 90, **kwargs: object) -> data.DemoSummary:
    return data.load_demo_data(db, customers=customers, tickets=tickets, today=TODAY, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def second_database(pg_server, template_db: str) -> Iterator[URL]:
    """Another fresh clone of the template, for comparing two loads."""
    name = f"t2_{pg_server.run_id}_{os.getpid()}_{next(pg_server._counter)}"
    engine = create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    yield pg_server.database_url(name)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def fingerprint(db: Database) -> dict[str, str]:
    """A digest of every demo table's content, to compare two loads."""
    tables = ("customer", "subscription", "job", "billing_item", "ticket", "ticket_event", "offer",
              "adhoc_discount", "adhoc_discount_item", "billing_item_record", "ticket_note")
    return {t: scalar(db, f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x")
            for t in tables}


def user_triggers(db: Database) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in sql(db, "SELECT c.relname, t.tgname, t.tgenabled::text FROM pg_trigger t"
                                      " JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal ORDER BY 1, 2")]


def constraints_and_indexes(db: Database) -> list[tuple[str, ...]]:
    return [tuple(r) for r in sql(
        db,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        " UNION ALL SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2")]


def assert_discount_chain(db: Database) -> None:
    """Discounts come only from accepted offers on their own ticket's service; retained means records."""
    assert scalar(db, "SELECT count(*) FROM adhoc_discount d LEFT JOIN offer o ON o.id = d.offer_id"
                      " LEFT JOIN ticket t ON t.id = d.ticket_id WHERE o.state IS DISTINCT FROM 'accepted'"
                      " OR o.ticket_id <> d.ticket_id OR t.subscription_id IS DISTINCT FROM d.subscription_id"
                      " OR t.job_id IS DISTINCT FROM d.job_id OR d.provided_by <> o.accepted_recorded_by") == 0
    assert scalar(db, "SELECT count(*) FROM offer o JOIN ticket t ON t.id = o.ticket_id"
                      " WHERE o.made_by <> t.assigned_to OR o.made_at < t.verified_at") == 0
    assert scalar(db, "SELECT count(*) FROM ticket t WHERE t.resolution = 'retained' AND NOT EXISTS"
                      " (SELECT 1 FROM billing_item_record r WHERE r.ticket_id = t.id)") == 0
    assert scalar(db, "SELECT count(*) FROM billing_item_record r JOIN adhoc_discount d ON d.id = r.discount_id"
                      " WHERE d.state <> 'approved' OR NOT EXISTS (SELECT 1 FROM adhoc_discount_item i"
                      " WHERE i.discount_id = d.id AND i.billing_item_id = r.billing_item_id)") == 0


# -- the small set ----------------------------------------------------------------------------------------


def test_small_demo_has_every_ticket_state_and_consistent_fields(installer: Database) -> None:
    summary = data.load_small_demo(installer, TODAY)
    assert summary is not None
    assert (summary.customers, summary.tickets) == (data.SMALL_CUSTOMERS, data.SMALL_TICKETS)
    states = dict(sql(installer, "SELECT state, count(*) FROM ticket GROUP BY state"))
    assert set(states) == set(TICKET_STATES)
    assert states == {s: n for s, n in summary.tickets_by_state.items() if n}

    # Fields that go with each state.
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE state = 'queued' AND (assigned_to IS NOT NULL"
                             " OR verified_at IS NOT NULL)") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE state <> 'queued' AND assigned_to IS NULL") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE (state = 'closed') <> (closed_at IS NOT NULL"
                             " AND resolution IS NOT NULL)") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE (verified_at IS NULL) <> (verified_by IS NULL)") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket t WHERE EXISTS (SELECT 1 FROM offer o WHERE"
                             " o.ticket_id = t.id) AND t.verified_at IS NULL") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE state = 'offer_pending' AND NOT EXISTS (SELECT 1"
                             " FROM offer o WHERE o.ticket_id = ticket.id AND o.state IN ('proposed', 'sent')"
                             " AND o.expires_at >= :tomorrow)", tomorrow=TODAY + dt.timedelta(days=1)) == 0
    assert scalar(installer, "SELECT max(c) FROM (SELECT count(*) c FROM offer WHERE state IN ('proposed', 'sent')"
                             " GROUP BY ticket_id) x") == 1
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE state = 'pending_approval' AND NOT EXISTS ("
                             "SELECT 1 FROM adhoc_discount d WHERE d.ticket_id = ticket.id"
                             " AND d.state = 'pending_approval')") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE state = 'accounting' AND NOT EXISTS ("
                             "SELECT 1 FROM adhoc_discount d WHERE d.ticket_id = ticket.id AND d.state = 'approved')") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE closed_at < created_at OR updated_at < created_at"
                             " OR due_at < created_at") == 0
    # Open tickets: at most one per service; on services that are still running.
    assert scalar(installer, "SELECT count(*) FROM (SELECT 1 FROM ticket WHERE state <> 'closed'"
                             " GROUP BY subscription_id, job_id HAVING count(*) > 1) d") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket t JOIN subscription s ON s.id = t.subscription_id"
                             " WHERE t.state <> 'closed' AND s.state <> 'active'") == 0
    # Every ticket has a timeline that starts with its creation, stamped by a real person.
    assert scalar(installer, "SELECT count(*) FROM ticket t WHERE (SELECT kind FROM ticket_event e"
                             " WHERE e.ticket_id = t.id ORDER BY id LIMIT 1) IS DISTINCT FROM 'created'") == 0
    demo_names = [u.name for u in data.DEMO_USERS]
    assert scalar(installer, "SELECT count(*) FROM ticket_event WHERE NOT actor = ANY(:n)", n=demo_names) == 0
    assert scalar(installer, "SELECT min(c) FROM (SELECT count(*) c FROM ticket_event GROUP BY ticket_id) x") >= 1


def test_small_demo_discounts_offers_and_services(installer: Database) -> None:
    data.load_small_demo(installer, TODAY)
    discount_states = {s for (s,) in sql(installer, "SELECT DISTINCT state FROM adhoc_discount")}
    assert discount_states == set(DISCOUNT_STATES)
    # Four eyes and the approving unit, as the database guard would have insisted.
    assert scalar(installer, "SELECT count(*) FROM adhoc_discount WHERE approval_method = 'manual'"
                             " AND state = 'approved' AND (approved_by = provided_by OR approved_by <> 'mark.manager')") == 0
    assert scalar(installer, "SELECT count(*) FROM adhoc_discount a JOIN discount_definition d ON d.id ="
                             " a.definition_id WHERE a.definition_code <> d.code OR a.approval_method <> d.approval"
                             " OR a.approval_unit_id IS DISTINCT FROM d.approval_unit_id") == 0
    assert scalar(installer, "SELECT count(*) FROM adhoc_discount WHERE state = 'cancelled'"
                             " AND coalesce(cancel_reason, '') = ''") == 0
    assert scalar(installer, "SELECT count(*) FROM adhoc_discount a WHERE NOT EXISTS (SELECT 1 FROM"
                             " adhoc_discount_item i WHERE i.discount_id = a.id)") == 0
    assert_discount_chain(installer)
    # CRM.COM scenario 2: late jobs with an Installation Service Fee, discounted by half.
    assert scalar(installer, "SELECT count(*) FROM job j JOIN billing_item b ON b.job_id = j.id JOIN product p"
                             " ON p.id = b.product_id WHERE p.name = 'Installation Service Fee'"
                             " AND j.actual_completion > j.expected_completion") > 0
    assert scalar(installer, "SELECT count(*) FROM adhoc_discount WHERE definition_code = 'ZX-JOB-LATE-50'"
                             " AND (job_id IS NULL OR percentage <> 50)") == 0
    assert scalar(installer, "SELECT count(*) FROM adhoc_discount WHERE definition_code = 'ZX-SUB-RANGE'"
                             " AND NOT amount BETWEEN 5 AND 20") == 0
    offer_states = {s for (s,) in sql(installer, "SELECT DISTINCT state FROM offer")}
    assert {"sent", "accepted", "declined"} <= offer_states
    assert scalar(installer, "SELECT count(*) FROM offer WHERE state = 'accepted'"
                             " AND (accepted_channel IS NULL OR accepted_recorded_by IS NULL)") == 0
    # Subscriptions: one main package, up to three add-ons; cancelled ones have ended.
    assert sql(installer, "SELECT min(m), max(m), max(a) FROM (SELECT count(*) FILTER (WHERE b.is_main) m,"
                          " count(*) FILTER (WHERE NOT b.is_main) a FROM subscription s JOIN billing_item b"
                          " ON b.subscription_id = s.id GROUP BY s.id) x") == [(1, 1, 3)]
    assert scalar(installer, "SELECT count(*) FROM subscription WHERE state = 'cancelled'") > 0
    # Cancelled by a ticket: the end date is what was asked for or the end of the billing period, and the
    # ticket that cancelled it is closed as cancelled.
    assert scalar(installer, "SELECT count(*) FROM subscription s WHERE s.state = 'cancelled' AND s.end_date >"
                             " :d AND NOT EXISTS (SELECT 1 FROM ticket t WHERE t.subscription_id = s.id"
                             " AND t.resolution = 'cancelled' AND t.closed_at::date <= s.end_date)", d=TODAY) == 0
    assert {f for (f,) in sql(installer, "SELECT DISTINCT billing_frequency FROM subscription")} == {
        "monthly", "quarterly", "annual"}


def test_small_demo_customers_look_real(installer: Database) -> None:
    data.load_small_demo(installer, TODAY)
    assert scalar(installer, "SELECT count(*) FROM customer WHERE name ~ '[^\\x01-\\x7f]'") > 10  # accents, Greek
    assert scalar(installer, "SELECT count(*) FROM customer WHERE vat_id IS NOT NULL") > 0
    assert scalar(installer, "SELECT count(*) FROM customer WHERE vat_id IS NOT NULL AND vat_id !~ '^[A-Z]{2}'") == 0
    assert scalar(installer, "SELECT count(*) FROM customer WHERE email IS NOT NULL AND email !~ '^[a-z0-9.]+@'") == 0
    assert {c for (c,) in sql(installer, "SELECT DISTINCT country FROM customer")} >= {"CY", "GR"}
    # Lifetime value bands follow the segment: every platinum above every gold, and so on down.
    bands = dict((s, (lo, hi)) for s, lo, hi in sql(
        installer, "SELECT segment, min(lifetime_value), max(lifetime_value) FROM customer GROUP BY segment"))
    order = [s for s in ("platinum", "gold", "silver", "bronze") if s in bands]
    assert len(order) >= 3
    for higher, lower in zip(order, order[1:], strict=False):
        assert bands[higher][0] > bands[lower][1]
    assert scalar(installer, "SELECT count(*) FROM customer WHERE customer_since > :d", d=TODAY) == 0


def test_reference_data_and_crm_definitions_are_there(installer: Database) -> None:
    data.load_small_demo(installer, TODAY)
    rows = {code: rest for code, *rest in sql(
        installer, "SELECT d.code, d.value_kind, d.amount_min, d.amount_max, d.percentage, d.amount, d.approval,"
                   " u.code, d.billing_frequency, d.auto_apply, d.jobs_late_only FROM discount_definition d"
                   " LEFT JOIN unit u ON u.id = d.approval_unit_id WHERE d.active")}
    assert rows["ZX-SUB-RANGE"][:3] == ["amount_range", 5, 20]
    assert rows["ZX-SUB-RANGE"][5:8] == ["manual", "customer_care_managers", "monthly"]
    assert rows["ZX-JOB-LATE-50"][3] == 50 and rows["ZX-JOB-LATE-50"][5] == "manual"
    assert rows["ZX-JOB-AUTO-20"][4] == 20 and rows["ZX-JOB-AUTO-20"][8:] == [True, True]


def test_one_demo_user_per_role_signs_in(installer: Database, database_url: URL) -> None:
    summary = data.load_small_demo(installer, TODAY)
    assert summary is not None
    assert {u.role for u in data.DEMO_USERS} == {"csr", "manager", "accounting", "admin"}
    for user in data.DEMO_USERS:
        db = bootstrap.connect_url(database_url.set(username=user.name, password=data.DEMO_PASSWORD))
        try:
            assert scalar(db, "SELECT session_user") == user.name
            assert scalar(db, "SELECT app_has_role(:r)", r=user.role) is True
            units = {u for (u,) in sql(db, "SELECT un.code FROM user_unit uu JOIN app_user au ON au.id = uu.user_id"
                                           " JOIN unit un ON un.id = uu.unit_id WHERE au.role_name = session_user")}
            assert units == set(user.units)
        finally:
            db.dispose()
    # The demo CSR works the retention queue, and sees open tickets there.
    assert scalar(installer, "SELECT count(*) FROM ticket t JOIN unit u ON u.id = t.queue_unit_id"
                             " WHERE u.code = 'retention' AND t.state = 'queued'") > 0


def test_demo_users_already_on_the_server_are_registered_here(installer: Database, second_database: URL,
                                                              database_url: URL) -> None:
    data.load_small_demo(installer, TODAY)
    other = bootstrap.connect_url(second_database)
    try:
        # Login roles are cluster-wide: this database's users table did not know them yet.
        assert scalar(other, "SELECT count(*) FROM app_user WHERE role_name = 'anna.csr'") == 0
        assert set(data.ensure_demo_users(other)) == {u.name for u in data.DEMO_USERS}
        assert data.ensure_demo_users(other) == ()  # second time: nothing to do
        anna = bootstrap.connect_url(second_database.set(username="anna.csr", password=data.DEMO_PASSWORD))
        try:
            assert scalar(anna, "SELECT app_has_role('csr') AND app_in_unit((SELECT id FROM unit"
                                " WHERE code = 'retention'))") is True
        finally:
            anna.dispose()
    finally:
        other.dispose()


def test_small_demo_is_skipped_when_there_are_customers(installer: Database) -> None:
    assert data.load_small_demo(installer, TODAY) is not None
    before = fingerprint(installer)
    assert data.load_small_demo(installer, TODAY) is None
    assert fingerprint(installer) == before


# -- one transaction, repeatable, deterministic -------------------------------------------------------------


def test_same_seed_same_data(installer: Database, second_database: URL) -> None:
    load(installer, seed=7)
    other = bootstrap.connect_url(second_database)
    try:
        load(other, seed=7)
        assert fingerprint(other) == fingerprint(installer)
    finally:
        other.dispose()


def test_another_seed_other_data(installer: Database, second_database: URL) -> None:
    load(installer, seed=7)
    other = bootstrap.connect_url(second_database)
    try:
        load(other, seed=8)
        assert fingerprint(other)["customer"] != fingerprint(installer)["customer"]
    finally:
        other.dispose()


def test_loading_twice_is_refused_unless_append(installer: Database) -> None:
    first = load(installer)
    before = fingerprint(installer)
    with pytest.raises(data.DemoDataError, match="already has customers.*--append"):
        load(installer)
    assert fingerprint(installer) == before
    second = load(installer, append=True)
    assert scalar(installer, "SELECT count(*) FROM customer") == first.customers + second.customers
    assert scalar(installer, "SELECT count(*) FROM ticket") == first.tickets + second.tickets
    # New rows after the demo data get fresh ids (the sequences were moved past the loaded ones).
    new_id = scalar(installer, "INSERT INTO customer (account_number, name, segment, customer_since)"
                               " VALUES ('NEW-1', 'Νέος Πελάτης', 'bronze', '2020-01-01') RETURNING id")
    assert new_id > scalar(installer, "SELECT max(id) FROM customer WHERE account_number <> 'NEW-1'")


def test_a_failed_load_leaves_nothing(installer: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    triggers = user_triggers(installer)

    def explode(self: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(data._Generator, "write_services", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        load(installer)
    assert scalar(installer, "SELECT count(*) FROM customer") == 0
    assert scalar(installer, "SELECT count(*) FROM ticket") == 0
    assert user_triggers(installer) == triggers


def test_triggers_are_back_and_the_load_sent_no_notifications(installer: Database, database_url: URL) -> None:
    triggers = user_triggers(installer)
    assert all(state == "O" for _t, _n, state in triggers)
    listener = psycopg2.connect(url_text(database_url.set(drivername="postgresql")))
    listener.autocommit = True
    try:
        with listener.cursor() as cur:
            cur.execute("LISTEN agentdesk_changes")
        summary = load(installer)
        assert summary.tickets > 0
        select.select([listener], [], [], 0.5)
        listener.poll()
        assert listener.notifies == []
        assert user_triggers(installer) == triggers
        # And afterwards the triggers work again: stamps and notifications.
        ticket = scalar(installer, "UPDATE ticket SET reason = 'changed', updated_by = 'nobody' WHERE id = (SELECT"
                                   " min(id) FROM ticket WHERE state = 'queued') RETURNING id")
        assert scalar(installer, "SELECT updated_by FROM ticket WHERE id = :i", i=ticket) == installer.user
        select.select([listener], [], [], 5)
        listener.poll()
        assert [n.channel for n in listener.notifies] == ["agentdesk_changes"]
    finally:
        listener.close()


# -- the bulk path (foreign keys and indexes set aside, chunks loaded while generating) ---------------------


def test_bulk_load_restores_the_schema_exactly(installer: Database, database_url: URL,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "BULK_ROWS", 0)
    monkeypatch.setattr(data, "CHUNK_TICKETS", 25)
    before = constraints_and_indexes(installer)
    triggers = user_triggers(installer)
    summary = load(installer, customers=60, tickets=140)
    assert scalar(installer, "SELECT count(*) FROM ticket") == summary.tickets == 140
    assert scalar(installer, "SELECT count(DISTINCT state) FROM ticket") == len(TICKET_STATES)
    assert constraints_and_indexes(installer) == before
    assert user_triggers(installer) == triggers
    assert schema_differences(database_url) == []
    assert scalar(installer, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated") == 0


def test_bulk_and_row_by_row_loads_give_the_same_data(installer: Database, second_database: URL,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    load(installer, seed=3)
    monkeypatch.setattr(data, "BULK_ROWS", 0)
    monkeypatch.setattr(data, "CHUNK_TICKETS", 10)
    other = bootstrap.connect_url(second_database)
    try:
        load(other, seed=3)
        assert fingerprint(other) == fingerprint(installer)
    finally:
        other.dispose()


def test_older_history_is_summarised_but_consistent(installer: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big sets keep two events for older closed tickets; a retained one still has offer, discount, records."""
    monkeypatch.setattr(data, "DETAILED_LIMIT", 50)
    monkeypatch.setattr(data, "DETAILED_CLOSED", 10)
    summary = load(installer, customers=150, tickets=400)
    assert set(summary.tickets_by_state) == set(TICKET_STATES)
    short = scalar(installer, "SELECT count(*) FROM (SELECT ticket_id FROM ticket_event GROUP BY ticket_id"
                              " HAVING count(*) = 2) x")
    assert short > 200
    assert scalar(installer, "SELECT count(*) FROM ticket WHERE resolution = 'retained'") > 50
    assert_discount_chain(installer)
    assert scalar(installer, "SELECT count(*) FROM ticket t WHERE state = 'closed' AND (SELECT kind FROM"
                             " ticket_event e WHERE e.ticket_id = t.id ORDER BY id DESC LIMIT 1) <> 'closed'") == 0


def test_a_failed_bulk_load_leaves_nothing(installer: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "BULK_ROWS", 0)
    monkeypatch.setattr(data, "CHUNK_TICKETS", 20)
    before = constraints_and_indexes(installer)
    original = data._Chunk.copy_into

    def fail_on_events(self: data._Chunk, conn: object) -> None:
        if self.table == "ticket_event":
            raise RuntimeError("connection lost")
        original(self, conn)  # type: ignore[arg-type]

    monkeypatch.setattr(data._Chunk, "copy_into", fail_on_events)
    with pytest.raises(RuntimeError, match="connection lost"):
        load(installer)
    assert scalar(installer, "SELECT count(*) FROM ticket") == 0
    assert constraints_and_indexes(installer) == before


# -- sizes --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customers", "tickets", "field", "message"),
    [
        (-1, 10, "customers", "0 or more"),
        (10, -5, "tickets", "0 or more"),
        (10, 0, "tickets", "at least 6"),
        (0, 10, "customers", "need customers"),
        (10_000_000, 10, "customers", "too many"),
        (10, 100_000_000, "tickets", "too many"),
        (2, 5_000, "tickets", "absurd"),
    ],
)
def test_bad_sizes_are_refused(customers: int, tickets: int, field: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        data.check_sizes(customers, tickets)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


def test_nothing_but_reference_data_and_users(installer: Database) -> None:
    summary = load(installer, customers=0, tickets=0)
    assert (summary.customers, summary.tickets) == (0, 0)
    assert scalar(installer, "SELECT count(*) FROM app_user WHERE role_name = 'mark.manager'") == 1


# -- the command ----------------------------------------------------------------------------------------------


CliRun = Callable[..., object]


def test_command_loads_then_refuses_a_second_time(run_agentdesk, database_url: URL, installer: Database) -> None:
    url = url_text(database_url)
    done = run_agentdesk("--database-url", url, "demo-data", "--customers", "40", "--tickets", "30", "--seed", "5",
                         "--today", TODAY.isoformat())
    assert done.returncode == 0, done.stderr
    assert "loaded 40 customers" in done.stdout
    assert f"password {data.DEMO_PASSWORD}" in done.stdout
    assert scalar(installer, "SELECT count(*) FROM ticket") == 30

    again = run_agentdesk("--database-url", url, "demo-data", "--customers", "40", "--tickets", "30")
    assert "--append" in one_line_error(again)
    assert scalar(installer, "SELECT count(*) FROM ticket") == 30

    more = run_agentdesk("--database-url", url, "demo-data", "--customers", "10", "--tickets", "6", "--append")
    assert more.returncode == 0, more.stderr
    assert scalar(installer, "SELECT count(*) FROM ticket") == 36


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--customers", "-3"), "--customers must be 0 or more"),
        (("--customers", "50", "--tickets", "0"), "--tickets must be at least 6"),
        (("--customers", "0", "--tickets", "50"), "need customers"),
        (("--customers", "99999999"), "too many"),
        (("--today", "31/12/2025"), "--today must be a date"),
    ],
)
def test_command_refuses_bad_arguments_in_one_line(run_agentdesk, database_url: URL, args: tuple[str, ...],
                                                   expected: str) -> None:
    result = run_agentdesk("--database-url", url_text(database_url), "demo-data", *args)
    assert expected in one_line_error(result)


# -- the demo data works with the real services -------------------------------------------------------------


def test_the_demo_users_can_work_the_demo_tickets(installer: Database, database_url: URL) -> None:
    """The whole workflow continues from the demo data through the services (and their database guards)."""
    from agentdesk.services import accounting, approvals, offers, queues

    data.load_small_demo(installer, TODAY)

    def as_user(name: str) -> Database:
        return bootstrap.connect_url(database_url.set(username=name, password=data.DEMO_PASSWORD))

    opened: list[Database] = []
    try:
        # A CSR takes the next ticket from the retention queue.
        anna = as_user("anna.csr")
        opened.append(anna)
        taken = queues.take_next(anna, "retention")
        assert taken is not None and taken.assigned_to == "anna.csr"

        # The customer accepts an offer that is waiting (terms checked against their hash).
        offer_id, assignee = sql(installer, "SELECT o.id, t.assigned_to FROM offer o JOIN ticket t ON t.id ="
                                            " o.ticket_id WHERE t.state = 'offer_pending' AND o.state = 'sent'"
                                            " ORDER BY o.id LIMIT 1")[0]
        csr = as_user(assignee)
        opened.append(csr)
        assert offers.verify_terms(offers.get_offer(csr, offer_id))
        accepted = offers.accept_offer(csr, offer_id, "phone")
        assert accepted.offer.state == "accepted"

        # A manager approves a discount that waits for approval (four eyes, cap, approving unit).
        mark = as_user("mark.manager")
        opened.append(mark)
        discount_id, version = sql(installer, "SELECT id, version FROM adhoc_discount WHERE state ="
                                              " 'pending_approval' AND ticket_id IS NOT NULL ORDER BY id LIMIT 1")[0]
        assert approvals.approve_discount(mark, discount_id, version).state == "approved"

        # Accounting approves a ticket in its queue: billing item records, ticket closed as retained.
        alice = as_user("alice.accounting")
        opened.append(alice)
        ticket_id, version = sql(installer, "SELECT id, version FROM ticket WHERE state = 'accounting'"
                                            " ORDER BY id LIMIT 1")[0]
        result = accounting.accounting_approve(alice, ticket_id, version)
        assert result.records
        assert scalar(installer, "SELECT resolution FROM ticket WHERE id = :i", i=ticket_id) == "retained"
    finally:
        for db in opened:
            db.dispose()
