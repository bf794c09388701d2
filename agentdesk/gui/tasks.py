"""The background task runner: every database call of the desktop runs here, never on the GUI thread.

A task is a plain callable run on a private QThreadPool. Its result or exception travels back to the GUI
thread through one queued signal of the runner (a QObject living on the GUI thread), and only then are the
caller's callbacks invoked, so widgets are only ever touched on the main thread.

Errors: a callback ``on_error`` gets the exception if given. Otherwise an :class:`AgentDeskError` becomes a
one-line ``sig_task_failed`` message (the main window shows it in the status bar) and anything unexpected
is logged with its traceback and reported in one line too. A lost connection is recognised and also
announced through ``sig_connection_lost`` so the connection monitor can take over.

Signals:
    sig_busy_changed(bool): some task is running / the last one finished (busy indicator).
    sig_task_failed(str): a task failed and nobody handled the error; the text is fit for the status bar.
    sig_connection_lost(str): a task failed because the database could not be reached.
    sig_task_succeeded(): a task reached the database and came back (the connection works).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from agentdesk.domain.errors import AgentDeskError

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


def connection_problem(exc: BaseException) -> str | None:
    """A one-line message if ``exc`` means "the database cannot be reached", else None.

    bootstrap raises ConnectionFailed for a connection invalidated mid-session; a server that is down when a
    new connection is checked out surfaces as a driver OperationalError (SQLSTATE class 08, or none), which
    the session translates into a generic refusal: look at the cause to recognise it.
    """
    from agentdesk.bootstrap import ConnectionFailed  # lazy: keeps SQLAlchemy out of cold start

    if isinstance(exc, ConnectionFailed):
        return str(exc)
    chain: BaseException | None = exc
    seen = 0
    while chain is not None and seen < 5:
        name = type(chain).__name__
        code = getattr(getattr(chain, "orig", None), "pgcode", None) or getattr(chain, "pgcode", None)
        if name in ("OperationalError", "InterfaceError") and (code is None or str(code).startswith(("08", "57P"))):
            return "The database server cannot be reached; reconnecting…"
        chain = chain.__cause__ or chain.__context__
        seen += 1
    return None


@dataclass
class _Pending:
    on_done: Callback | None
    on_error: ErrorCallback | None
    owner: QObject | None
    describe: str
    cancelled: bool = False


class TaskHandle:
    """What `submit` returns: lets the caller drop interest in a result (e.g. a newer request superseded it)."""

    def __init__(self, runner: TaskRunner, task_id: int) -> None:
        self._runner = runner
        self.task_id = task_id

    def cancel(self) -> None:
        """The task still runs to its end (a database call cannot be interrupted safely); its result is ignored."""
        pending = self._runner._pending.get(self.task_id)
        if pending is not None:
            pending.cancelled = True

    @property
    def done(self) -> bool:
        return self.task_id not in self._runner._pending


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, task_id: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._runner = runner
        self._task_id = task_id
        self._fn = fn

    def run(self) -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = self._fn()
        except BaseException as exc:  # everything goes back to the GUI thread, which decides
            error = exc
        # RuntimeError: the runner was deleted while we worked (the application is closing).
        with contextlib.suppress(RuntimeError):
            self._runner._sig_finished.emit(self._task_id, result, error)


class TaskRunner(QObject):
    """Runs callables off the GUI thread and hands their outcome back on it (see the module docstring)."""

    sig_busy_changed = Signal(bool)
    sig_task_failed = Signal(str)
    sig_connection_lost = Signal(str)
    sig_task_succeeded = Signal()
    _sig_finished = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        # Explicitly queued: the emit happens on a pool thread, the slot must run on ours.
        self._sig_finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def submit(
        self,
        fn: Callable[[], Any],
        *,
        on_done: Callback | None = None,
        on_error: ErrorCallback | None = None,
        owner: QObject | None = None,
        describe: str = "",
    ) -> TaskHandle:
        """Run ``fn()`` in the pool. Callbacks run on the GUI thread, and not at all if ``owner`` was deleted."""
        task_id = next(self._ids)
        was_busy = self.busy
        self._pending[task_id] = _Pending(on_done, on_error, owner, describe)
        if not was_busy:
            self.sig_busy_changed.emit(True)
        self._pool.start(_Job(self, task_id, fn))
        return TaskHandle(self, task_id)

    def wait_for_done(self, msecs: int = -1) -> bool:
        """Block until the pool is idle (shutdown only; results still arrive through the event loop)."""
        return bool(self._pool.waitForDone(msecs))

    @Slot(int, object, object)
    def _deliver(self, task_id: int, result: Any, error: BaseException | None) -> None:
        pending = self._pending.pop(task_id, None)
        if not self._pending:
            self.sig_busy_changed.emit(False)
        if pending is None:
            return
        lost = connection_problem(error) if error is not None else None
        if error is None:
            self.sig_task_succeeded.emit()
        elif lost is not None:
            self.sig_connection_lost.emit(lost)
        if pending.cancelled or (pending.owner is not None and not shiboken6.isValid(pending.owner)):
            return
        try:
            if error is None:
                if pending.on_done is not None:
                    pending.on_done(result)
            elif pending.on_error is not None:
                pending.on_error(error)
            else:
                self._report(error, pending.describe, lost)
        except Exception as exc:  # a bug in a callback must not kill the event loop
            log.exception("callback of task %s (%s) failed", task_id, pending.describe)
            self.sig_task_failed.emit(f"Unexpected error in the desktop: {type(exc).__name__}: {exc}")

    def _report(self, error: BaseException, describe: str, lost: str | None) -> None:
        if lost is not None:
            return  # the connection monitor reports it once, not every task
        self.sig_task_failed.emit(error_line(error, describe))


def error_line(error: BaseException, describe: str = "") -> str:
    """The one line shown to the user for a failed task."""
    if isinstance(error, AgentDeskError):
        return str(error)
    log.error("unexpected error while %s", describe or "working", exc_info=error)
    prefix = f"Could not {describe}: " if describe else ""
    return f"{prefix}unexpected {type(error).__name__}: {error}".strip()
