"""Keeping open screens current and noticing when the database goes away.

* :class:`NotificationThread` LISTENs for 'agentdesk_changes' (services.notifications.ChangeListener) on its
  own thread and forwards each batch to the GUI thread through a queued signal; the ChangeHub then tells
  every page which rows changed.
* A polling fallback asks pages to refresh every few seconds while the listener has no connection (every
  30 s otherwise, in case a notification was lost): notifications are a hint, never the only path.
* :class:`ConnectionMonitor` pings the server off the GUI thread (every 15 s; every 2 s once it is lost),
  and also learns from failing and succeeding tasks. It announces "lost" and "back" once each through the
  hub; when the connection is back every page refreshes. Nothing typed is lost meanwhile: editors keep
  their fields and drafts stay local until a save succeeds.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from agentdesk.gui.tasks import TaskRunner

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext

log = logging.getLogger(__name__)

PING_CONNECTED_MS = 15_000
PING_LOST_MS = 2_000
POLL_LISTENING_MS = 30_000
POLL_NOT_LISTENING_MS = 2_000


class NotificationThread(QThread):
    """Runs a ChangeListener loop. Signals (emitted on this thread, delivered queued on the GUI thread):

    sig_changes(list): a batch of {"table", "id", "op"} dicts; table "*" means "refresh everything".
    sig_listening(bool): the listener has (or lost) its connection.
    """

    sig_changes = Signal(list)
    sig_listening = Signal(bool)

    def __init__(self, url: Any, parent: QObject | None = None, *, poll_seconds: float = 0.2) -> None:
        super().__init__(parent)
        self._url = url
        self._stop = threading.Event()
        self._poll_seconds = poll_seconds

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from agentdesk.services.notifications import ChangeListener

        listener = ChangeListener(self._url)
        listening = False
        try:
            while not self._stop.is_set():
                try:
                    batch = listener.poll(self._poll_seconds)
                except Exception:  # never let the listener thread die: log and try again shortly
                    log.exception("change listener failed")
                    listener.close()
                    batch = []
                    self._stop.wait(1.0)
                if listener.connected != listening:
                    listening = listener.connected
                    self.sig_listening.emit(listening)
                if batch:
                    self.sig_changes.emit([dict(change) for change in batch])
        finally:
            listener.close()


class ConnectionMonitor(QObject):
    """Knows whether the database answers (see the module docstring).

    Signals:
        sig_state_changed(bool connected, str message)
    """

    sig_state_changed = Signal(bool, str)

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.connected = True
        self.message = ""
        # Pings get their own thread: stuck work in the main pool must not delay noticing a lost server.
        self._pinger = TaskRunner(self, max_threads=1)
        self._pinging = False
        self._timer = QTimer(self)
        self._timer.setInterval(PING_CONNECTED_MS)
        self._timer.timeout.connect(self.ping)
        context.runner.sig_connection_lost.connect(self.mark_lost)
        context.runner.sig_task_succeeded.connect(self._on_task_succeeded)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._pinger.wait_for_done(3000)

    @Slot()
    def ping(self) -> None:
        if self._pinging:
            return
        self._pinging = True
        from agentdesk.gui.adapters import ping

        db = self._context.db
        self._pinger.submit(lambda: ping(db), on_done=self._on_ping_ok, on_error=self._on_ping_failed,
                            owner=self, describe="reach the database")

    def _on_ping_ok(self, _result: object) -> None:
        self._pinging = False
        self.mark_back()

    def _on_ping_failed(self, exc: BaseException) -> None:
        self._pinging = False
        from agentdesk.gui.tasks import connection_problem

        self.mark_lost(connection_problem(exc) or f"The database does not answer: {exc}")

    @Slot()
    def _on_task_succeeded(self) -> None:
        if not self.connected:
            self.ping()  # a task got through: confirm with a ping rather than trusting one result

    @Slot(str)
    def mark_lost(self, message: str) -> None:
        self._timer.setInterval(PING_LOST_MS)
        if not self._timer.isActive():
            self._timer.start()
        if self.connected:
            self.connected = False
            self.message = message or "The database cannot be reached; reconnecting…"
            log.warning("connection lost: %s", self.message)
            self.sig_state_changed.emit(False, self.message)

    def mark_back(self) -> None:
        self._timer.setInterval(PING_CONNECTED_MS)
        if not self.connected:
            self.connected = True
            self.message = "Connected again"
            log.info("connection back")
            self.sig_state_changed.emit(True, self.message)


class LiveUpdates(QObject):
    """Wires the listener thread, the polling fallback and the connection monitor to the ChangeHub."""

    def __init__(self, context: AppContext, parent: QObject | None = None, *, listen: bool = True) -> None:
        super().__init__(parent)
        self._context = context
        self.listening = False
        self.monitor = ConnectionMonitor(context, self)
        self.monitor.sig_state_changed.connect(self._on_connection)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_NOT_LISTENING_MS)
        self._poll.timeout.connect(context.changes.sig_refresh_all)
        self._thread: NotificationThread | None = None
        if listen:
            self._thread = NotificationThread(context.db.url, self)
            self._thread.sig_changes.connect(self._on_changes)
            self._thread.sig_listening.connect(self._on_listening)

    def start(self) -> None:
        self.monitor.start()
        self._poll.start()
        if self._thread is not None:
            self._thread.start()

    def stop(self) -> None:
        self._poll.stop()
        self.monitor.stop()
        if self._thread is not None:
            self._thread.stop()
            self._thread.wait(3000)

    @Slot(list)
    def _on_changes(self, batch: list[dict[str, Any]]) -> None:
        hub = self._context.changes
        for change in batch:
            if change.get("table") == "*":
                hub.sig_refresh_all.emit()
            elif change.get("id") is not None:
                hub.announce(str(change["table"]), int(change["id"]), str(change.get("op", "update")))

    @Slot(bool)
    def _on_listening(self, listening: bool) -> None:
        self.listening = listening
        self._poll.setInterval(POLL_LISTENING_MS if listening else POLL_NOT_LISTENING_MS)

    @Slot(bool, str)
    def _on_connection(self, connected: bool, message: str) -> None:
        self._context.changes.sig_connection_changed.emit(connected, message)
        if connected:
            self._context.changes.sig_refresh_all.emit()
