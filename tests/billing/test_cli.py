"""The billing, invoice, payment and worker commands, run in-process against the test database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pypdf import PdfReader

from agentdesk.cli import main

from .builders import YEAR, Builder, period


@pytest.fixture
def cli(database_url, test_users, monkeypatch, tmp_path):
    from credentials import PASSWORD

    monkeypatch.setenv("AGENTDESK_PASSWORD", PASSWORD)
    monkeypatch.setenv("AGENTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AGENTDESK_CONFIG_DIR", str(tmp_path / "config"))
    url = database_url.render_as_string(hide_password=False)

    def run(*args: str, user: str = "accounting") -> int:
        return main(["--database-url", url, "--user", test_users[user].name, *args])

    return run


def test_billing_run_shows_progress_and_a_summary(build: Builder, cli, capsys):
    for n in range(3):
        sub = build.subscription(build.customer())
        if n == 0:
            build.discount("ZX-SUB-RANGE", subscription=sub, amount="20.00")

    assert cli("billing", "run", "--period", period(3)) == 0

    out, err = capsys.readouterr()
    assert "100%" in err and "3/3 customers" in err
    assert f"Billing {period(3)}: completed" in out
    assert "invoices issued:     3" in out
    assert "amount billed:       82.94" in out  # (9.90 + 1.88 VAT) + 2 x (29.90 + 5.68 VAT), VAT per line
    assert "amount discounted:   20.00" in out


def test_billing_preview_writes_nothing(build: Builder, cli, capsys):
    build.subscription(build.customer())
    assert cli("billing", "run", "--period", period(3), "--preview") == 0
    out, _ = capsys.readouterr()
    assert "nothing was written" in out and "would be issued" in out
    assert build.scalar("SELECT count(*) FROM invoice") == 0


@pytest.mark.parametrize("bad", ["2026-13", "11-2026", "soon"])
def test_malformed_period_is_a_clear_error(cli, capsys, bad):
    assert cli("billing", "run", "--period", bad) == 2
    _, err = capsys.readouterr()
    assert err.startswith("agentdesk: Period") and ("YYYY-MM" in err or "month" in err)


def test_skipped_customers_are_listed_and_the_exit_status_says_so(build: Builder, cli, capsys):
    build.subscription(build.customer(address=False))
    assert cli("billing", "run", "--period", period(3)) == 1
    out, _ = capsys.readouterr()
    assert "customers skipped:   1" in out and "no billing address" in out
    assert cli("billing", "status", "--period", period(3)) == 1
    out, _ = capsys.readouterr()
    assert "no billing address" in out


def test_invoice_pdf_payment_and_credit_commands(build: Builder, cli, capsys, tmp_path: Path):
    for _ in range(2):
        build.subscription(build.customer())
    cli("billing", "run", "--period", period(3), "--quiet")
    capsys.readouterr()
    first, second = f"INV-{YEAR}-000001", f"INV-{YEAR}-000002"

    assert cli("invoice", "pdf", first, second, "-o", str(tmp_path)) == 0
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == [f"{first}.pdf", f"{second}.pdf"]
    assert cli("invoice", "pdf", first, "INV-2026-2", "-o", str(tmp_path / "c"), "--combined") == 0
    assert len(PdfReader(str(tmp_path / "c" / "invoices.pdf")).pages) == 2

    assert cli("payment", "record", first, "35.58", "--date", dt.date.today().isoformat()) == 0
    out, _ = capsys.readouterr()
    assert "recorded on" in out and "paid in full" in out
    assert cli("payment", "record", second, "99.00") == 2
    _, err = capsys.readouterr()
    assert "more than the balance of 35.58 EUR" in err
    assert cli("payment", "record", second, "1.00", "--currency", "USD") == 2
    _, err = capsys.readouterr()
    assert "in EUR, the payment in USD" in err

    assert cli("invoice", "credit", second, "--reason", "billed twice") == 0
    out, _ = capsys.readouterr()
    assert f"CN-{YEAR}-000001" in out
    assert cli("invoice", "list") == 0
    out, _ = capsys.readouterr()
    assert "credited" in out and f"CN-{YEAR}-000001" in out
    assert cli("invoice", "show", "INV-1999-42") == 2


def test_worker_once_and_billing_start(build: Builder, cli, capsys):
    build.subscription(build.customer())
    assert cli("billing", "start", "--period", period(3)) == 0
    assert cli("worker", "--once") == 0
    assert build.scalar("SELECT state FROM background_job") == "done"
    assert build.scalar("SELECT count(*) FROM invoice") == 1


def test_worker_refuses_a_user_outside_accounting(cli, capsys):
    assert cli("worker", "--once", user="csr") == 2
    _, err = capsys.readouterr()
    assert "accounting group" in err
