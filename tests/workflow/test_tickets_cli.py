"""`agentdesk ticket ...`: the queue and ticket commands over the same services as the desktop."""

from __future__ import annotations

from builders import customer_with_subscription, open_ticket
from credentials import PASSWORD

from agentdesk.cli import main


def run(database_url, test_users, monkeypatch, user, *argv):
    monkeypatch.setenv("AGENTDESK_PASSWORD", PASSWORD)
    url = database_url.render_as_string(hide_password=False)
    return main(["--database-url", url, "--user", test_users[user].name, "ticket", *argv])


def test_ticket_commands_walk_a_call(installer, connect_as, database_url, test_users, monkeypatch, capsys):
    csr = connect_as("csr")
    service = customer_with_subscription(installer, name="Andreas Christou")
    t = open_ticket(csr, service)

    assert run(database_url, test_users, monkeypatch, "csr", "counts") == 0
    assert "Retention desk" in capsys.readouterr().out
    assert run(database_url, test_users, monkeypatch, "csr", "list", "retention", "--search", "christou") == 0
    out = capsys.readouterr().out
    assert t.number in out and "1 ticket" in out

    assert run(database_url, test_users, monkeypatch, "csr", "take") == 0
    assert f"took {t.number}" in capsys.readouterr().out
    assert run(database_url, test_users, monkeypatch, "csr", "take") == 1  # empty now
    assert "the queue is empty" in capsys.readouterr().out

    assert run(database_url, test_users, monkeypatch, "csr", "verify", t.number, "--method", "pin") == 0
    assert run(database_url, test_users, monkeypatch, "csr", "update", t.number, "--priority", "1") == 0
    assert run(database_url, test_users, monkeypatch, "csr", "note", t.number, "Wants a call back at 5") == 0
    capsys.readouterr()
    # A CSR cannot hand his ticket to a colleague: refused, exit 2, one-line reason.
    assert run(database_url, test_users, monkeypatch, "csr", "assign", t.number, test_users["csr2"].name) == 2
    assert "Only a manager" in capsys.readouterr().err
    assert run(database_url, test_users, monkeypatch, "manager", "assign", t.number, test_users["csr2"].name) == 0
    capsys.readouterr()

    assert run(database_url, test_users, monkeypatch, "csr2", "show", t.number.lower()) == 0
    out = capsys.readouterr().out
    for expected in ("Andreas Christou", "verified by", "Fibre 100 Mbit/s", "Wants a call back at 5",
                     "created", "claimed", "caller verified", "updated", "note added", "assigned"):
        assert expected in out
    assert run(database_url, test_users, monkeypatch, "csr2", "list", "mine") == 0
    assert t.number in capsys.readouterr().out
    assert run(database_url, test_users, monkeypatch, "csr2", "release", t.number) == 0
    assert run(database_url, test_users, monkeypatch, "csr", "claim", t.number) == 0
    assert "claimed" in capsys.readouterr().out
