"""Intake on a real database: routing by data, joining open tickets, refusals that leave nothing behind,
verification, and the caller-verified guard on offers."""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from builders import add_job, add_subscription, customer_with_subscription, make_customer, open_ticket
from sqlalchemy import text

from agentdesk.domain.errors import RuleViolation, ValidationError
from agentdesk.services import audit, intake, queues
from agentdesk.services.intake import create_cancellation_request


def count(db, sql, **params):
    with db.session() as s:
        return s.execute(text(sql), params).scalar_one()


def test_new_request_is_numbered_routed_and_recorded(installer, connect_as, test_users):
    csr = connect_as("csr")
    service = customer_with_subscription(installer, segment="silver", lifetime_value="750.00")

    before = dt.datetime.now(dt.UTC)
    t = open_ticket(csr, service, call_type="price", channel="email", reason="Too expensive")

    assert re.fullmatch(r"T-\d{6}", t.number)
    assert (t.state, t.queue_unit, t.priority, t.joined) == ("queued", "retention", 3, False)
    assert t.customer_value == Decimal("750.00")
    assert (t.service_kind, t.service_number, t.account_number) == ("subscription", service.number,
                                                                   service.customer.account_number)
    # "Everything else": due in 480 minutes.
    assert before + dt.timedelta(minutes=479) < t.due_at < before + dt.timedelta(minutes=481)
    with installer.session() as s:
        events = audit.timeline(s, t.id)
        created_by = s.execute(text("SELECT created_by FROM ticket WHERE id = :i"), {"i": t.id}).scalar_one()
    assert [e.kind for e in events] == ["created"]
    assert events[0].actor == test_users["csr"].name == created_by
    assert "Everything else" in events[0].summary


@pytest.mark.parametrize(
    ("segment", "value", "call_type", "channel", "unit", "priority"),
    [
        ("platinum", "100.00", "complaint", "phone", "senior_save", 1),
        ("bronze", "5000.00", "price", "web", "senior_save", 1),  # high lifetime value
        ("gold", "900.00", "cancellation", "phone", "retention", 2),
        ("gold", "900.00", "complaint", "phone", "retention", 3),
        ("silver", "300.00", "late_installation", "email", "retention", 2),
        ("bronze", "4999.99", "moving", "phone", "retention", 3),
    ],
)
def test_routing_by_segment_call_type_and_value(installer, connect_as, segment, value, call_type, channel, unit,
                                               priority):
    csr = connect_as("csr")
    service = customer_with_subscription(installer, segment=segment, lifetime_value=value)
    t = open_ticket(csr, service, call_type=call_type, channel=channel)
    assert (t.queue_unit, t.priority) == (unit, priority)


def test_routing_rules_are_data(installer, connect_as):
    """A manager's new rule takes effect at once; an inactive rule is skipped."""
    manager, csr = connect_as("manager"), connect_as("csr")
    with manager.session() as s:
        s.execute(text(
            "INSERT INTO routing_rule (position, name, channel, unit_id, priority, due_minutes) "
            "SELECT 5, 'Web requests to seniors', 'web', id, 4, 30 FROM unit WHERE code = 'senior_save'"))
    web = open_ticket(csr, customer_with_subscription(installer), channel="web")
    assert (web.queue_unit, web.priority) == ("senior_save", 4)
    with manager.session() as s:
        s.execute(text("UPDATE routing_rule SET active = false WHERE position = 5"))
    web2 = open_ticket(csr, customer_with_subscription(installer), channel="web")
    assert (web2.queue_unit, web2.priority) == ("retention", 3)


def test_no_matching_rule_is_refused_and_nothing_written(installer, connect_as):
    csr = connect_as("csr")
    with installer.session() as s:
        s.execute(text("UPDATE routing_rule SET active = false"))
    service = customer_with_subscription(installer)
    with pytest.raises(RuleViolation, match="No routing rule"):
        open_ticket(csr, service)
    assert count(installer, "SELECT count(*) FROM ticket") == 0


def test_second_request_for_same_service_joins_the_open_ticket(installer, connect_as, test_users):
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    service = customer_with_subscription(installer)
    first = open_ticket(csr, service, channel="phone")
    again = open_ticket(csr2, service, channel="email", call_type="complaint", reason="Still waiting")

    assert again.joined and not first.joined
    assert again.id == first.id
    assert count(installer, "SELECT count(*) FROM ticket") == 1
    with installer.session() as s:
        events = audit.timeline(s, first.id)
    assert [e.kind for e in events] == ["created", "request joined"]
    assert events[1].actor == test_users["csr2"].name
    assert events[1].after == {"channel": "email", "call_type": "complaint", "reason": "Still waiting",
                               "requested_end_date": None}
    assert "Still waiting" in events[1].summary

    # Another service of the same customer is another ticket.
    other = add_subscription(installer, service.customer, products=("TV-BASIC",))
    assert open_ticket(csr, other).id != first.id


def test_closed_ticket_is_not_joined(installer, connect_as):
    csr, manager = connect_as("csr"), connect_as("manager")
    service = customer_with_subscription(installer)
    first = open_ticket(csr, service)
    with manager.session() as s:
        s.execute(text("UPDATE ticket SET state = 'closed', resolution = 'withdrawn' WHERE id = :i"), {"i": first.id})
    second = open_ticket(csr, service)
    assert second.id != first.id and not second.joined


def test_simultaneous_requests_for_one_service_make_one_ticket(installer, connect_as):
    """Two agents take the same customer's call at the same moment: one ticket, the other joins it."""
    service = customer_with_subscription(installer)
    agents = [connect_as("csr"), connect_as("csr2"), connect_as("senior"), connect_as("manager")]
    barrier = threading.Barrier(len(agents))
    results: list = []
    errors: list = []

    def call(db):
        try:
            barrier.wait(timeout=10)
            results.append(open_ticket(db, service))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(db,)) for db in agents]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors
    assert len({t.id for t in results}) == 1
    assert sorted(t.joined for t in results) == [False, True, True, True]
    assert count(installer, "SELECT count(*) FROM ticket") == 1
    assert count(installer, "SELECT count(*) FROM ticket_event WHERE kind = 'request joined'") == 3


def test_job_requests_and_late_installation(installer, connect_as):
    csr = connect_as("csr")
    customer = make_customer(installer, segment="silver")
    job = add_job(installer, customer, days_late=12)
    t = open_ticket(csr, job, call_type="late_installation", reason="Installed 12 days late")
    assert (t.service_kind, t.service_number, t.queue_unit, t.priority) == ("job", job.number, "retention", 2)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"account": "NOPE-1"}, "account", "no customer with account 'NOPE-1'"),
        ({"service": "S-999999"}, "subscription", "has no subscription 'S-999999'"),
        ({"channel": "fax"}, "channel", "'fax' is not a channel"),
        ({"call_type": "party"}, "call_type", "'party' is not a call type"),
        ({"requested_end_date": dt.date(2000, 1, 1)}, "requested_end_date", "is in the past"),
        ({"reason": "x" * 2001}, "reason", "under 2000"),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(installer, connect_as, change, field, message):
    csr = connect_as("csr")
    service = customer_with_subscription(installer)
    args = {"account": service.customer.account_number, "service": service.number, "channel": "phone",
            "call_type": "cancellation", "reason": "r", "requested_end_date": None} | change
    with pytest.raises(ValidationError) as info:
        create_cancellation_request(csr, args["account"], args["service"], args["channel"], args["call_type"],
                                    args["reason"], args["requested_end_date"], service_kind="subscription")
    assert info.value.field == field
    assert message in info.value.message
    assert count(installer, "SELECT count(*) FROM ticket") == 0
    assert count(installer, "SELECT count(*) FROM ticket_event") == 0


def test_service_of_another_customer_or_cancelled_is_refused(installer, connect_as):
    csr = connect_as("csr")
    mine = customer_with_subscription(installer)
    theirs = customer_with_subscription(installer)
    with pytest.raises(ValidationError, match="has no subscription or job"):
        create_cancellation_request(csr, mine.customer.account_number, theirs.number, "phone", "cancellation")
    gone = add_subscription(installer, mine.customer, state="cancelled")
    with pytest.raises(ValidationError, match="already cancelled"):
        create_cancellation_request(csr, mine.customer.account_number, gone.number, "phone", "cancellation")


def test_verify_caller_stamps_who_and_unlocks_offers(installer, connect_as, test_users):
    csr = connect_as("csr")
    t = queues.claim(csr, open_ticket(csr, customer_with_subscription(installer)).id)

    # The database refuses an offer on an unverified ticket, even in raw SQL.
    with pytest.raises(RuleViolation, match="Verify that the caller"), csr.session() as s:
        s.execute(text("UPDATE ticket SET state = 'offer_pending' WHERE id = :i"), {"i": t.id})

    with pytest.raises(ValidationError) as info:
        intake.verify_caller(csr, t.id, t.version, "guessed")
    assert info.value.field == "method"

    v = intake.verify_caller(csr, t.id, t.version, "pin")
    assert v.verified and v.version == t.version + 1
    with installer.session() as s:
        who = s.execute(text("SELECT verified_by FROM ticket WHERE id = :i"), {"i": t.id}).scalar_one()
        events = audit.timeline(s, t.id)
    assert who == test_users["csr"].name
    assert events[-1].kind == "caller verified" and "PIN" in events[-1].summary

    with csr.session() as s:
        s.execute(text("UPDATE ticket SET state = 'offer_pending' WHERE id = :i"), {"i": t.id})
    assert count(installer, "SELECT state FROM ticket WHERE id = :i", i=t.id) == "offer_pending"


def test_verify_with_stale_version_is_a_conflict(installer, connect_as):
    from agentdesk.domain.errors import ConflictError

    csr = connect_as("csr")
    t = queues.claim(csr, open_ticket(csr, customer_with_subscription(installer)).id)
    with pytest.raises(ConflictError):
        intake.verify_caller(csr, t.id, t.version - 1, "pin")


# -- intake files and the `agentdesk intake` command ----------------------------------------------------


def run_cli(database_url, test_users, monkeypatch, *argv, user="csr"):
    from credentials import PASSWORD

    from agentdesk.cli import main

    monkeypatch.setenv("AGENTDESK_PASSWORD", PASSWORD)
    url = database_url.render_as_string(hide_password=False)
    return main(["--database-url", url, "--user", test_users[user].name, *argv])


def test_intake_json_batch_takes_good_rows_and_names_bad_ones(installer, connect_as, database_url, test_users,
                                                              monkeypatch, tmp_path, capsys):
    import json

    a = customer_with_subscription(installer)
    b = customer_with_subscription(installer, segment="platinum")
    rows = [
        {"account": a.customer.account_number, "subscription": a.number, "channel": "phone",
         "call_type": "cancellation", "reason": "Moving abroad", "requested_end_date": "31/12/2099"},
        {"account": "X-404", "subscription": a.number, "channel": "phone", "call_type": "cancellation"},
        {"account": b.customer.account_number, "subscription": b.number, "channel": "fax", "call_type": "price"},
        {"account": b.customer.account_number, "subscription": b.number, "channel": "web", "call_type": "price"},
        {"account": a.customer.account_number, "subscription": a.number, "channel": "email",
         "call_type": "complaint"},
        {"account": b.customer.account_number, "subscription": b.number, "channel": "web", "call_type": "price",
         "requested_end_date": "tomorrow"},
        {"account": b.customer.account_number, "channel": "web", "call_type": "price"},
        "not an object",
    ]
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(rows))

    assert run_cli(database_url, test_users, monkeypatch, "intake", str(path)) == 1
    out, err = capsys.readouterr()
    assert "row 2, field 'account': no customer with account 'X-404'" in err
    assert "row 3, field 'channel': 'fax' is not a channel" in err
    assert "row 6, field 'requested_end_date': 'tomorrow' is not a date" in err
    assert "row 7, field 'subscription': missing" in err
    assert "row 8: is not a JSON object" in err
    assert "row 1: T-" in out and "row 4: T-" in out and "senior save" in out.lower()
    assert "row 5: joined open ticket" in out
    assert "8 rows: 3 taken (2 new tickets, 1 joined an open one), 5 refused" in out

    with installer.session() as s:
        made = s.execute(text("SELECT t.number, c.account_number, t.requested_end_date FROM ticket t "
                              "JOIN customer c ON c.id = t.customer_id ORDER BY t.id")).all()
        events = s.execute(text("SELECT kind FROM ticket_event ORDER BY id")).scalars().all()
    assert [(r.account_number, r.requested_end_date) for r in made] == [
        (a.customer.account_number, dt.date(2099, 12, 31)), (b.customer.account_number, None)]
    assert events == ["created", "created", "request joined"]  # refused rows left nothing


def test_intake_csv_all_good_exits_zero_single_json_object_too(installer, database_url, test_users, monkeypatch,
                                                                 tmp_path, capsys):
    import json

    from builders import add_job

    a = customer_with_subscription(installer)
    c = make_customer(installer)
    job = add_job(installer, c)
    path = tmp_path / "calls.csv"
    path.write_text(
        "Account Number,Subscription,Job,Channel,Call Type,Reason\n"
        f"{a.customer.account_number},{a.number},,phone,cancellation,\"Too slow, wants 1 Gbit/s\"\n"
        f"{c.account_number},,{job.number},email,late_installation,Installed late\n"
    )
    assert run_cli(database_url, test_users, monkeypatch, "intake", str(path)) == 0
    out = capsys.readouterr().out
    assert "2 rows: 2 taken (2 new tickets, 0 joined an open one), 0 refused" in out

    one = tmp_path / "one.json"
    one.write_text(json.dumps({"account": a.customer.account_number, "subscription": a.number,
                               "channel": "web", "call_type": "price"}))
    assert run_cli(database_url, test_users, monkeypatch, "intake", str(one)) == 0
    assert "1 row: 1 taken (0 new tickets, 1 joined an open one), 0 refused" in capsys.readouterr().out
    with installer.session() as s:
        reasons = s.execute(text("SELECT reason FROM ticket ORDER BY id")).scalars().all()
    assert reasons == ["Too slow, wants 1 Gbit/s", "Installed late"]


def test_intake_csv_bad_header_and_unreadable_files(installer, database_url, test_users, monkeypatch, tmp_path,
                                                    capsys):
    a = customer_with_subscription(installer)
    path = tmp_path / "odd.csv"
    path.write_text(f"account,subscription,channel,call_type,colour\n{a.customer.account_number},{a.number},"
                    "phone,price,blue\n")
    assert run_cli(database_url, test_users, monkeypatch, "intake", str(path)) == 1
    assert "row 1, field 'colour': unknown field" in capsys.readouterr().err

    broken = tmp_path / "broken.json"
    broken.write_text("[{\"account\": ")
    assert run_cli(database_url, test_users, monkeypatch, "intake", str(broken)) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    assert run_cli(database_url, test_users, monkeypatch, "intake", str(tmp_path / "missing.csv")) == 2
    assert count(installer, "SELECT count(*) FROM ticket") == 0
