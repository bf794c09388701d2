"""Role boundaries, checked with raw SQL over real connections as each role.

Whatever a client sends, the database decides: these statements bypass every service function on purpose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from agentdesk import bootstrap
from agentdesk.bootstrap import Database
from agentdesk.domain.errors import AgentDeskError, PermissionDenied, RuleViolation
from agentdesk.services import users as user_service

from .conftest import scalar, sql

Connect = Callable[[str], Database]


@dataclass(frozen=True)
class Service:
    customer_id: int
    subscription_id: int
    main_item_id: int
    ticket_id: int


@pytest.fixture
def service(installer: Database) -> Service:
    """One customer with a monthly subscription (one main package) and an open ticket, made as the installer."""
    with installer.session() as s:
        customer_id = s.execute(text(
            "INSERT INTO customer (account_number, name, segment, customer_since, lifetime_value)"
            " VALUES ('R-1', 'Ελένη Γεωργίου', 'gold', '2015-01-01', 3000) RETURNING id")).scalar_one()
        subscription_id = s.execute(text(
            "INSERT INTO subscription (number, customer_id, billing_frequency, start_date)"
            " VALUES ('RS-1', :c, 'monthly', '2015-01-01') RETURNING id"), {"c": customer_id}).scalar_one()
        item_id = s.execute(text(
            "INSERT INTO billing_item (subscription_id, product_id, is_main, unit_price, description)"
            " SELECT :s, id, true, price, name FROM product WHERE code = 'FIBRE-500' RETURNING id"),
            {"s": subscription_id}).scalar_one()
        ticket_id = s.execute(text(
            "INSERT INTO ticket (number, customer_id, subscription_id, channel, call_type, queue_unit_id, due_at)"
            " SELECT 'RT-1', :c, :s, 'phone', 'cancellation', id, now() + interval '1 hour'"
            " FROM unit WHERE code = 'retention' RETURNING id"), {"c": customer_id, "s": subscription_id}).scalar_one()
    return Service(customer_id, subscription_id, item_id, ticket_id)


def provide_discount(db: Database, service: Service, code: str = "ZX-SUB-RANGE", **columns: object) -> int:
    """An ad hoc discount provided by `db`'s user the only way the database allows: the user works the
    ticket, verifies the caller, makes an offer and records its acceptance in the transaction that inserts
    the discount. CRM.COM scenario 1 (manual approval by the Customer Care managers) by default."""
    sql(db, "UPDATE ticket SET state = 'in_progress', assigned_to = session_user WHERE id = :t AND state = 'queued'",
        t=service.ticket_id)
    sql(db, "UPDATE ticket SET verified_at = now() WHERE id = :t AND verified_at IS NULL", t=service.ticket_id)
    offer = scalar(
        db,
        "INSERT INTO offer (ticket_id, definition_id, amount, billing_item_ids, terms, terms_hash, acceptance_ref,"
        " expires_at) SELECT :t, id, CASE WHEN value_kind = 'amount_range' THEN 20.00 ELSE amount END,"
        " ARRAY[:item]::bigint[], '{}', repeat('a', 64), 'RT-' || substr(md5(random()::text), 1, 12),"
        " now() + interval '7 days' FROM discount_definition WHERE code = :code AND active RETURNING id",
        t=service.ticket_id, item=service.main_item_id, code=code,
    )
    names = "".join(f", {c}" for c in columns)
    values = "".join(f", :{c}" for c in columns)
    with db.session() as s:
        s.execute(text("UPDATE offer SET state = 'accepted', accepted_channel = 'phone' WHERE id = :o"), {"o": offer})
        return int(s.execute(text(
            "INSERT INTO adhoc_discount (customer_id, subscription_id, ticket_id, offer_id, definition_id, value_kind,"
            f" amount{names}) SELECT :customer, :subscription, :ticket, o.id, o.definition_id, d.value_kind,"
            f" o.amount{values} FROM offer o JOIN discount_definition d ON d.id = o.definition_id WHERE o.id = :o"
            " RETURNING id"),
            {"customer": service.customer_id, "subscription": service.subscription_id, "ticket": service.ticket_id,
             "o": offer, **columns}).scalar_one())


def test_a_discount_without_an_accepted_offer_is_refused(connect_as: Connect, service: Service) -> None:
    with pytest.raises(PermissionDenied, match="accepting an offer"):
        sql(connect_as("csr"), "INSERT INTO adhoc_discount (customer_id, subscription_id, definition_id, value_kind,"
                               " amount) SELECT :c, :s, id, value_kind, 20 FROM discount_definition"
                               " WHERE code = 'RET-15PCT-6M'", c=service.customer_id, s=service.subscription_id)


def discount_state(db: Database, discount_id: int) -> tuple[str, str | None]:
    row = sql(db, "SELECT state, approved_by FROM adhoc_discount WHERE id = :i", i=discount_id)[0]
    return row[0], row[1]


def new_invoice(db: Database, service: Service) -> int:
    """A draft invoice in this year's series (INV-YYYY: the only series an invoice is issued in)."""
    return int(scalar(
        db,
        "INSERT INTO invoice (series, customer_id, period_start, period_end, buyer_name, buyer_address,"
        " net_total, tax_total, gross_total) SELECT invoice_series || '-' || to_char(current_date, 'YYYY'), :c,"
        " '2025-01-01', '2025-01-31', 'Ελένη Γεωργίου', 'Stasinou Street 4, 1060 Nicosia', 100.00, 19.00, 119.00"
        " FROM company_settings RETURNING id",
        c=service.customer_id,
    ))


def issue(db: Database, invoice_id: int) -> int:
    return int(scalar(db, "UPDATE invoice SET state = 'issued' WHERE id = :i RETURNING number", i=invoice_id))


# -- CSR ------------------------------------------------------------------------------------------------


def test_csr_cannot_approve_a_discount(connect_as: Connect, service: Service) -> None:
    csr = connect_as("csr")
    discount = provide_discount(csr, service)
    for who in ("csr", "csr2"):
        with pytest.raises(PermissionDenied, match="Only a manager"):
            sql(connect_as(who), "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=discount)
    assert discount_state(csr, discount) == ("pending_approval", None)


def test_csr_cannot_insert_an_approved_manual_discount(connect_as: Connect, service: Service) -> None:
    csr = connect_as("csr")
    with pytest.raises(PermissionDenied, match="needs a manager"):
        provide_discount(csr, service, state="approved")
    assert scalar(csr, "SELECT count(*) FROM adhoc_discount") == 0


def test_csr_cannot_issue_an_invoice(connect_as: Connect, service: Service) -> None:
    invoice = new_invoice(connect_as("accounting"), service)
    csr = connect_as("csr")
    with pytest.raises(PermissionDenied):
        sql(csr, "UPDATE invoice SET state = 'issued' WHERE id = :i", i=invoice)
    with pytest.raises(PermissionDenied):
        new_invoice(csr, service)
    assert scalar(csr, "SELECT state FROM invoice WHERE id = :i", i=invoice) == "draft"


def test_ticket_events_are_append_only_for_a_csr(connect_as: Connect, service: Service, test_users) -> None:
    csr = connect_as("csr")
    event = scalar(csr, "INSERT INTO ticket_event (ticket_id, kind, summary) VALUES (:t, 'note', 'called back')"
                        " RETURNING id", t=service.ticket_id)
    for statement in ("UPDATE ticket_event SET summary = 'nothing happened' WHERE id = :i",
                      "DELETE FROM ticket_event WHERE id = :i",
                      "TRUNCATE ticket_event"):
        with pytest.raises(PermissionDenied):
            sql(csr, statement, i=event)
    assert sql(csr, "SELECT summary, actor FROM ticket_event WHERE id = :i", i=event) == [
        ("called back", test_users["csr"].name)]


def test_ticket_events_are_append_only_even_for_the_superuser(installer: Database, service: Service) -> None:
    event = scalar(installer, "INSERT INTO ticket_event (ticket_id, kind) VALUES (:t, 'created') RETURNING id",
                   t=service.ticket_id)
    for statement in ("UPDATE ticket_event SET kind = 'x' WHERE id = :i", "DELETE FROM ticket_event WHERE id = :i",
                      "TRUNCATE ticket_event"):
        with pytest.raises(PermissionDenied, match="append-only"):
            sql(installer, statement, i=event)
    assert scalar(installer, "SELECT count(*) FROM ticket_event") == 1


def test_csr_cannot_write_someone_elses_name(connect_as: Connect, service: Service, test_users) -> None:
    csr = connect_as("csr")
    me = test_users["csr"].name
    note = scalar(csr, "INSERT INTO ticket_note (ticket_id, author, body, created_at)"
                       " VALUES (:t, 'someone', 'hello', '2001-01-01') RETURNING id", t=service.ticket_id)
    author, created = sql(csr, "SELECT author, created_at FROM ticket_note WHERE id = :i", i=note)[0]
    assert author == me
    assert created.year > 2001
    discount = provide_discount(csr, service, provided_by="x", approved_by=test_users["manager"].name)
    assert sql(csr, "SELECT provided_by, approved_by FROM adhoc_discount WHERE id = :i", i=discount) == [(me, None)]
    # ...nor rewrite the stamp afterwards.
    sql(csr, "UPDATE adhoc_discount SET provided_by = 'x', amount = 15 WHERE id = :i", i=discount)
    assert scalar(csr, "SELECT provided_by FROM adhoc_discount WHERE id = :i", i=discount) == me
    sql(csr, "UPDATE ticket SET created_by = 'x', updated_by = 'y', reason = 'moving' WHERE id = :i",
        i=service.ticket_id)
    assert sql(csr, "SELECT created_by, updated_by FROM ticket WHERE id = :i", i=service.ticket_id)[0][1] == me


def test_csr_cannot_create_users_or_roles(connect_as: Connect) -> None:
    csr = connect_as("csr")
    with pytest.raises(PermissionDenied):
        sql(csr, "SELECT admin_add_user('mallory', 'Mallory', 'admin', 'SCRAM-SHA-256$4096:x$y:z')")
    with pytest.raises(PermissionDenied):
        sql(csr, "CREATE ROLE mallory LOGIN PASSWORD 'secret-123'")
    with pytest.raises(PermissionDenied):
        sql(csr, "INSERT INTO app_user (role_name, display_name, role) VALUES ('mallory', 'M', 'admin')")
    with pytest.raises(AgentDeskError):
        user_service.add_user(csr, "mallory", role="admin", password="long-enough-1")
    assert scalar(csr, "SELECT count(*) FROM pg_roles WHERE rolname = 'mallory'") == 0


def test_drafts_are_private(connect_as: Connect, service: Service) -> None:
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    sql(csr, "INSERT INTO draft (ticket_id, payload) VALUES (:t, '{\"reason\": \"secret\"}')", t=service.ticket_id)
    assert scalar(csr, "SELECT count(*) FROM draft") == 1
    assert scalar(csr2, "SELECT count(*) FROM draft") == 0
    assert sql(csr2, "UPDATE draft SET payload = '{}' RETURNING id") == []
    assert sql(csr2, "DELETE FROM draft RETURNING id") == []
    # A draft written "for" someone else is stamped with the writer's own name, and stays the writer's.
    sql(csr2, "INSERT INTO draft (ticket_id, owner, payload) VALUES (:t, :o, '{}')", t=service.ticket_id, o=csr.user)
    assert sql(csr2, "SELECT owner FROM draft") == [(csr2.user,)]
    assert sql(csr, "SELECT owner, payload->>'reason' FROM draft") == [(csr.user, "secret")]


def test_csr_cannot_edit_discount_definitions_or_products(connect_as: Connect) -> None:
    csr = connect_as("csr")
    for statement in (
        "UPDATE discount_definition SET amount_max = 500 WHERE code = 'ZX-SUB-RANGE'",
        "INSERT INTO discount_definition (code, name, value_kind, percentage, effective_date)"
        " VALUES ('FREE-4-ME', 'Everything free', 'percentage', 100, '2020-01-01')",
        "UPDATE product SET price = 0 WHERE code = 'FIBRE-1000'",
        "DELETE FROM product WHERE code = 'FIBRE-1000'",
        "UPDATE customer SET lifetime_value = 99999, segment = 'platinum'",
        "UPDATE routing_rule SET unit_id = unit_id",
    ):
        with pytest.raises(PermissionDenied):
            sql(csr, statement)
    assert scalar(csr, "SELECT price FROM product WHERE code = 'FIBRE-1000'") > 0


# -- managers -------------------------------------------------------------------------------------------


def test_manager_cannot_approve_his_own_discount(connect_as: Connect, service: Service, test_users) -> None:
    manager = connect_as("manager")
    discount = provide_discount(manager, service)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        sql(manager, "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=discount)
    assert discount_state(manager, discount) == ("pending_approval", None)
    sql(connect_as("manager2"), "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=discount)
    assert discount_state(manager, discount) == ("approved", test_users["manager2"].name)


def test_manager_outside_the_approving_unit_cannot_approve(connect_as: Connect, service: Service, test_users) -> None:
    discount = provide_discount(connect_as("csr"), service)
    with pytest.raises(PermissionDenied, match="Customer Care managers"):
        sql(connect_as("outside_manager"), "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=discount)
    manager = connect_as("manager")
    assert discount_state(manager, discount) == ("pending_approval", None)
    sql(manager, "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=discount)
    assert discount_state(manager, discount) == ("approved", test_users["manager"].name)


def test_decided_discount_cannot_change(connect_as: Connect, service: Service) -> None:
    discount = provide_discount(connect_as("csr"), service)
    manager = connect_as("manager")
    sql(manager, "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=discount)
    with pytest.raises(RuleViolation, match="Only Pending Approval"):
        sql(manager, "UPDATE adhoc_discount SET amount = 5 WHERE id = :i", i=discount)


# -- accounting and invoices ----------------------------------------------------------------------------


def test_issued_invoice_cannot_be_edited(connect_as: Connect, service: Service) -> None:
    accounting = connect_as("accounting")
    invoice = new_invoice(accounting, service)
    sql(accounting, "INSERT INTO invoice_line (invoice_id, line_no, description, frequency, period_start, period_end,"
                    " unit_price, gross_amount, net_amount, tax_rate, tax_amount) VALUES (:i, 1, 'Fibre 500',"
                    " 'monthly', '2025-01-01', '2025-01-31', 100, 100, 100, 19, 19)", i=invoice)
    assert issue(accounting, invoice) == 1
    for statement in ("UPDATE invoice SET gross_total = 1, tax_total = 0, net_total = 1 WHERE id = :i",
                      "UPDATE invoice SET buyer_name = 'Someone else' WHERE id = :i",
                      "UPDATE invoice SET number = 99 WHERE id = :i",
                      "UPDATE invoice SET state = 'draft' WHERE id = :i",
                      "DELETE FROM invoice WHERE id = :i",
                      "UPDATE invoice_line SET unit_price = 1 WHERE invoice_id = :i",
                      "DELETE FROM invoice_line WHERE invoice_id = :i"):
        with pytest.raises(RuleViolation):
            sql(accounting, statement, i=invoice)
    assert sql(accounting, "SELECT state, number, gross_total, buyer_name FROM invoice WHERE id = :i", i=invoice) == [
        ("issued", 1, 119, "Ελένη Γεωργίου")]
    # What is paid moves only by recording a payment.
    with pytest.raises(PermissionDenied):
        sql(accounting, "UPDATE invoice SET paid_total = 119 WHERE id = :i", i=invoice)
    sql(accounting, "INSERT INTO payment (invoice_id, amount, currency, received_on) VALUES (:i, 119, 'EUR',"
                    " current_date)", i=invoice)
    assert scalar(accounting, "SELECT paid_total FROM invoice WHERE id = :i", i=invoice) == 119


def test_accounting_issues_gap_free_numbers(connect_as: Connect, service: Service, installer: Database) -> None:
    accounting = connect_as("accounting")
    invoices = [new_invoice(accounting, service) for _ in range(4)]
    assert issue(accounting, invoices[0]) == 1
    # An issue that is rolled back gives its number back.
    with pytest.raises(RuntimeError), accounting.session() as s:
        number = s.execute(text("UPDATE invoice SET state = 'issued' WHERE id = :i RETURNING number"),
                           {"i": invoices[1]}).scalar_one()
        assert number == 2
        raise RuntimeError("printer on fire")
    assert scalar(accounting, "SELECT state FROM invoice WHERE id = :i", i=invoices[1]) == "draft"
    assert [issue(accounting, i) for i in (invoices[2], invoices[1], invoices[3])] == [2, 3, 4]
    numbers = [n for (n,) in sql(accounting, "SELECT number FROM invoice WHERE state = 'issued' ORDER BY number")]
    assert numbers == [1, 2, 3, 4]
    # Nobody takes a number any other way.
    with pytest.raises(PermissionDenied):
        sql(accounting, "UPDATE invoice_counter SET next_number = next_number + 10")
    # Issue date and issuer are stamped by the database.
    issued_by, issue_date = sql(accounting, "SELECT issued_by, issue_date FROM invoice WHERE id = :i",
                                i=invoices[0])[0]
    assert issued_by == accounting.user
    assert issue_date == scalar(installer, "SELECT current_date")
    assert isinstance(issue_date, dt.date)


def test_manager_cannot_issue_an_invoice(connect_as: Connect, service: Service) -> None:
    invoice = new_invoice(connect_as("accounting"), service)
    with pytest.raises(PermissionDenied):
        sql(connect_as("manager"), "UPDATE invoice SET state = 'issued' WHERE id = :i", i=invoice)


# -- administrators ---------------------------------------------------------------------------------------


def test_admin_can_add_users_who_can_sign_in(connect_as: Connect, database_url, pg_server) -> None:
    admin = connect_as("admin")
    name = f"newcsr_{pg_server.run_id}"
    info = user_service.add_user(admin, name, role="csr", password="brand-new-pass", display_name="Νέα Υπάλληλος",
                                 units=("retention",))
    assert (info.role, info.units, info.active) == ("csr", ("retention",), True)
    newcomer = bootstrap.connect_url(database_url.set(username=name, password="brand-new-pass"))
    try:
        assert scalar(newcomer, "SELECT session_user") == name
        assert scalar(newcomer, "SELECT app_has_role('csr') AND NOT app_has_role('admin')") is True
        with pytest.raises(PermissionDenied):
            sql(newcomer, "SELECT admin_set_user_active(:n, false)", n=connect_as("csr").user)
    finally:
        newcomer.dispose()
    user_service.set_active(admin, name, False)
    with pytest.raises(bootstrap.ConnectionFailed, match="disabled"):
        bootstrap.connect_url(database_url.set(username=name, password="brand-new-pass"))
