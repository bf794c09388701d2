"""The background job queue (table ``background_job``): enqueue, claim, heartbeat, finish.

* :func:`enqueue` adds a job; with a ``dedupe_key`` a second request while the first is queued or running
  returns the existing job instead (partial unique index ``uq_background_job_dedupe``).
* :func:`claim` takes the next ready job with ``FOR UPDATE SKIP LOCKED``, so concurrent workers never take
  the same one; a running job whose heartbeat is older than the timeout is taken over (its worker died).
* :func:`heartbeat` proves the worker is alive and records progress; it returns False when the job is no
  longer this worker's (someone took it over), and the worker then stops working on it.
* Inserting a queued job notifies channel ``agentdesk_jobs`` (trigger in db/sql/30_billing.sql).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from agentdesk.bootstrap import Database
from agentdesk.db.models.base import JOB_KINDS
from agentdesk.domain.errors import NotFound, ValidationError

CHANNEL = "agentdesk_jobs"


@dataclass(frozen=True)
class Job:
    """A background job as the worker and the screens see it."""

    id: int
    kind: str
    state: str
    payload: dict[str, Any]
    dedupe_key: str | None
    attempts: int
    locked_by: str | None
    heartbeat_at: dt.datetime | None
    progress: dict[str, Any]
    last_error: str | None
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


_COLUMNS = ("id, kind, state, payload, dedupe_key, attempts, locked_by, heartbeat_at, progress, last_error,"
            " created_by, created_at, finished_at")


def _job(row: Any) -> Job:
    return Job(**{k: row[k] for k in Job.__dataclass_fields__})


def enqueue(db: Database, kind: str, payload: dict[str, Any] | None = None, dedupe_key: str | None = None, *,
            priority: int = 5, run_after: dt.datetime | None = None) -> Job:
    """Queue a job; returns it (or the queued/running job with the same ``dedupe_key``)."""
    if kind not in JOB_KINDS:
        raise ValidationError("kind", f"Unknown job kind '{kind}': one of {', '.join(JOB_KINDS)}")
    with db.session() as s:
        row = s.execute(text(
            "INSERT INTO background_job (kind, payload, dedupe_key, priority, run_after) "
            "VALUES (:k, CAST(:p AS jsonb), :d, :pr, coalesce(:ra, now())) "
            "ON CONFLICT (dedupe_key) WHERE state IN ('queued', 'running') DO NOTHING "
            f"RETURNING {_COLUMNS}"
        ), {"k": kind, "p": json.dumps(payload or {}), "d": dedupe_key, "pr": priority, "ra": run_after}
        ).mappings().first()
        if row is None:
            row = s.execute(text(
                f"SELECT {_COLUMNS} FROM background_job WHERE dedupe_key = :d AND state IN ('queued', 'running')"
            ), {"d": dedupe_key}).mappings().first()
        if row is None:  # the duplicate finished between the two statements: queue it afresh
            return enqueue(db, kind, payload, dedupe_key, priority=priority, run_after=run_after)
        return _job(row)


def get_job(db: Database, job_id: int) -> Job:
    with db.session() as s:
        row = s.execute(text(f"SELECT {_COLUMNS} FROM background_job WHERE id = :id"), {"id": job_id}).mappings().first()
    if row is None:
        raise NotFound("Job", job_id)
    return _job(row)


def list_jobs(db: Database, *, states: tuple[str, ...] = ("queued", "running", "failed"), limit: int = 100) -> list[Job]:
    with db.session() as s:
        rows = s.execute(text(
            f"SELECT {_COLUMNS} FROM background_job WHERE state = ANY(:st) ORDER BY id DESC LIMIT :n"
        ), {"st": list(states), "n": limit}).mappings().all()
    return [_job(r) for r in rows]


def claim(db: Database, worker: str, *, stale_after: float) -> Job | None:
    """Take the next ready job (or one whose worker stopped sending heartbeats) for ``worker``."""
    with db.session() as s:
        row = s.execute(text(
            "UPDATE background_job SET state = 'running', locked_by = :w, locked_at = now(), heartbeat_at = now(),"
            " attempts = attempts + 1 "
            "WHERE id = (SELECT id FROM background_job"
            "            WHERE (state = 'queued' AND run_after <= now())"
            "               OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => :stale))"
            "            ORDER BY state = 'running' DESC, priority, run_after, id"
            "            LIMIT 1 FOR UPDATE SKIP LOCKED) "
            f"RETURNING {_COLUMNS}"
        ), {"w": worker, "stale": stale_after}).mappings().first()
    return _job(row) if row is not None else None


def heartbeat(db: Database, job_id: int, worker: str, progress: dict[str, Any] | None = None) -> bool:
    """Refresh the job's heartbeat (and progress); False if the job is no longer this worker's."""
    with db.session() as s:
        result = s.execute(text(
            "UPDATE background_job SET heartbeat_at = now(), progress = coalesce(CAST(:p AS jsonb), progress) "
            "WHERE id = :id AND locked_by = :w AND state = 'running'"
        ), {"id": job_id, "w": worker, "p": json.dumps(progress) if progress is not None else None})
        return bool(getattr(result, "rowcount", 0))


def finish(db: Database, job_id: int, worker: str, *, progress: dict[str, Any] | None = None) -> bool:
    with db.session() as s:
        result = s.execute(text(
            "UPDATE background_job SET state = 'done', finished_at = now(), heartbeat_at = now(), last_error = NULL,"
            " progress = coalesce(CAST(:p AS jsonb), progress) WHERE id = :id AND locked_by = :w AND state = 'running'"
        ), {"id": job_id, "w": worker, "p": json.dumps(progress) if progress is not None else None})
        return bool(getattr(result, "rowcount", 0))


def fail(db: Database, job_id: int, worker: str, error: str, *, retry_in: float | None) -> bool:
    """Record a failure: back in the queue after ``retry_in`` seconds, or failed for good if None."""
    with db.session() as s:
        if retry_in is None:
            sql = ("UPDATE background_job SET state = 'failed', finished_at = now(), last_error = :e "
                   "WHERE id = :id AND locked_by = :w AND state = 'running'")
        else:
            sql = ("UPDATE background_job SET state = 'queued', locked_by = NULL, locked_at = NULL, last_error = :e,"
                   " run_after = now() + make_interval(secs => :later) "
                   "WHERE id = :id AND locked_by = :w AND state = 'running'")
        result = s.execute(text(sql), {"id": job_id, "w": worker, "e": error[:4000], "later": retry_in or 0})
        return bool(getattr(result, "rowcount", 0))


def release(db: Database, job_id: int, worker: str) -> bool:
    """Give a job back to the queue unfinished (the worker is shutting down); another worker continues it."""
    with db.session() as s:
        result = s.execute(text(
            "UPDATE background_job SET state = 'queued', locked_by = NULL, locked_at = NULL, run_after = now() "
            "WHERE id = :id AND locked_by = :w AND state = 'running'"
        ), {"id": job_id, "w": worker})
        return bool(getattr(result, "rowcount", 0))
