"""Exactly once: reruns, crashes (SIGKILL, a cut connection), two workers, gap-free numbering under stress.

The reference for "the uninterrupted result" is a twin database filled with the same data and billed
without disturbance; the snapshots compare every invoice, line, discount use, counter, job state and
period count, to the cent, invoice numbers included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from agentdesk.billing import jobs
from agentdesk.billing import run as run_module
from agentdesk.billing.run import PAUSE_BATCH_ENV, PAUSE_FILE_ENV, PAUSE_SECONDS_ENV, run_billing
from agentdesk.bootstrap import Database
from agentdesk.services import invoices

from .builders import YEAR, Builder, period, populate, snapshot

pytestmark = pytest.mark.slow

PERIODS = (2, 3)  # February (jobs, quarterly and annual months differ) and March


def _clean_reference(twin: Any) -> list[list[tuple[Any, ...]]]:
    populate(twin.build)
    result = []
    for month in PERIODS:
        run_billing(twin.accounting, period(month), batch_size=4)
        result.append(snapshot(twin.installer))
    return result


def _invoice_count(snap: list[tuple[Any, ...]]) -> int:
    return sum(1 for row in snap if row and row[0] not in ("apps", "counters", "jobs", "used", "records"))


def _numbers_gap_free(db: Database) -> None:
    with db.session() as s:
        for series, numbers, next_number in s.execute(text(
                "SELECT i.series, array_agg(i.number ORDER BY i.number), c.next_number FROM invoice i "
                "JOIN invoice_counter c ON c.series = i.series GROUP BY i.series, c.next_number")):
            assert numbers == list(range(1, len(numbers) + 1)), series
            assert next_number == len(numbers) + 1, series


def _worker(url: URL, user: str, *extra: str, env: dict[str, str] | None = None,
            tmp: Path) -> subprocess.Popen[str]:
    from credentials import PASSWORD

    environment = {**os.environ, "AGENTDESK_PASSWORD": PASSWORD, "AGENTDESK_DATA_DIR": str(tmp / "data"),
                   "AGENTDESK_CONFIG_DIR": str(tmp / "config"), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "agentdesk", "--database-url", url.render_as_string(hide_password=False),
         "--user", user, "worker", "--once", "--stale-after", "1", "--poll-interval", "0.5", *extra],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        if proc.poll() is not None:
            raise AssertionError(f"worker ended before pausing:\n{proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.05)
    raise AssertionError("worker never reached the pause")


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    out, _ = proc.communicate(timeout=timeout)
    return out


def test_running_both_periods_twice_adds_nothing(build: Builder, accounting):
    populate(build)
    for month in PERIODS:
        run_billing(accounting, period(month), batch_size=4)
    before = snapshot(build.installer)
    for month in PERIODS:
        again = run_billing(accounting, period(month), batch_size=4)
        assert again.invoices == 0
    assert snapshot(build.installer) == before


def test_worker_killed_mid_batch_then_rerun_gives_exactly_the_uninterrupted_result(
        build: Builder, accounting, twin, database_url: URL, test_users, tmp_path: Path):
    reference = _clean_reference(twin)
    populate(build)
    user = test_users["accounting"].name
    marker = tmp_path / "paused"
    for index, month in enumerate(PERIODS):
        jobs.enqueue(accounting, "billing_run", {"period": period(month), "batch_size": 4}, f"billing_run:{month}")
        if index == 0:
            # The first worker pauses inside batch 2 (batch 1 committed, batch 2 written, not committed) and dies.
            proc = _worker(database_url, user, tmp=tmp_path, env={
                PAUSE_BATCH_ENV: "2", PAUSE_FILE_ENV: str(marker), PAUSE_SECONDS_ENV: "120"})
            _wait_for(marker, proc)
            # Batch 1 is committed, batch 2 is not: part of the period is billed.
            assert 0 < build.scalar("SELECT count(*) FROM invoice") < _invoice_count(reference[index])
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            assert build.scalar("SELECT state FROM background_job WHERE dedupe_key = :k", k=f"billing_run:{month}") \
                == "running"
            time.sleep(1.5)  # its heartbeat goes stale; the next worker takes the job over
        out = _finish(_worker(database_url, user, tmp=tmp_path))
        assert build.scalar("SELECT state FROM background_job WHERE dedupe_key = :k", k=f"billing_run:{month}") \
            == "done", out
        assert snapshot(build.installer) == reference[index]
    _numbers_gap_free(build.installer)


def test_connection_cut_mid_batch_then_rerun_gives_exactly_the_uninterrupted_result(
        build: Builder, accounting, twin, database_url: URL, test_users, tmp_path: Path, installer):
    reference = _clean_reference(twin)
    populate(build)
    user = test_users["accounting"].name
    marker = tmp_path / "paused"
    jobs.enqueue(accounting, "billing_run", {"period": period(PERIODS[0]), "batch_size": 4}, "feb")
    proc = _worker(database_url, user, tmp=tmp_path, env={
        PAUSE_BATCH_ENV: "3", PAUSE_FILE_ENV: str(marker), PAUSE_SECONDS_ENV: "2"})
    pid = int(_wait_for(marker, proc))
    with installer.session() as s:
        assert s.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    out = _finish(proc)
    job = build.scalar("SELECT state FROM background_job WHERE dedupe_key = 'feb'")
    assert job == "queued", out  # the failure is retried later, by this or another worker
    assert 0 < build.scalar("SELECT count(*) FROM invoice") < _invoice_count(reference[0])  # batches 1, 2
    assert "retrying" in out

    run_billing(accounting, period(PERIODS[0]), batch_size=4)  # e.g. `agentdesk billing run` meanwhile
    assert snapshot(build.installer) == reference[0]
    _numbers_gap_free(build.installer)


def test_two_workers_on_one_period_bill_everyone_once(build: Builder, connect_as, twin):
    reference = _clean_reference(twin)
    populate(build)
    results: list[Any] = []
    errors: list[BaseException] = []
    for month in PERIODS:
        def work(db: Database, m: int = month) -> None:
            try:
                results.append(run_billing(db, period(m), batch_size=2))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(connect_as("accounting"),)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
    assert snapshot(build.installer) == reference[-1]
    assert sum(r.invoices for r in results) == build.scalar("SELECT count(*) FROM invoice")
    _numbers_gap_free(build.installer)


def test_a_batch_rolled_back_after_taking_numbers_gives_them_back(build: Builder, accounting, monkeypatch):
    for _ in range(7):
        build.subscription(build.customer())
    real = run_module.write_invoices
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        written = real(*args, **kwargs)  # numbers taken...
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected failure after issuing")  # ...and the batch rolled back
        return written

    monkeypatch.setattr(run_module, "write_invoices", failing)
    with pytest.raises(RuntimeError, match="injected"):
        run_billing(accounting, period(3), batch_size=3)
    assert build.scalar("SELECT count(*) FROM invoice") == 3
    assert build.scalar("SELECT state FROM billing_run") == "failed"

    monkeypatch.setattr(run_module, "write_invoices", real)
    summary = run_billing(accounting, period(3), batch_size=3)

    assert summary.invoices == 4 and summary.state == "completed"
    _numbers_gap_free(build.installer)


def test_concurrent_issuing_with_rollbacks_stays_gap_free(build: Builder, connect_as):
    customer = build.customer()
    workers = 4
    per_worker = 15
    committed = []
    lock = threading.Lock()

    def issue_many(db: Database, seed: int) -> None:
        for i in range(per_worker):
            rollback = (i + seed) % 3 == 0
            try:
                with db.session() as s:
                    invoice_id = s.execute(text(
                        "INSERT INTO invoice (kind, state, series, customer_id, period_start, period_end, buyer_name,"
                        " buyer_address) VALUES ('invoice', 'draft', :series, :c, :d, :d, 'x', 'y') RETURNING id"
                    ), {"series": f"INV-{YEAR}", "c": customer, "d": f"{YEAR}-03-01"}).scalar_one()
                    s.execute(text("SELECT billing_issue_invoices(:ids)"), {"ids": [invoice_id]})
                    if rollback:
                        raise _Rollback
                with lock:
                    committed.append(invoice_id)
            except _Rollback:
                pass

    dbs = [connect_as("accounting") for _ in range(workers)]
    threads = [threading.Thread(target=issue_many, args=(db, n)) for n, db in enumerate(dbs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert len(committed) == build.scalar("SELECT count(*) FROM invoice") > 0
    _numbers_gap_free(build.installer)
    assert invoices.find_invoice(dbs[0], f"INV-{YEAR}-{len(committed)}").state == "issued"


class _Rollback(Exception):
    pass
