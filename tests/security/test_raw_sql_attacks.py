"""Raw SQL attacks over real connections, one per test, as each application role.

The rule under test: a person with the app's database credentials and psql can do no more than the app
lets them. Every test types one statement (or one short transaction) such a person could type, bypassing
every service function, and asserts that the database refuses it, or that the forged value was replaced
by the true one. Legitimate starting points (a claimed ticket, an offer, a discount waiting for approval)
are made through the real services as the same test users; the installer only arranges reference data.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from builders import ServiceRef, add_job, add_subscription, make_customer, ticket_in_progress
from sqlalchemy import text
from sqlalchemy.engine import CursorResult

from agentdesk.bootstrap import Database
from agentdesk.domain.errors import AgentDeskError, PermissionDenied, RuleViolation, ValidationError
from agentdesk.services import approvals, drafts, offers
from agentdesk.services import users as user_service
from agentdesk.services.dto import TicketSummary

Connect = Callable[[str], Database]
NAMES: dict[str, str] = {}  # test user key -> login role, filled by the autouse fixture below


@pytest.fixture(autouse=True)
def _names(test_users: dict[str, Any]) -> None:
    NAMES.update({key: user.name for key, user in test_users.items()})


@pytest.fixture(autouse=True)
def _rules_run_into_next_year(installer: Database) -> None:
    """In December a definition ending on 31/12 cannot start with January's period, so no offer of it could
    be made: run such definitions a year longer, as the business does when it renews its rules."""
    if dt.date.today().month == 12:
        run(installer, "UPDATE discount_definition SET expiration_date = expiration_date + 365,"
                       " duration_until = duration_until + 365 WHERE expiration_date = :end",
            end=dt.date(dt.date.today().year, 12, 31))


def run(db: Database, statement: str, **params: Any) -> list[Any]:
    """One raw statement as `db`'s user, in its own transaction; its rows, if any."""
    with db.session() as s:
        result = s.execute(text(statement), params)
        return list(result.all()) if isinstance(result, CursorResult) and result.returns_rows else []


def one(db: Database, statement: str, **params: Any) -> Any:
    rows = run(db, statement, **params)
    return rows[0][0] if rows else None


def row(db: Database, statement: str, **params: Any) -> Any:
    rows = run(db, statement, **params)
    assert rows, statement
    return rows[0]


# -- legitimate starting points ----------------------------------------------------------------------------


@pytest.fixture
def service(installer: Database) -> ServiceRef:
    """A gold customer's monthly subscription: fibre (the main service) and a sports add-on."""
    customer = make_customer(installer, segment="gold", lifetime_value="1200.00", email="eleni@example.com")
    return add_subscription(installer, customer, products=("FIBRE-100", "TV-SPORTS"))


@pytest.fixture
def friend(installer: Database) -> ServiceRef:
    """Someone else's subscription that nobody has a ticket about."""
    customer = make_customer(installer, segment="bronze", lifetime_value="10.00", email="friend@example.com")
    return add_subscription(installer, customer, products=("FIBRE-100",))


@pytest.fixture
def ticket(connect_as: Connect, service: ServiceRef) -> TicketSummary:
    """A cancellation ticket the CSR claimed, caller verified, through the real services."""
    return ticket_in_progress(connect_as("csr"), service, call_type="cancellation")


def definition(db: Database, code: str) -> int:
    return int(one(db, "SELECT id FROM discount_definition WHERE code = :c AND active", c=code))


@pytest.fixture
def offer(connect_as: Connect, ticket: TicketSummary, service: ServiceRef) -> offers.OfferInfo:
    """10.00 off the fibre line (ZX-SUB-RANGE: 5-20, a manager approves), e-mailed to the customer."""
    csr = connect_as("csr")
    return offers.make_offer(csr, ticket.id, ticket.version, definition(csr, "ZX-SUB-RANGE"),
                             amount=Decimal("10.00"), billing_item_ids=[service.item_ids[0]])


@pytest.fixture
def pending(connect_as: Connect, offer: offers.OfferInfo) -> offers.DiscountInfo:
    """The customer accepted on the phone: a discount Pending Approval, provided by the CSR."""
    return offers.accept_offer(connect_as("csr"), offer.acceptance_ref, "phone").discount


def new_offer_sql(**overrides: str) -> str:
    """A raw INSERT of an offer on ticket :t with definition :d; columns overridable as SQL text."""
    values = {
        "ticket_id": ":t", "definition_id": ":d", "amount": "NULL", "percentage": "NULL", "free_periods": "NULL",
        "billing_item_ids": ":items", "terms": "'{}'::jsonb", "terms_hash": "repeat('a', 64)",
        "acceptance_ref": "'RAW-' || floor(random() * 1e9)::text", "expires_at": "now() + interval '7 days'",
    } | overrides
    return f"INSERT INTO offer ({', '.join(values)}) VALUES ({', '.join(values.values())}) RETURNING id"


def to_accounting(installer: Database, ticket: TicketSummary) -> None:
    """Put the ticket in the accounting queue (as the installer: no discount needed for the arrangement)."""
    run(installer, "UPDATE ticket SET state = 'accounting' WHERE id = :i", i=ticket.id)


def draft_invoice(db: Database, customer_id: int, series: str = "INV") -> int:
    return int(one(
        db,
        "INSERT INTO invoice (series, customer_id, period_start, period_end, buyer_name, buyer_address,"
        " net_total, tax_total, gross_total, term_discount_amount, term_discount_date) VALUES (:s, :c,"
        " date_trunc('month', current_date)::date, current_date, 'Eleni', '1 Test Street, Nicosia',"
        " 100.00, 19.00, 119.00, 2.00, current_date + 10) RETURNING id",
        s=series, c=customer_id,
    ))


def this_years_series() -> str:
    return f"INV-{dt.date.today().year}"


@pytest.fixture
def issued(connect_as: Connect, service: ServiceRef) -> int:
    """An invoice accounting issued the legitimate way (draft, then issue: the database numbers it)."""
    acct = connect_as("accounting")
    invoice_id = draft_invoice(acct, service.customer.id, this_years_series())
    run(acct, "SELECT billing_issue_invoices(ARRAY[CAST(:i AS bigint)])", i=invoice_id)
    return invoice_id


# =========================================================================================================
# Roles, privileges and the server: escalation attempts by a CSR
# =========================================================================================================

ESCALATIONS: list[tuple[str, str, type[Exception]]] = [
    ("create_role", "CREATE ROLE mallory LOGIN PASSWORD 'x'", PermissionDenied),
    ("grant_self_manager_group", "GRANT agentdesk_manager TO {csr}", PermissionDenied),
    ("grant_self_owner_role", "GRANT agentdesk_owner TO {csr}", PermissionDenied),
    ("set_role_owner", "SET ROLE agentdesk_owner", PermissionDenied),
    ("set_role_manager_group", "SET ROLE agentdesk_manager", PermissionDenied),
    ("make_self_superuser", "ALTER ROLE {csr} SUPERUSER", PermissionDenied),
    ("give_self_createrole", "ALTER ROLE {csr} CREATEROLE", PermissionDenied),
    ("switch_triggers_off", "SET session_replication_role = replica", PermissionDenied),
    ("disable_guard_trigger", "ALTER TABLE adhoc_discount DISABLE TRIGGER a_guard", PermissionDenied),
    ("drop_guard_trigger", "DROP TRIGGER a_guard ON adhoc_discount", PermissionDenied),
    ("alter_table", "ALTER TABLE ticket ADD COLUMN backdoor text", PermissionDenied),
    ("disable_row_security", "ALTER TABLE draft DISABLE ROW LEVEL SECURITY", PermissionDenied),
    ("create_table_in_public", "CREATE TABLE public.stash (x int)", PermissionDenied),
    ("create_function_in_public", "CREATE FUNCTION public.app_in_unit(integer) RETURNS boolean"
                                  " LANGUAGE sql AS 'SELECT true'", PermissionDenied),
    ("create_schema", "CREATE SCHEMA mine", PermissionDenied),
    ("truncate_events", "TRUNCATE ticket_event", PermissionDenied),
    ("truncate_invoices", "TRUNCATE invoice CASCADE", PermissionDenied),
    ("delete_tickets", "DELETE FROM ticket", PermissionDenied),
    ("read_pg_authid", "SELECT rolname, rolpassword FROM pg_authid", PermissionDenied),
    ("read_pg_shadow", "SELECT usename, passwd FROM pg_shadow", PermissionDenied),
    ("read_server_files", "SELECT pg_read_file('postgresql.conf')", PermissionDenied),
    ("copy_from_program", "COPY ticket_note (body) FROM PROGRAM 'id'", PermissionDenied),
    ("add_user_as_csr", "SELECT admin_add_user('mallory', 'Mallory', 'admin', 'SCRAM-SHA-256$4096:x')",
     PermissionDenied),
    ("disable_user_as_csr", "SELECT admin_set_user_active('{manager}', false)", PermissionDenied),
    ("set_colleagues_password", "SELECT admin_set_password('{csr2}', 'SCRAM-SHA-256$4096:x')", PermissionDenied),
    ("call_trigger_function_directly", "SELECT check_discount_cap()", AgentDeskError),
    ("issue_invoices_as_csr", "SELECT billing_issue_invoices(ARRAY[1::bigint])", PermissionDenied),
    ("become_another_user", "SET SESSION AUTHORIZATION {manager}", PermissionDenied),
]


@pytest.mark.parametrize(("statement", "error"), [(s, e) for _, s, e in ESCALATIONS],
                         ids=[name for name, _, _ in ESCALATIONS])
def test_csr_escalation_is_refused(connect_as: Connect, statement: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        run(connect_as("csr"), statement.format(**NAMES))


def test_csr_session_never_becomes_a_member_of_another_group(connect_as: Connect) -> None:
    csr = connect_as("csr")
    groups = {g for (g,) in run(csr, "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid"
                                     " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = session_user")}
    assert groups == {"agentdesk_csr"}


def test_migrated_database_grants_no_temporary_tables(connect_as: Connect, template_db: str) -> None:
    """Temporary tables are searched before public: none may exist to shadow the guards' tables.

    (Checked on the migrated template: a database cloned from it gets PostgreSQL's default ACL.)
    """
    assert one(connect_as("csr"), "SELECT has_database_privilege(:d, 'TEMPORARY')", d=template_db) is False


def test_temp_table_cannot_shadow_definitions_in_the_discount_guard(connect_as: Connect, offer: offers.OfferInfo,
                                                                   service: ServiceRef) -> None:
    """The customer accepted a manual discount; a temp 'discount_definition' saying 'automatic' would let the
    CSR record it as Approved without a manager."""
    csr = connect_as("csr")
    with pytest.raises(AgentDeskError), csr.session() as s:
        s.execute(text("CREATE TEMP TABLE discount_definition AS SELECT * FROM public.discount_definition"))
        s.execute(text("UPDATE pg_temp.discount_definition SET approval = 'automatic', approval_unit_id = NULL"))
        s.execute(text("UPDATE offer SET state = 'accepted', accepted_channel = 'phone' WHERE id = :o"), {"o": offer.id})
        s.execute(text(
            "INSERT INTO adhoc_discount (customer_id, subscription_id, ticket_id, offer_id, definition_id, state,"
            " value_kind, amount) VALUES (:c, :s, :t, :o, :d, 'approved', 'amount_range', 10.00)"),
            {"c": service.customer.id, "s": service.id, "t": offer.ticket_id, "o": offer.id, "d": offer.definition_id})
    assert one(csr, "SELECT count(*) FROM adhoc_discount") == 0


def test_temp_table_cannot_fake_team_membership(connect_as: Connect, service: ServiceRef) -> None:
    from builders import open_ticket

    queued = open_ticket(connect_as("csr"), service, call_type="cancellation")
    senior = connect_as("senior")
    with pytest.raises(AgentDeskError), senior.session() as s:
        s.execute(text("CREATE TEMP TABLE user_unit AS SELECT * FROM public.user_unit"))
        s.execute(text("INSERT INTO pg_temp.user_unit SELECT u.id, t.queue_unit_id FROM app_user u, ticket t"
                       " WHERE u.role_name = session_user AND t.id = :i"), {"i": queued.id})
        s.execute(text("UPDATE ticket SET state = 'in_progress' WHERE id = :i"), {"i": queued.id})


def test_temp_table_cannot_fake_the_approving_unit(connect_as: Connect, pending: offers.DiscountInfo) -> None:
    outsider = connect_as("outside_manager")
    with pytest.raises(PermissionDenied), outsider.session() as s:
        s.execute(text("CREATE TEMP TABLE user_unit AS SELECT * FROM public.user_unit"))
        s.execute(text("INSERT INTO pg_temp.user_unit SELECT u.id, d.approval_unit_id FROM app_user u, adhoc_discount d"
                       " WHERE u.role_name = session_user AND d.id = :i"), {"i": pending.id})
        s.execute(text("UPDATE adhoc_discount SET state = 'approved' WHERE id = :i"), {"i": pending.id})


def test_hardening_survives_a_lone_reapply_of_an_earlier_script(
        connect_as: Connect, installer: Database, database_url: Any, pending: offers.DiscountInfo) -> None:
    """`agentdesk db upgrade` re-runs only the scripts whose text changed: 10_security.sql re-granting and
    re-creating its functions must not undo 90_hardening.sql (migrate.py must re-run every later script)."""
    from agentdesk.db import migrate

    run(installer, "UPDATE schema_script SET checksum = 'stale' WHERE name = '10_security.sql'")
    migrate.upgrade(database_url)
    test_temp_table_cannot_fake_the_approving_unit(connect_as, pending)


# =========================================================================================================
# Discounts for a friend
# =========================================================================================================


def test_csr_cannot_insert_an_approved_discount_of_a_manual_definition(connect_as: Connect, friend: ServiceRef) -> None:
    csr = connect_as("csr")
    with pytest.raises(PermissionDenied):
        run(csr, "INSERT INTO adhoc_discount (customer_id, subscription_id, definition_id, state, value_kind, amount)"
                 " VALUES (:c, :s, :d, 'approved', 'amount_range', 20.00)",
            c=friend.customer.id, s=friend.id, d=definition(csr, "ZX-SUB-RANGE"))


def test_csr_cannot_give_a_friend_an_automatic_discount_without_an_offer(connect_as: Connect, friend: ServiceRef) -> None:
    csr = connect_as("csr")
    with pytest.raises(PermissionDenied):
        run(csr, "INSERT INTO adhoc_discount (customer_id, subscription_id, definition_id, state, value_kind, percentage)"
                 " VALUES (:c, :s, :d, 'approved', 'percentage', 100)",
            c=friend.customer.id, s=friend.id, d=definition(csr, "RET-15PCT-6M"))
    assert one(connect_as("csr"), "SELECT count(*) FROM adhoc_discount") == 0


def test_csr_cannot_assign_a_discount_from_an_unanswered_offer(
        connect_as: Connect, offer: offers.OfferInfo, service: ServiceRef) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"),
            "INSERT INTO adhoc_discount (customer_id, subscription_id, ticket_id, offer_id, definition_id, value_kind,"
            " amount) VALUES (:c, :s, :t, :o, :d, 'amount_range', 10.00)",
            c=service.customer.id, s=service.id, t=offer.ticket_id, o=offer.id, d=offer.definition_id)


def test_csr_cannot_move_an_accepted_offers_discount_to_a_friend(
        connect_as: Connect, offer: offers.OfferInfo, friend: ServiceRef) -> None:
    csr = connect_as("csr")
    with pytest.raises(ValidationError), csr.session() as s:
        s.execute(text("UPDATE offer SET state = 'accepted', accepted_channel = 'phone' WHERE id = :o"), {"o": offer.id})
        s.execute(text(
            "INSERT INTO adhoc_discount (customer_id, subscription_id, ticket_id, offer_id, definition_id, value_kind,"
            " amount) VALUES (:c, :s, :t, :o, :d, 'amount_range', 10.00)"),
            {"c": friend.customer.id, "s": friend.id, "t": offer.ticket_id, "o": offer.id, "d": offer.definition_id})


def test_csr_cannot_swap_the_definition_of_an_accepted_offer(connect_as: Connect, offer: offers.OfferInfo,
                                                             service: ServiceRef) -> None:
    """An automatic definition would make the discount Approved at once: the swap is refused."""
    csr = connect_as("csr")
    with pytest.raises(ValidationError), csr.session() as s:
        s.execute(text("UPDATE offer SET state = 'accepted', accepted_channel = 'phone' WHERE id = :o"), {"o": offer.id})
        s.execute(text(
            "INSERT INTO adhoc_discount (customer_id, subscription_id, ticket_id, offer_id, definition_id, state,"
            " value_kind, percentage) VALUES (:c, :s, :t, :o, :d, 'approved', 'percentage', 15)"),
            {"c": service.customer.id, "s": service.id, "t": offer.ticket_id, "o": offer.id,
             "d": definition(csr, "RET-15PCT-6M")})


def test_forged_discount_values_are_replaced_by_the_accepted_offers(
        connect_as: Connect, offer: offers.OfferInfo, service: ServiceRef) -> None:
    csr = connect_as("csr")
    with csr.session() as s:
        s.execute(text("UPDATE offer SET state = 'accepted', accepted_channel = 'phone' WHERE id = :o"), {"o": offer.id})
        discount_id = s.execute(text(
            "INSERT INTO adhoc_discount (customer_id, subscription_id, ticket_id, offer_id, definition_id, value_kind,"
            " amount, percentage, multiplier, periods_total, effective_date, expiration_date, provided_by)"
            " VALUES (:c, :s, :t, :o, :d, 'percentage', 999.00, 100, 1, 999, '2000-01-01', '2099-12-31', :someone)"
            " RETURNING id"),
            {"c": service.customer.id, "s": service.id, "t": offer.ticket_id, "o": offer.id, "d": offer.definition_id,
             "someone": NAMES["csr2"]}).scalar_one()
    stored = row(csr, "SELECT d.value_kind, d.amount, d.percentage, d.periods_total, d.effective_date,"
                      " d.expiration_date = def.duration_until AS ends_as_defined, d.provided_by, d.state"
                      " FROM adhoc_discount d JOIN discount_definition def ON def.id = d.definition_id"
                      " WHERE d.id = :i", i=discount_id)
    assert stored.value_kind == "amount_range" and stored.amount == Decimal("10.00") and stored.percentage is None
    assert stored.periods_total is None and stored.ends_as_defined  # ZX-SUB-RANGE runs until a date
    assert stored.effective_date >= dt.date.today() - dt.timedelta(days=1)
    assert stored.provided_by == NAMES["csr"] and stored.state == "pending_approval"


def test_csr_cannot_raise_or_move_a_pending_discount(connect_as: Connect, pending: offers.DiscountInfo,
                                                     service: ServiceRef, friend: ServiceRef) -> None:
    csr = connect_as("csr")
    run(csr, "UPDATE adhoc_discount SET amount = 20.00, subscription_id = :s, expiration_date = '2099-12-31'"
             " WHERE id = :i", s=friend.id, i=pending.id)
    stored = row(csr, "SELECT amount, subscription_id, expiration_date FROM adhoc_discount WHERE id = :i", i=pending.id)
    assert tuple(stored) == (Decimal("10.00"), service.id, pending.expiration_date)


def test_csr_cannot_approve_a_pending_discount(connect_as: Connect, pending: offers.DiscountInfo) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=pending.id)


def test_csr_cannot_forge_the_approver(connect_as: Connect, pending: offers.DiscountInfo) -> None:
    csr = connect_as("csr")
    run(csr, "UPDATE adhoc_discount SET approved_by = :m, approved_on = now() WHERE id = :i",
        m=NAMES["manager"], i=pending.id)
    assert row(csr, "SELECT state, approved_by FROM adhoc_discount WHERE id = :i", i=pending.id) == ("pending_approval", None)


def test_csr_cannot_add_billing_items_the_customer_was_not_offered(
        connect_as: Connect, pending: offers.DiscountInfo, service: ServiceRef) -> None:
    with pytest.raises(ValidationError):
        run(connect_as("csr"), "INSERT INTO adhoc_discount_item (discount_id, billing_item_id) VALUES (:d, :b)",
            d=pending.id, b=service.item_ids[1])


def test_colleague_cannot_remove_billing_items_of_my_pending_discount(
        connect_as: Connect, pending: offers.DiscountInfo) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr2"), "DELETE FROM adhoc_discount_item WHERE discount_id = :d", d=pending.id)


def test_csr_cannot_insert_a_billing_item_record(connect_as: Connect, pending: offers.DiscountInfo,
                                                 service: ServiceRef) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"),
            "INSERT INTO billing_item_record (discount_id, billing_item_id, service_description, service_frequency,"
            " service_cost, approved_discount, discount_frequency, discount_percent)"
            " VALUES (:d, :b, 'Fibre', 'monthly', 30, 30, 'monthly', 100)", d=pending.id, b=service.item_ids[0])


def test_csr_cannot_insert_a_discount_application(connect_as: Connect, pending: offers.DiscountInfo,
                                                  service: ServiceRef) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"),
            "INSERT INTO discount_application (discount_id, billing_item_id, invoice_line_id, period_start, amount)"
            " VALUES (:d, :b, 1, current_date, 30)", d=pending.id, b=service.item_ids[0])


def test_csr_cannot_change_a_definitions_amount(connect_as: Connect) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE discount_definition SET amount_max = 500 WHERE code = 'ZX-SUB-RANGE'")


def test_csr_cannot_create_a_definition(connect_as: Connect) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "INSERT INTO discount_definition (code, name, value_kind, percentage, effective_date)"
                               " VALUES ('FRIENDS', 'Friends', 'percentage', 100, current_date)")


def test_csr_cannot_make_a_customer_richer_for_better_offers(connect_as: Connect, service: ServiceRef) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE customer SET lifetime_value = 99999, segment = 'platinum' WHERE id = :c",
            c=service.customer.id)


def test_csr_cannot_erase_a_customers_late_payments(connect_as: Connect, service: ServiceRef) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE customer SET late_payments_12m = 0, customer_since = '1990-01-01'"
                               " WHERE id = :c", c=service.customer.id)


def test_csr_cannot_change_product_prices(connect_as: Connect) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE product SET price = 0")


def test_csr_cannot_change_a_billing_items_price(connect_as: Connect, friend: ServiceRef) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE billing_item SET unit_price = 0 WHERE id = :i", i=friend.item_ids[0])


# =========================================================================================================
# Offers and the acceptance evidence
# =========================================================================================================


def test_csr_cannot_offer_more_than_the_definitions_range(connect_as: Connect, ticket: TicketSummary,
                                                          service: ServiceRef) -> None:
    csr = connect_as("csr")
    with pytest.raises(ValidationError):
        run(csr, new_offer_sql(amount="500.00"), t=ticket.id, d=definition(csr, "ZX-SUB-RANGE"),
            items=[service.item_ids[0]])


def test_csr_cannot_offer_a_bigger_percentage_than_the_definition(connect_as: Connect, ticket: TicketSummary,
                                                                   service: ServiceRef) -> None:
    csr = connect_as("csr")
    with pytest.raises(ValidationError):
        run(csr, new_offer_sql(percentage="100"), t=ticket.id, d=definition(csr, "RET-15PCT-6M"),
            items=[service.item_ids[0]])


def test_csr_cannot_offer_a_friends_billing_items(connect_as: Connect, ticket: TicketSummary,
                                                  friend: ServiceRef) -> None:
    csr = connect_as("csr")
    with pytest.raises(ValidationError):
        run(csr, new_offer_sql(percentage="15"), t=ticket.id, d=definition(csr, "RET-15PCT-6M"),
            items=list(friend.item_ids))


def test_csr_cannot_offer_a_friend_a_discount_for_better_customers(connect_as: Connect, friend: ServiceRef) -> None:
    """RET-25PCT-12M is for platinum and gold customers; the friend is bronze."""
    csr = connect_as("csr")
    theirs = ticket_in_progress(csr, friend, call_type="cancellation")
    with pytest.raises(RuleViolation):
        run(csr, new_offer_sql(percentage="25"), t=theirs.id, d=definition(csr, "RET-25PCT-12M"),
            items=[friend.item_ids[0]])


def test_csr_cannot_offer_a_late_installation_discount_for_a_job_done_on_time(
        connect_as: Connect, installer: Database) -> None:
    csr = connect_as("csr")
    on_time = add_job(installer, make_customer(installer), days_late=0)
    theirs = ticket_in_progress(csr, on_time, call_type="late_installation")
    with pytest.raises(RuleViolation):
        run(csr, new_offer_sql(percentage="50"), t=theirs.id, d=definition(csr, "ZX-JOB-LATE-50"),
            items=[on_time.item_ids[0]])


def test_csr_cannot_offer_an_add_on_discount_on_the_main_service(connect_as: Connect, ticket: TicketSummary,
                                                                 service: ServiceRef) -> None:
    csr = connect_as("csr")
    with pytest.raises(ValidationError):
        run(csr, new_offer_sql(percentage="50"), t=ticket.id, d=definition(csr, "RET-ADDON-HALF"),
            items=[service.item_ids[0]])


def test_csr_cannot_make_an_offer_valid_for_years(connect_as: Connect, ticket: TicketSummary,
                                                  service: ServiceRef) -> None:
    csr = connect_as("csr")
    with pytest.raises(ValidationError):
        run(csr, new_offer_sql(percentage="15", expires_at="now() + interval '3 years'"), t=ticket.id,
            d=definition(csr, "RET-15PCT-6M"), items=[service.item_ids[0]])


def test_csr_cannot_make_an_offer_on_a_colleagues_ticket(connect_as: Connect, ticket: TicketSummary,
                                                         service: ServiceRef) -> None:
    csr2 = connect_as("csr2")
    with pytest.raises(PermissionDenied):
        run(csr2, new_offer_sql(percentage="15"), t=ticket.id, d=definition(csr2, "RET-15PCT-6M"),
            items=list(service.item_ids))


def test_csr_cannot_make_an_offer_on_an_unverified_ticket(connect_as: Connect, service: ServiceRef) -> None:
    csr = connect_as("csr")
    unverified = ticket_in_progress(csr, service, verified=False, call_type="cancellation")
    with pytest.raises(RuleViolation):
        run(csr, new_offer_sql(percentage="15"), t=unverified.id, d=definition(csr, "RET-15PCT-6M"),
            items=list(service.item_ids))


def test_other_team_cannot_record_an_acceptance(connect_as: Connect, offer: offers.OfferInfo) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("senior"), "UPDATE offer SET state = 'accepted', accepted_channel = 'phone' WHERE id = :o",
            o=offer.id)


def test_forged_acceptance_recorder_and_time_are_replaced(connect_as: Connect, offer: offers.OfferInfo) -> None:
    csr = connect_as("csr")
    run(csr, "UPDATE offer SET state = 'accepted', accepted_channel = 'phone', accepted_recorded_by = :who,"
             " accepted_at = '2001-01-01' WHERE id = :o", who=NAMES["csr2"], o=offer.id)
    stored = row(csr, "SELECT accepted_recorded_by, accepted_at > now() - interval '1 minute' FROM offer WHERE id = :o",
                 o=offer.id)
    assert tuple(stored) == (NAMES["csr"], True)


def test_accepted_offer_evidence_cannot_be_rewritten(connect_as: Connect, pending: offers.DiscountInfo,
                                                     offer: offers.OfferInfo) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("csr"), "UPDATE offer SET accepted_channel = 'web', amount = 20.00 WHERE id = :o", o=offer.id)


def test_open_offer_terms_cannot_be_changed(connect_as: Connect, offer: offers.OfferInfo) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("csr"), "UPDATE offer SET amount = 20.00 WHERE id = :o", o=offer.id)


def test_offers_cannot_be_deleted(connect_as: Connect, offer: offers.OfferInfo) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "DELETE FROM offer WHERE id = :o", o=offer.id)


# =========================================================================================================
# Tickets
# =========================================================================================================


def test_csr_cannot_close_a_ticket_as_retained(connect_as: Connect, ticket: TicketSummary) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("csr"), "UPDATE ticket SET state = 'closed', resolution = 'retained' WHERE id = :i", i=ticket.id)


def test_csr_cannot_move_a_ticket_out_of_the_accounting_queue(connect_as: Connect, installer: Database,
                                                               ticket: TicketSummary) -> None:
    to_accounting(installer, ticket)
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE ticket SET state = 'in_progress' WHERE id = :i", i=ticket.id)


def test_csr_cannot_send_a_ticket_to_accounting_without_an_approved_discount(connect_as: Connect,
                                                                            ticket: TicketSummary) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("csr"), "UPDATE ticket SET state = 'accounting' WHERE id = :i", i=ticket.id)


def test_csr_cannot_send_a_ticket_to_accounting_while_a_discount_waits(
        connect_as: Connect, pending: offers.DiscountInfo, ticket: TicketSummary, installer: Database) -> None:
    run(installer, "UPDATE ticket SET state = 'in_progress' WHERE id = :i", i=ticket.id)
    with pytest.raises(RuleViolation):
        run(connect_as("csr"), "UPDATE ticket SET state = 'accounting' WHERE id = :i", i=ticket.id)


def test_csr_cannot_assign_a_ticket_to_a_colleague(connect_as: Connect, ticket: TicketSummary) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE ticket SET assigned_to = :who WHERE id = :i", who=NAMES["csr2"], i=ticket.id)


def test_csr_cannot_take_over_a_colleagues_ticket(connect_as: Connect, ticket: TicketSummary) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr2"), "UPDATE ticket SET assigned_to = :me WHERE id = :i", me=NAMES["csr2"], i=ticket.id)


def test_csr_cannot_claim_another_teams_ticket(connect_as: Connect, service: ServiceRef) -> None:
    from builders import open_ticket

    queued = open_ticket(connect_as("csr"), service, call_type="cancellation")
    with pytest.raises(PermissionDenied):
        run(connect_as("senior"), "UPDATE ticket SET state = 'in_progress' WHERE id = :i", i=queued.id)


def test_verification_time_and_verifier_are_stamped_by_the_database(connect_as: Connect, service: ServiceRef) -> None:
    csr = connect_as("csr")
    claimed = ticket_in_progress(csr, service, verified=False, call_type="cancellation")
    run(csr, "UPDATE ticket SET verified_at = '2001-01-01', verified_by = :who WHERE id = :i",
        who=NAMES["csr2"], i=claimed.id)
    stored = row(csr, "SELECT verified_by, verified_at > now() - interval '1 minute' FROM ticket WHERE id = :i",
                 i=claimed.id)
    assert tuple(stored) == (NAMES["csr"], True)


def test_intake_cannot_start_verified_or_with_a_made_up_customer_value(connect_as: Connect, service: ServiceRef) -> None:
    csr = connect_as("csr")
    ticket_id = one(csr, "INSERT INTO ticket (customer_id, subscription_id, channel, call_type, queue_unit_id, due_at,"
                         " customer_value, verified_at, verified_by, created_by, version)"
                         " SELECT :c, :s, 'phone', 'cancellation', id, now() + interval '1 hour', 999999, now(), :who,"
                         " :who, 42 FROM unit WHERE code = 'retention' RETURNING id",
                    c=service.customer.id, s=service.id, who=NAMES["csr2"])
    stored = row(csr, "SELECT customer_value, verified_at, verified_by, created_by, version FROM ticket WHERE id = :i",
                 i=ticket_id)
    assert tuple(stored) == (Decimal("1200.00"), None, None, NAMES["csr"], 1)


def test_csr_cannot_file_a_ticket_outside_the_service_queues(connect_as: Connect, service: ServiceRef) -> None:
    with pytest.raises(ValidationError):
        run(connect_as("csr"), "INSERT INTO ticket (customer_id, subscription_id, channel, call_type, queue_unit_id,"
                               " due_at) SELECT :c, :s, 'phone', 'cancellation', id, now() FROM unit"
                               " WHERE code = 'customer_care_managers'", c=service.customer.id, s=service.id)


def test_csr_cannot_move_a_due_date(connect_as: Connect, ticket: TicketSummary) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE ticket SET due_at = now() - interval '10 days' WHERE id = :i", i=ticket.id)


def test_ticket_version_cannot_go_backwards(connect_as: Connect, ticket: TicketSummary) -> None:
    csr = connect_as("csr")
    run(csr, "UPDATE ticket SET version = 1, reason = 'changed' WHERE id = :i", i=ticket.id)
    assert one(csr, "SELECT version FROM ticket WHERE id = :i", i=ticket.id) == ticket.version + 1


def test_ticket_identity_cannot_change(connect_as: Connect, ticket: TicketSummary, friend: ServiceRef) -> None:
    csr = connect_as("csr")
    run(csr, "UPDATE ticket SET customer_id = :c, subscription_id = :s, number = 'T-FAKE' WHERE id = :i",
        c=friend.customer.id, s=friend.id, i=ticket.id)
    stored = row(csr, "SELECT customer_id, number FROM ticket WHERE id = :i", i=ticket.id)
    assert tuple(stored) == (ticket.customer_id, ticket.number)


def test_ticket_events_cannot_be_updated(connect_as: Connect, ticket: TicketSummary) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE ticket_event SET summary = 'nothing happened' WHERE ticket_id = :i", i=ticket.id)


def test_ticket_events_cannot_be_deleted(connect_as: Connect, ticket: TicketSummary) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "DELETE FROM ticket_event WHERE ticket_id = :i", i=ticket.id)


WHO_COLUMNS: list[tuple[str, str, str]] = [
    ("ticket_event_actor", "INSERT INTO ticket_event (ticket_id, kind, summary, actor, at)"
                           " VALUES (:t, 'note', 'x', :who, '2001-01-01') RETURNING id", "ticket_event.actor"),
    ("ticket_note_author", "INSERT INTO ticket_note (ticket_id, body, author, created_at)"
                           " VALUES (:t, 'x', :who, '2001-01-01') RETURNING id", "ticket_note.author"),
    ("customer_note_author", "INSERT INTO customer_note (customer_id, body, author)"
                             " SELECT customer_id, 'x', :who FROM ticket WHERE id = :t RETURNING id",
     "customer_note.author"),
    ("draft_owner", "INSERT INTO draft (ticket_id, payload, owner) VALUES (:t, '{}', :who) RETURNING id",
     "draft.owner"),
]


@pytest.mark.parametrize(("statement", "column"), [(s, c) for _, s, c in WHO_COLUMNS],
                         ids=[name for name, _, _ in WHO_COLUMNS])
def test_forged_who_column_is_replaced_by_the_signed_in_user(connect_as: Connect, ticket: TicketSummary,
                                                              statement: str, column: str) -> None:
    csr = connect_as("csr")
    new_id = one(csr, statement, t=ticket.id, who=NAMES["csr2"])
    table, col = column.split(".")
    assert one(csr, f"SELECT {col} FROM {table} WHERE id = :i", i=new_id) == NAMES["csr"]


def test_who_columns_cannot_be_rewritten_later(connect_as: Connect, ticket: TicketSummary) -> None:
    csr = connect_as("csr")
    run(csr, "UPDATE ticket SET created_by = :who, created_at = '2001-01-01', updated_by = :who WHERE id = :i",
        who=NAMES["csr2"], i=ticket.id)
    stored = row(csr, "SELECT created_by, updated_by, created_at > '2002-01-01' FROM ticket WHERE id = :i", i=ticket.id)
    assert tuple(stored) == (NAMES["csr"], NAMES["csr"], True)


# =========================================================================================================
# Drafts are private
# =========================================================================================================


def test_csr_cannot_read_a_colleagues_draft(connect_as: Connect, ticket: TicketSummary) -> None:
    drafts.save_draft(connect_as("csr2"), ticket.id, {"notes": "private"})
    csr = connect_as("csr")
    assert one(csr, "SELECT count(*) FROM draft") == 0


def test_csr_cannot_overwrite_or_delete_a_colleagues_draft(connect_as: Connect, ticket: TicketSummary) -> None:
    csr2 = connect_as("csr2")
    drafts.save_draft(csr2, ticket.id, {"notes": "private"})
    csr = connect_as("csr")
    run(csr, "UPDATE draft SET payload = '{\"notes\": \"mine now\"}'")
    run(csr, "DELETE FROM draft")
    loaded = drafts.load_draft(csr2, ticket.id)
    assert loaded is not None and loaded.payload == {"notes": "private"}


def test_csr_cannot_hand_a_draft_to_a_colleague(connect_as: Connect, ticket: TicketSummary) -> None:
    csr = connect_as("csr")
    drafts.save_draft(csr, ticket.id, {"notes": "mine"})
    run(csr, "UPDATE draft SET owner = :who", who=NAMES["csr2"])  # the owner stamp keeps the true owner
    assert drafts.load_draft(connect_as("csr2"), ticket.id) is None
    assert one(csr, "SELECT owner FROM draft") == NAMES["csr"]


# =========================================================================================================
# Subscriptions and jobs
# =========================================================================================================


def test_csr_cannot_cancel_a_friends_subscription_back_dated(connect_as: Connect, friend: ServiceRef) -> None:
    with pytest.raises(AgentDeskError):
        run(connect_as("csr"), "UPDATE subscription SET state = 'cancelled', end_date = current_date - 60"
                               " WHERE id = :s", s=friend.id)


def test_csr_cannot_cancel_a_subscription_nobody_asked_about(connect_as: Connect, friend: ServiceRef) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE subscription SET state = 'cancelled', end_date = current_date + 30"
                               " WHERE id = :s", s=friend.id)


def test_csr_cannot_reactivate_a_cancelled_subscription(connect_as: Connect, installer: Database) -> None:
    gone = add_subscription(installer, make_customer(installer), state="cancelled")
    with pytest.raises(RuleViolation):
        run(connect_as("csr"), "UPDATE subscription SET state = 'active', end_date = NULL WHERE id = :s", s=gone.id)


def test_csr_cannot_mark_a_job_billed(connect_as: Connect, installer: Database) -> None:
    job = add_job(installer, make_customer(installer))
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE job SET state = 'billed' WHERE id = :j", j=job.id)


# =========================================================================================================
# Writing to customers as the company, and background work
# =========================================================================================================


def test_csr_cannot_email_anyone_as_the_company(connect_as: Connect) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "INSERT INTO outbox_message (kind, dedupe_key, recipient, subject, body)"
                               " VALUES ('email', 'phish-1', 'victim@example.org', 'Your account',"
                               " 'Confirm your card at http://evil.example')")


def test_csr_cannot_send_more_mail_about_an_old_offer(connect_as: Connect, offer: offers.OfferInfo) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "INSERT INTO outbox_message (kind, dedupe_key, recipient, subject, body, ticket_id,"
                               " offer_id) VALUES ('email', :k, 'eleni@example.com', 'Urgent', 'Pay to IBAN X', :t, :o)",
            k=f"offer:{offer.id}:again", t=offer.ticket_id, o=offer.id)


def test_accounting_cannot_rewrite_a_pending_message(connect_as: Connect, offer: offers.OfferInfo) -> None:
    acct = connect_as("accounting")
    run(acct, "UPDATE outbox_message SET recipient = 'victim@example.org', body = 'phish' WHERE offer_id = :o",
        o=offer.id)
    assert tuple(row(acct, "SELECT recipient, body <> 'phish' FROM outbox_message WHERE offer_id = :o",
                     o=offer.id)) == ("eleni@example.com", True)


@pytest.mark.parametrize("who", ["csr", "manager", "admin"])
def test_only_accounting_queues_billing_runs(connect_as: Connect, who: str) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as(who), "INSERT INTO background_job (kind, payload) VALUES ('billing_run', '{\"period\": \"2020-01\"}')")


def test_csr_cannot_requeue_or_edit_background_jobs(connect_as: Connect) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE background_job SET state = 'queued', payload = '{}'")


# =========================================================================================================
# Invoices and payments as a CSR
# =========================================================================================================


def test_csr_cannot_insert_an_invoice(connect_as: Connect, service: ServiceRef) -> None:
    with pytest.raises(PermissionDenied):
        draft_invoice(connect_as("csr"), service.customer.id)


def test_csr_cannot_insert_a_payment(connect_as: Connect, issued: int) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "INSERT INTO payment (invoice_id, amount, currency, received_on)"
                               " VALUES (:i, 119.00, 'EUR', current_date)", i=issued)


def test_csr_cannot_mark_an_invoice_paid(connect_as: Connect, issued: int) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE invoice SET paid_total = gross_total WHERE id = :i", i=issued)


def test_csr_cannot_change_the_invoice_counter(connect_as: Connect, issued: int) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("csr"), "UPDATE invoice_counter SET next_number = 1")


# =========================================================================================================
# Managers
# =========================================================================================================


def test_manager_cannot_approve_a_discount_he_provided(connect_as: Connect, service: ServiceRef) -> None:
    manager = connect_as("manager")
    mine = ticket_in_progress(manager, service, call_type="cancellation")
    made = offers.make_offer(manager, mine.id, mine.version, definition(manager, "ZX-SUB-RANGE"),
                             amount=Decimal("10.00"), billing_item_ids=[service.item_ids[0]])
    discount = offers.accept_offer(manager, made.acceptance_ref, "phone").discount
    with pytest.raises(PermissionDenied):
        run(manager, "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=discount.id)


def test_manager_outside_the_approving_unit_cannot_approve(connect_as: Connect, pending: offers.DiscountInfo) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("outside_manager"), "UPDATE adhoc_discount SET state = 'approved' WHERE id = :i", i=pending.id)


def test_manager_cannot_raise_the_amount_while_approving(connect_as: Connect, pending: offers.DiscountInfo) -> None:
    manager = connect_as("manager")
    run(manager, "UPDATE adhoc_discount SET state = 'approved', amount = 20.00, periods_total = 60"
                 " WHERE id = :i", i=pending.id)
    stored = row(manager, "SELECT state, approved_by, amount, periods_total FROM adhoc_discount WHERE id = :i",
                 i=pending.id)
    assert tuple(stored) == ("approved", NAMES["manager"], Decimal("10.00"), pending.periods_total)


def test_manager_cannot_insert_an_approved_manual_discount(connect_as: Connect, friend: ServiceRef) -> None:
    manager = connect_as("manager")
    with pytest.raises(PermissionDenied):
        run(manager, "INSERT INTO adhoc_discount (customer_id, subscription_id, definition_id, state, value_kind,"
                     " amount) VALUES (:c, :s, :d, 'approved', 'amount_range', 20.00)",
            c=friend.customer.id, s=friend.id, d=definition(manager, "ZX-SUB-RANGE"))


def test_manager_cannot_change_a_used_definitions_amount(connect_as: Connect, pending: offers.DiscountInfo) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("manager"), "UPDATE discount_definition SET amount_max = 500 WHERE id = :d",
            d=pending.definition_id)


def test_approved_discount_cannot_be_reopened(connect_as: Connect, pending: offers.DiscountInfo) -> None:
    manager2 = connect_as("manager2")
    approvals.approve_discount(manager2, pending.id, pending.version)
    with pytest.raises(RuleViolation):
        run(connect_as("manager"), "UPDATE adhoc_discount SET state = 'pending_approval' WHERE id = :i", i=pending.id)


# =========================================================================================================
# Accounting
# =========================================================================================================


def test_accounting_cannot_edit_an_issued_invoice(connect_as: Connect, issued: int) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("accounting"), "UPDATE invoice SET net_total = 1.00, tax_total = 0, gross_total = 1.00"
                                      " WHERE id = :i", i=issued)


def test_accounting_cannot_renumber_an_issued_invoice(connect_as: Connect, issued: int) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("accounting"), "UPDATE invoice SET number = number + 100 WHERE id = :i", i=issued)


def test_accounting_cannot_delete_an_issued_invoice(connect_as: Connect, issued: int) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("accounting"), "DELETE FROM invoice WHERE id = :i", i=issued)


def test_accounting_cannot_change_lines_of_an_issued_invoice(connect_as: Connect, issued: int) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("accounting"),
            "INSERT INTO invoice_line (invoice_id, line_no, description, frequency, period_start, period_end,"
            " unit_price, gross_amount, net_amount, tax_rate, tax_amount) VALUES (:i, 99, 'Extra', 'once',"
            " current_date, current_date, 1, 1, 1, 0, 0)", i=issued)


def test_accounting_cannot_mark_an_invoice_paid_without_a_payment(connect_as: Connect, issued: int) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("accounting"), "UPDATE invoice SET paid_total = gross_total WHERE id = :i", i=issued)


def test_accounting_cannot_mark_an_invoice_credited_without_a_credit_note(connect_as: Connect, issued: int) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("accounting"), "UPDATE invoice SET state = 'credited' WHERE id = :i", i=issued)


def test_accounting_cannot_issue_a_credit_note_for_more_than_the_invoice(connect_as: Connect, issued: int) -> None:
    acct = connect_as("accounting")
    note_id = one(acct, "INSERT INTO invoice (kind, series, customer_id, credits_invoice_id, period_start, period_end,"
                        " buyer_name, buyer_address, net_total, tax_total, gross_total) SELECT 'credit_note', :s,"
                        " customer_id, id, period_start, period_end, buyer_name, buyer_address, 1000.00, 190.00,"
                        " 1190.00 FROM invoice WHERE id = :i RETURNING id", s=f"CN-{dt.date.today().year}", i=issued)
    with pytest.raises(RuleViolation):
        run(acct, "SELECT billing_issue_invoices(ARRAY[CAST(:i AS bigint)])", i=note_id)


def test_accounting_cannot_move_the_invoice_counter(connect_as: Connect, issued: int) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("accounting"), "UPDATE invoice_counter SET next_number = next_number + 10")


def test_accounting_cannot_start_a_new_counter_by_hand(connect_as: Connect) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("accounting"), "INSERT INTO invoice_counter (series, next_number) VALUES ('INV-1999', 1)")


def test_accounting_cannot_issue_into_a_made_up_series(connect_as: Connect, service: ServiceRef) -> None:
    acct = connect_as("accounting")
    invoice_id = draft_invoice(acct, service.customer.id, "INV-1999")
    with pytest.raises(ValidationError):
        run(acct, "UPDATE invoice SET state = 'issued' WHERE id = :i", i=invoice_id)


def test_back_dated_issue_date_is_replaced_by_today(connect_as: Connect, service: ServiceRef) -> None:
    acct = connect_as("accounting")
    invoice_id = draft_invoice(acct, service.customer.id, this_years_series())
    run(acct, "UPDATE invoice SET state = 'issued', issue_date = current_date - 400 WHERE id = :i", i=invoice_id)
    assert one(acct, "SELECT issue_date = current_date FROM invoice WHERE id = :i", i=invoice_id) is True


def test_accounting_cannot_settle_an_invoice_with_a_made_up_discount(connect_as: Connect, issued: int) -> None:
    with pytest.raises(ValidationError):
        run(connect_as("accounting"),
            "INSERT INTO payment (invoice_id, amount, currency, received_on, term_discount_taken)"
            " VALUES (:i, 0.01, 'EUR', current_date, 118.99)", i=issued)


def test_accounting_cannot_record_a_payment_received_in_the_future(connect_as: Connect, issued: int) -> None:
    with pytest.raises(ValidationError):
        run(connect_as("accounting"), "INSERT INTO payment (invoice_id, amount, currency, received_on)"
                                      " VALUES (:i, 10.00, 'EUR', current_date + 30)", i=issued)


def test_payments_cannot_be_edited(connect_as: Connect, issued: int) -> None:
    acct = connect_as("accounting")
    run(acct, "INSERT INTO payment (invoice_id, amount, currency, received_on, term_discount_taken)"
              " VALUES (:i, 10.00, 'EUR', current_date, 2.00)", i=issued)
    with pytest.raises(AgentDeskError):
        run(acct, "UPDATE payment SET amount = 117.00 WHERE invoice_id = :i", i=issued)


def test_accounting_cannot_delete_discount_applications(connect_as: Connect) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("accounting"), "DELETE FROM discount_application")


def test_accounting_cannot_mark_a_job_billed_without_invoicing_it(connect_as: Connect, installer: Database) -> None:
    job = add_job(installer, make_customer(installer))
    with pytest.raises(PermissionDenied):
        run(connect_as("accounting"), "UPDATE job SET state = 'billed' WHERE id = :j", j=job.id)


def test_accounting_cannot_close_as_retained_without_billing_item_records(
        connect_as: Connect, installer: Database, ticket: TicketSummary) -> None:
    to_accounting(installer, ticket)
    with pytest.raises(RuleViolation):
        run(connect_as("accounting"), "UPDATE ticket SET state = 'closed', resolution = 'retained' WHERE id = :i",
            i=ticket.id)


def test_accounting_cannot_insert_a_record_for_an_unapproved_discount(
        connect_as: Connect, pending: offers.DiscountInfo, service: ServiceRef) -> None:
    with pytest.raises(RuleViolation):
        run(connect_as("accounting"),
            "INSERT INTO billing_item_record (discount_id, billing_item_id, service_description, service_frequency,"
            " service_cost, approved_discount, discount_frequency, discount_percent)"
            " VALUES (:d, :b, 'Fibre', 'monthly', 30, 30, 'monthly', 100)", d=pending.id, b=service.item_ids[0])


def test_billing_item_records_cannot_be_rewritten(connect_as: Connect) -> None:
    with pytest.raises(PermissionDenied):
        run(connect_as("accounting"), "UPDATE billing_item_record SET approved_discount = 0")


# =========================================================================================================
# Security-definer functions with crafted arguments
# =========================================================================================================


def test_add_user_refuses_sql_in_the_name(connect_as: Connect) -> None:
    admin = connect_as("admin")
    with pytest.raises(ValidationError):
        run(admin, "SELECT admin_add_user(:n, 'Mallory', 'csr', 'SCRAM-SHA-256$4096:x')",
            n="x\"; ALTER ROLE postgres NOLOGIN; --")
    assert one(admin, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'x%%ALTER%%'") == 0


def test_add_user_refuses_the_owner_roles_name(connect_as: Connect) -> None:
    with pytest.raises(ValidationError):
        run(connect_as("admin"), "SELECT admin_add_user('agentdesk_owner', 'Owner', 'admin', 'SCRAM-SHA-256$4096:x')")


def test_add_user_refuses_an_unknown_role(connect_as: Connect) -> None:
    with pytest.raises(ValidationError):
        run(connect_as("admin"), "SELECT admin_add_user(:n, 'Mallory', 'owner', 'SCRAM-SHA-256$4096:x')",
            n=f"mallory_{secrets.token_hex(3)}")


def test_password_verifier_cannot_smuggle_role_options(connect_as: Connect) -> None:
    """A crafted 'verifier' is quoted as a literal: it can only ever be a (useless) password."""
    admin = connect_as("admin")
    name = f"victim_{secrets.token_hex(3)}"
    user_service.add_user(admin, name, role="csr", password="correct-horse-battery", display_name="Victim")
    run(admin, "SELECT admin_set_password(:n, :v)", n=name, v="SCRAM-SHA-256$x' SUPERUSER CREATEROLE --")
    assert tuple(row(admin, "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = :n", n=name)) == (False, False)
