"""The background worker: claiming, waking on NOTIFY, heartbeats and takeover, retries, SIGTERM."""

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
from agentdesk.billing.run import PAUSE_BATCH_ENV, PAUSE_FILE_ENV, PAUSE_SECONDS_ENV
from agentdesk.billing.worker import Worker, WorkerConfig
from agentdesk.domain.errors import PermissionDenied, ValidationError

from .builders import Builder, period


def _state(build: Builder, job_id: int) -> str:
    return str(build.scalar("SELECT state FROM background_job WHERE id = :j", j=job_id))


def test_enqueue_with_the_same_dedupe_key_returns_the_queued_job(accounting):
    first = jobs.enqueue(accounting, "billing_run", {"period": period(3)}, "billing_run:x")
    second = jobs.enqueue(accounting, "billing_run", {"period": period(3)}, "billing_run:x")
    other = jobs.enqueue(accounting, "billing_run", {"period": period(4)}, "billing_run:y")
    assert first.id == second.id != other.id
    with pytest.raises(ValidationError, match="Unknown job kind"):
        jobs.enqueue(accounting, "mine_bitcoin", {})


def test_worker_once_runs_a_billing_job_and_records_its_result(build: Builder, accounting, settings):
    for _ in range(3):
        build.subscription(build.customer())
    job = jobs.enqueue(accounting, "billing_run", {"period": period(3), "batch_size": 2})

    done = Worker(accounting, settings, WorkerConfig(once=True)).run()

    assert done == 1
    finished = jobs.get_job(accounting, job.id)
    assert finished.state == "done" and finished.progress["invoices"] == 3 and finished.attempts == 1
    assert build.scalar("SELECT count(*) FROM invoice WHERE state = 'issued'") == 3


def test_a_queued_job_wakes_the_worker_through_notify(build: Builder, accounting, settings):
    build.subscription(build.customer())
    worker = Worker(accounting, settings, WorkerConfig(poll_interval=60))  # polling alone would take a minute
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        time.sleep(1.0)  # listening
        job = jobs.enqueue(accounting, "billing_run", {"period": period(3)})
        deadline = time.monotonic() + 15
        while _state(build, job.id) != "done" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _state(build, job.id) == "done"
    finally:
        worker.stop()
        thread.join(30)
    assert not thread.is_alive()


def test_a_job_whose_heartbeat_went_stale_is_taken_over(build: Builder, accounting, settings, installer):
    build.subscription(build.customer())
    job = jobs.enqueue(accounting, "billing_run", {"period": period(3)})
    assert jobs.claim(accounting, "ghost", stale_after=60).id == job.id  # a worker took it, then died
    assert jobs.claim(accounting, "other", stale_after=60) is None  # fresh heartbeat: nobody else takes it
    with installer.session() as s:
        s.execute(text("UPDATE background_job SET heartbeat_at = now() - interval '5 minutes' WHERE id = :j"),
                  {"j": job.id})

    Worker(accounting, settings, WorkerConfig(once=True, stale_after=60)).run()

    assert _state(build, job.id) == "done"
    assert jobs.get_job(accounting, job.id).attempts == 2
    assert jobs.heartbeat(accounting, job.id, "ghost") is False  # the dead worker's lock is gone


def test_a_worker_that_loses_its_job_stops_working_on_it(build: Builder, accounting, settings, installer):
    for _ in range(4):
        build.subscription(build.customer())
    job = jobs.enqueue(accounting, "billing_run", {"period": period(3), "batch_size": 1})
    worker = Worker(accounting, settings, WorkerConfig(once=True, heartbeat_every=0.05))
    original = worker.handlers["billing_run"]

    def slow_billing(j: Any, abort: Any, progress: Any) -> dict[str, Any]:
        with installer.session() as s:  # another worker takes the job over
            s.execute(text("UPDATE background_job SET locked_by = 'thief' WHERE id = :j"), {"j": j.id})
        time.sleep(0.3)  # a heartbeat notices
        return original(j, abort, progress)

    worker.handlers["billing_run"] = slow_billing
    worker.run()

    # The run stopped between batches when the heartbeat found the job gone; the thief's lock is untouched.
    assert build.scalar("SELECT count(*) FROM invoice") < 4
    assert build.scalar("SELECT locked_by FROM background_job WHERE id = :j", j=job.id) == "thief"


def test_failures_are_retried_then_failed_and_refusals_fail_at_once(build: Builder, accounting, settings, installer):
    attempts = {"n": 0}

    def broken(job: Any, abort: Any, progress: Any) -> dict[str, Any]:
        attempts["n"] += 1
        raise RuntimeError("disk full")

    worker = Worker(accounting, settings, WorkerConfig(once=True, max_attempts=2), handlers={"send_outbox": broken})
    flaky = jobs.enqueue(accounting, "send_outbox", {})
    bad_period = jobs.enqueue(accounting, "billing_run", {"period": "2026-13"})
    worker.run()
    assert _state(build, flaky.id) == "queued" and "disk full" in jobs.get_job(accounting, flaky.id).last_error
    assert _state(build, bad_period.id) == "failed"
    assert "has no month 13" in (jobs.get_job(accounting, bad_period.id).last_error or "")

    with installer.session() as s:
        s.execute(text("UPDATE background_job SET run_after = now() WHERE id = :j"), {"j": flaky.id})
    worker.run()
    assert _state(build, flaky.id) == "failed" and attempts["n"] == 2


def test_the_worker_signs_in_as_accounting(connect_as, settings):
    with pytest.raises(PermissionDenied, match="accounting group"):
        Worker(connect_as("csr"), settings, WorkerConfig(once=True)).run()


def test_render_and_outbox_jobs(build: Builder, accounting, settings, tmp_path: Path):
    build.subscription(build.customer())
    jobs.enqueue(accounting, "billing_run", {"period": period(3)})
    Worker(accounting, settings, WorkerConfig(once=True)).run()
    invoice_id = build.scalar("SELECT id FROM invoice")
    render = jobs.enqueue(accounting, "render_invoice", {"invoice_ids": [invoice_id], "output_dir": str(tmp_path)})
    outbox = jobs.enqueue(accounting, "send_outbox", {"limit": 10})

    Worker(accounting, settings, WorkerConfig(once=True)).run()

    assert [p.name for p in tmp_path.iterdir()] == [f"INV-{period(3)[:4]}-000001.pdf"]
    assert _state(build, render.id) == "done" and _state(build, outbox.id) == "done"


def test_sigterm_finishes_the_batch_under_way_and_hands_the_job_back(
        build: Builder, accounting, settings, database_url: URL, test_users, tmp_path: Path):
    from credentials import PASSWORD

    for _ in range(6):
        build.subscription(build.customer())
    job = jobs.enqueue(accounting, "billing_run", {"period": period(3), "batch_size": 2})
    marker = tmp_path / "paused"
    env = {**os.environ, "AGENTDESK_PASSWORD": PASSWORD, "AGENTDESK_DATA_DIR": str(tmp_path / "data"),
           PAUSE_BATCH_ENV: "1", PAUSE_FILE_ENV: str(marker), PAUSE_SECONDS_ENV: "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdesk", "--database-url", database_url.render_as_string(hide_password=False),
         "--user", test_users["accounting"].name, "worker", "--poll-interval", "30"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)

    assert proc.returncode == 0, out
    assert "finishing the batch under way" in out
    assert build.scalar("SELECT count(*) FROM invoice") == 2  # the batch under way was finished, no more
    assert _state(build, job.id) == "queued"  # handed back for another worker
    assert build.scalar("SELECT state FROM billing_run") == "aborted"

    Worker(accounting, settings, WorkerConfig(once=True)).run()
    assert build.scalar("SELECT count(*) FROM invoice") == 6 and _state(build, job.id) == "done"
