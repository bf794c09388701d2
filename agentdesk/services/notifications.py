"""Listening for change notifications so that open screens can refresh what went stale.

The database sends `NOTIFY agentdesk_changes '{"table": ..., "id": ..., "op": ...}'` when a ticket, offer,
ad hoc discount or invoice changes (trigger z_notify; delivered only when the change commits). This module
holds one raw psycopg2 connection that LISTENs and hands the parsed notifications out, with a timeout, so a
GUI thread can loop on `poll()` and stop when asked.

Notifications are a hint, never a source of truth: nothing may depend on receiving one (a listener may be
closed, or its connection lost, at any time; screens re-read the database). When the connection was lost
and comes back, `poll` reports one `RECONNECTED` change ({"table": "*", ...}) meaning "refresh everything".
"""

from __future__ import annotations

import json
import logging
import select
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypedDict

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

CHANNEL = "agentdesk_changes"


class Change(TypedDict):
    table: str
    id: int | None
    op: str


RECONNECTED: Change = {"table": "*", "id": None, "op": "reconnect"}


def connect_kwargs(url: URL) -> dict[str, Any]:
    """psycopg2.connect() arguments for a SQLAlchemy URL (TCP host or a Unix socket folder in ?host=)."""
    kwargs: dict[str, Any] = {
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
        "host": url.host or url.query.get("host"),
        "port": url.port,
        "connect_timeout": 5,
        "application_name": "agentdesk-listener",
    }
    return {k: v for k, v in kwargs.items() if v is not None}


def parse(payload: str) -> Change | None:
    """A notification's payload as a Change; None if it is not one of ours."""
    try:
        data = json.loads(payload)
        return {"table": str(data["table"]), "id": int(data["id"]) if data["id"] is not None else None,
                "op": str(data["op"])}
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring a malformed change notification: %r", payload[:200])
        return None


class ChangeListener:
    """LISTEN on 'agentdesk_changes' over its own connection (not from the pool: it must stay open).

    Use as a context manager, or call `open()` / `close()`. One listener per thread.
    """

    def __init__(self, url: URL, channel: str = CHANNEL) -> None:
        self._kwargs = connect_kwargs(url)
        self._channel = channel
        self._conn: psycopg2.extensions.connection | None = None
        self._lost = False

    # -- connection ---------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def open(self) -> ChangeListener:
        conn = psycopg2.connect(**self._kwargs)
        conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        with conn.cursor() as cur:
            cur.execute(f'LISTEN "{self._channel}"')
        self._conn = conn
        return self

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def __enter__(self) -> ChangeListener:
        return self if self.connected else self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- receiving ----------------------------------------------------------------------------------------

    def poll(self, timeout: float) -> list[Change]:
        """Wait up to `timeout` seconds for notifications; return all that arrived (maybe none).

        A lost connection is reopened on the next call, which then returns [RECONNECTED].
        """
        if not self.connected:
            try:
                self.open()
            except psycopg2.OperationalError as exc:
                log.info("change listener cannot reconnect yet: %s", exc)
                self._lost = True
                time.sleep(min(timeout, 1.0))
                return []
            if self._lost:
                self._lost = False
                return [RECONNECTED]
        conn = self._conn
        assert conn is not None
        try:
            if not conn.notifies:
                ready, _, _ = select.select([conn], [], [], max(timeout, 0.0))
                if ready:
                    conn.poll()
            else:
                conn.poll()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            log.info("change listener lost its connection: %s", exc)
            self.close()
            self._lost = True
            return []
        changes: list[Change] = []
        while conn.notifies:
            note = conn.notifies.pop(0)
            change = parse(note.payload)
            if change is not None:
                changes.append(change)
        return changes

    def changes(self, timeout: float) -> Iterator[Change]:
        """Yield changes as they arrive until `timeout` seconds pass with none."""
        while True:
            batch = self.poll(timeout)
            if not batch:
                return
            yield from batch

    def wait_for(self, table: str, id_: int | None = None, timeout: float = 5.0) -> Change | None:
        """The first change to `table` (and row `id_`) within `timeout` seconds, or None."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            for change in self.poll(left):
                if change["table"] == table and (id_ is None or change["id"] == id_):
                    return change
        return None
