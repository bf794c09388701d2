"""`agentdesk offer ...` and `agentdesk discount ...`: the retention workflow headless, over the same
services as the desktop, each command signed in as the person who would run it."""

from __future__ import annotations

import re

from builders import add_subscription, make_customer, ticket_in_progress
from credentials import PASSWORD

from agentdesk.cli import main

from .offer_helpers import (
    renewed_rules,  # noqa: F401  (autouse: December renews the year's rules)
    ticket_state,
)


def run(database_url, test_users, monkeypatch, user, *argv):
    monkeypatch.setenv("AGENTDESK_PASSWORD", PASSWORD)
    url = database_url.render_as_string(hide_password=False)
    return main(["--database-url", url, "--user", test_users[user].name, *argv])


def test_manual_discount_from_offer_to_closed_ticket(installer, connect_as, database_url, test_users, monkeypatch,
                                                     capsys, tmp_path):
    monkeypatch.setenv("AGENTDESK_OUTBOX_DIR", str(tmp_path / "outbox"))
    csr = connect_as("csr")
    service = add_subscription(installer, make_customer(installer, segment="gold", name="Eleni Georgiou"))
    t = ticket_in_progress(csr, service, call_type="complaint")

    def cli(user, *argv):
        code = run(database_url, test_users, monkeypatch, user, *argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, out, _ = cli("csr", "offer", "suggest", t.number, "--eligible")
    assert code == 0 and "ZX-SUB-RANGE" in out and "eligible: 0 of 3 discounts used" in out
    code, out, err = cli("csr", "offer", "make", t.number, "ZX-SUB-RANGE", "--amount", "25")
    assert code == 2 and "amount must be between 5.00 and 20.00" in err
    code, out, _ = cli("csr", "offer", "make", t.number, "ZX-SUB-RANGE", "--amount", "20,00")
    assert code == 0 and "20.00 per month" in out
    ref = re.search(r"acceptance reference (\S+),", out).group(1)  # type: ignore[union-attr]

    code, out, _ = cli("accounting", "offer", "deliver")
    assert code == 0 and "1 sent" in out and (tmp_path / "outbox").exists()

    # The inbound channel: the customer's reply carried the reference.
    code, out, _ = cli("csr", "offer", "accept", ref.lower())
    assert code == 0 and f"accepted {ref}" in out and "pending approval" in out
    discount_id = re.search(r"discount (\d+) is", out).group(1)  # type: ignore[union-attr]

    code, out, _ = cli("csr", "offer", "list", t.number)
    assert code == 0 and ref in out and "accepted" in out and "1 offer" in out

    code, out, _ = cli("manager", "discount", "pending")
    assert code == 0 and "Eleni Georgiou" in out and "cap 0 of 3 used" in out and "1 discount waiting" in out
    code, _out, err = cli("csr", "discount", "approve", discount_id)
    assert code == 2 and "Only a manager can approve" in err
    code, out, _ = cli("manager", "discount", "approve", discount_id)
    assert code == 0 and "approved discount" in out

    code, out, _ = cli("csr", "discount", "confirm", t.number)
    assert code == 0 and "accounting queue" in out
    code, out, _ = cli("accounting", "discount", "accounting-approve", t.number)
    assert code == 0 and "less 20.00" in out and "closed: retained" in out
    assert ticket_state(csr, t.id) == ("closed", "retained")
    code, out, _ = cli("csr", "discount", "show", discount_id)
    assert code == 0 and f"approved by {test_users['manager'].name}" in out


def test_decline_then_cancel_the_service(installer, connect_as, database_url, test_users, monkeypatch, capsys):
    csr = connect_as("csr")
    service = add_subscription(installer, make_customer(installer, segment="gold"),
                               products=("FIBRE-500", "TV-SPORTS"))
    t = ticket_in_progress(csr, service, call_type="cancellation")

    def cli(user, *argv):
        code = run(database_url, test_users, monkeypatch, user, *argv)
        return code, capsys.readouterr().out

    code, out = cli("csr", "offer", "make", t.number, "RET-15PCT-6M")
    assert code == 0
    ref = re.search(r"acceptance reference (\S+),", out).group(1)  # type: ignore[union-attr]
    code, out = cli("csr", "offer", "decline", ref, "--reason", "Moving abroad")
    assert code == 0 and f"declined {ref}" in out and "next best:" in out
    code, out = cli("csr", "offer", "sales", t.number)
    assert code == 0 and "Switch Fibre 500 Mbit/s to Fibre 100 Mbit/s" in out and "Drop Sports add-on" in out
    code, out = cli("csr", "offer", "cancel-service", t.number, "--end-date", "2099-01-31")
    assert code == 0 and "with effect from 31/01/2099" in out
    assert ticket_state(csr, t.id) == ("closed", "cancelled")
    code, out = cli("manager", "offer", "lapse")
    assert code == 0 and "0 offers lapsed" in out


def test_cancel_a_pending_discount(installer, connect_as, database_url, test_users, monkeypatch, capsys):
    csr = connect_as("csr")
    t = ticket_in_progress(csr, add_subscription(installer, make_customer(installer)), call_type="complaint")
    assert run(database_url, test_users, monkeypatch, "csr", "offer", "make", t.number, "ZX-SUB-RANGE",
               "--amount", "5") == 0
    ref = re.search(r"acceptance reference (\S+),", capsys.readouterr().out).group(1)  # type: ignore[union-attr]
    assert run(database_url, test_users, monkeypatch, "csr", "offer", "accept", ref, "--channel", "phone") == 0
    discount_id = re.search(r"discount (\d+) is", capsys.readouterr().out).group(1)  # type: ignore[union-attr]
    assert run(database_url, test_users, monkeypatch, "manager", "discount", "cancel", discount_id,
               "--reason", "Not a serious complaint") == 0
    assert "cancelled discount" in capsys.readouterr().out
    assert ticket_state(csr, t.id) == ("in_progress", None)
