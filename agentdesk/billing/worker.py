"""The background worker: takes jobs from ``background_job`` and runs them (``agentdesk worker``).

* Jobs are claimed with ``FOR UPDATE SKIP LOCKED`` (:mod:`agentdesk.billing.jobs`), so several workers,
  on one machine or many, never take the same job.
* The worker LISTENs on channel ``agentdesk_jobs`` (notified when a job is queued) and also polls every
  ``poll_interval`` seconds, so a missed notification only delays work.
* While a job runs, a heartbeat thread refreshes ``heartbeat_at`` (and the progress) every
  ``heartbeat_every`` seconds. A job whose heartbeat is older than ``stale_after`` seconds is taken over by
  another worker: its worker died. If a worker finds its job taken over, it stops working on it.
* Exactly once does not rest on the job lock: a billing run taken over, or run by two workers, is
  protected by the database's unique keys and its per-period row lock (see :mod:`agentdesk.billing.run`).
* :meth:`Worker.stop` (SIGTERM, SIGINT) lets the batch under way finish, gives unfinished jobs back to the
  queue for another worker, and returns.
* Failures: a refusal with a message for people (``AgentDeskError``) fails the job at once; anything else
  (a lost connection included) is retried with a growing delay up to ``max_attempts`` times.

Job kinds: ``billing_run`` {"period": "2026-11", "batch_size"?}; ``render_invoice`` {"invoice_ids": [...], "output_dir"?};
``send_outbox`` {"limit"?}; ``lapse_offers`` {}.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from agentdesk.billing import jobs
from agentdesk.billing.jobs import Job
from agentdesk.bootstrap import ConnectionFailed, Database
from agentdesk.config import Settings
from agentdesk.domain.errors import AgentDeskError, PermissionDenied, ValidationError

log = logging.getLogger("agentdesk.worker")

Handler = Callable[[Job, Callable[[], bool], Callable[[dict[str, Any]], None]], dict[str, Any]]


@dataclass(frozen=True)
class WorkerConfig:
    concurrency: int = 1
    once: bool = False  # run what is ready, then exit
    poll_interval: float = 5.0
    stale_after: float = 60.0  # seconds without heartbeat before another worker takes a job over
    heartbeat_every: float | None = None  # default: a quarter of stale_after
    max_attempts: int = 5
    outbox_limit: int = 100

    @property
    def heartbeat_interval(self) -> float:
        return self.heartbeat_every if self.heartbeat_every is not None else max(self.stale_after / 4, 0.2)


class _Transient(Exception):
    """A failure worth retrying (lost connection), whatever exception type carried it."""


class _Heartbeat:
    """Keeps one job's heartbeat fresh from its own thread; notices when the job was taken over."""

    def __init__(self, db: Database, job: Job, worker: str, every: float) -> None:
        self._db, self._job, self._worker, self._every = db, job, worker, every
        self._progress: dict[str, Any] | None = None
        self._done = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{job.id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()

    def set_progress(self, progress: dict[str, Any]) -> None:
        self._progress = progress

    def _loop(self) -> None:
        while not self._done.wait(self._every):
            try:
                if not jobs.heartbeat(self._db, self._job.id, self._worker, self._progress):
                    log.warning("job %s was taken over by another worker; stopping work on it", self._job.id)
                    self.lost = True
                    return
            except Exception as exc:  # a hiccup must not kill the heartbeat; the next beat tries again
                log.warning("heartbeat of job %s failed: %s", self._job.id, exc)


class Worker:
    """Runs jobs until stopped (or, with ``once``, until nothing is ready)."""

    def __init__(self, db: Database, settings: Settings, config: WorkerConfig | None = None,
                 handlers: dict[str, Handler] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.config = config or WorkerConfig()
        self.handlers: dict[str, Handler] = {
            "billing_run": self._billing_run,
            "render_invoice": self._render_invoice,
            "send_outbox": self._send_outbox,
            "lapse_offers": self._lapse_offers,
            **(handlers or {}),
        }
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._done_count = 0
        self._count_lock = threading.Lock()
        self.base_name = f"{socket.gethostname()}:{os.getpid()}"

    # -- control -------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the batch under way, hand unfinished work back to the queue, and exit (signal-safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def check_role(self) -> None:
        with self.db.session() as s:
            ok = s.execute(text("SELECT app_has_role('accounting')")).scalar_one()
        if not ok:
            raise PermissionDenied(
                f"The worker signs in as a user of the accounting group; '{self.db.user}' is not one "
                "(use --user or $AGENTDESK_USER and $AGENTDESK_PASSWORD)"
            )

    def run(self) -> int:
        """Work until stopped; returns the number of jobs finished. Call from the main thread."""
        self.check_role()
        log.info("worker %s started (concurrency %d%s)", self.base_name, self.config.concurrency,
                 ", once" if self.config.once else "")
        threads = [threading.Thread(target=self._work_loop, args=(i,), name=f"worker-{i}")
                   for i in range(max(self.config.concurrency, 1))]
        for t in threads:
            t.start()
        if not self.config.once:
            self._listen(lambda: not any(t.is_alive() for t in threads))
        for t in threads:
            while t.is_alive():
                t.join(0.5)  # short joins keep the main thread responsive to signals
        log.info("worker %s stopped after %d job(s)", self.base_name, self._done_count)
        return self._done_count

    # -- waking up -----------------------------------------------------------------------------------------

    def _notify_all(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def _listen(self, finished: Callable[[], bool]) -> None:
        """LISTEN for queued jobs and wake the work threads; returns when stopping."""
        raw: Any = None
        while not self._stop.is_set() and not finished():
            try:
                if raw is None:
                    pooled = self.db.engine.raw_connection()
                    raw = pooled.dbapi_connection
                    pooled.detach()  # autocommit for LISTEN; never handed back to the pool
                    raw.autocommit = True
                    with raw.cursor() as cur:
                        cur.execute(f"LISTEN {jobs.CHANNEL}")
                    log.info("listening on channel %s", jobs.CHANNEL)
                ready, _, _ = select.select([raw], [], [], min(1.0, self.config.poll_interval))
                if ready:
                    raw.poll()
                    if raw.notifies:
                        raw.notifies.clear()
                        self._notify_all()
            except Exception as exc:  # connection lost: polling still works; try to listen again shortly
                log.warning("listening for jobs failed (%s); relying on polling", exc)
                if raw is not None:
                    try:
                        raw.close()
                    except Exception:
                        log.debug("closing the listener connection failed", exc_info=True)
                raw = None
                self._stop.wait(self.config.poll_interval)
        self._notify_all()
        if raw is not None:
            raw.close()

    def _wait_for_work(self) -> None:
        with self._wake:
            self._wake.wait(self.config.poll_interval)

    # -- working -------------------------------------------------------------------------------------------

    def _work_loop(self, index: int) -> None:
        name = f"{self.base_name}:{index}"
        while not self._stop.is_set():
            try:
                job = jobs.claim(self.db, name, stale_after=self.config.stale_after)
            except Exception as exc:
                log.warning("%s could not claim a job: %s", name, exc)
                job = None
                if self.config.once:
                    return
            if job is None:
                if self.config.once:
                    return
                self._wait_for_work()
                continue
            self._execute(job, name)

    def _execute(self, job: Job, name: str) -> None:
        handler = self.handlers.get(job.kind)
        log.info("%s took job %s (%s %s, attempt %d)", name, job.id, job.kind, job.payload, job.attempts)
        with _Heartbeat(self.db, job, name, self.config.heartbeat_interval) as beat:
            def abort() -> bool:
                return self._stop.is_set() or beat.lost

            try:
                if handler is None:
                    raise ValidationError("kind", f"This worker cannot run jobs of kind '{job.kind}'")
                try:
                    result = handler(job, abort, beat.set_progress)
                except ConnectionFailed as exc:  # the database went away: worth another try, unlike a refusal
                    raise _Transient(str(exc)) from exc
            except AgentDeskError as exc:
                log.error("job %s failed: %s", job.id, exc)
                jobs.fail(self.db, job.id, name, str(exc), retry_in=None)
                return
            except Exception as exc:
                retry = job.attempts < self.config.max_attempts
                delay = min(2.0 ** job.attempts, 300.0)
                log.exception("job %s failed (attempt %d)%s", job.id, job.attempts,
                              f"; retrying in {delay:.0f} s" if retry else "; giving up")
                jobs.fail(self.db, job.id, name, f"{type(exc).__name__}: {exc}", retry_in=delay if retry else None)
                return
        if beat.lost:
            return
        if result.get("aborted"):
            jobs.release(self.db, job.id, name)
            log.info("job %s handed back to the queue unfinished (%s)", job.id, result)
            return
        if jobs.finish(self.db, job.id, name, progress=result):
            with self._count_lock:
                self._done_count += 1
            log.info("job %s done: %s", job.id, result)
        else:
            log.warning("job %s finished here but was no longer this worker's", job.id)

    # -- handlers ------------------------------------------------------------------------------------------

    def _billing_run(self, job: Job, abort: Callable[[], bool],
                     progress: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        from agentdesk.billing.run import DEFAULT_BATCH_SIZE, run_billing

        period = str(job.payload.get("period", ""))
        summary = run_billing(
            self.db, period, abort=abort, batch_size=int(job.payload.get("batch_size") or DEFAULT_BATCH_SIZE),
            progress=lambda done, total: progress({"done": done, "total": total}),
            log=lambda message: log.info("job %s: %s", job.id, message),
        )
        return {
            "period": summary.period, "state": summary.state, "invoices": summary.invoices,
            "amount_billed": str(summary.amount_billed), "amount_discounted": str(summary.amount_discounted),
            "skipped": len(summary.skipped), "done": summary.customers_done, "total": summary.customers_total,
            "aborted": summary.aborted,
        }

    def _render_invoice(self, job: Job, abort: Callable[[], bool],
                        progress: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        from agentdesk.services import invoices

        ids = [int(i) for i in job.payload.get("invoice_ids") or [job.payload.get("invoice_id")] if i is not None]
        folder = Path(job.payload.get("output_dir") or self.settings.data_dir / "invoices")
        written: list[str] = []
        for n, invoice_id in enumerate(ids, start=1):
            if abort():
                return {"aborted": True, "written": len(written)}
            written.append(str(invoices.write_pdf(self.db, invoice_id, folder)))
            progress({"done": n, "total": len(ids)})
        return {"written": written}

    def _send_outbox(self, job: Job, abort: Callable[[], bool],
                     progress: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        from agentdesk.services import outbox

        limit = int(job.payload.get("limit") or self.config.outbox_limit)
        result = outbox.deliver_pending(self.db, self.settings, limit)
        return {"result": _plain(result)}

    def _lapse_offers(self, job: Job, abort: Callable[[], bool],
                      progress: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        from agentdesk.services import offers

        return {"result": _plain(offers.lapse_expired_offers(self.db))}


def _plain(value: object) -> object:
    """A handler result as JSON-friendly data for the job's progress column."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    fields = getattr(value, "__dataclass_fields__", None)
    if fields:
        return {k: _plain(getattr(value, k)) for k in fields}
    return str(value)
