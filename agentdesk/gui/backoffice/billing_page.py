"""Billing runs: choose a month, preview it, run it with a progress dialog that can be cancelled, resume it.

The run is the billing layer's plain function with abort, progress and log hooks, run off the GUI thread.
Progress and log lines come back through queued signals; Cancel sets the abort flag, which the run checks
between batches (the batch under way always finishes, so nothing is half-billed). Running the same month
again continues where it stopped: the run is exactly-once, so nothing is billed twice.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agentdesk.billing.run import DEFAULT_BATCH_SIZE, RunSummary, run_billing
from agentdesk.gui.backoffice.common import (
    BackofficePage,
    Column,
    RowsModel,
    day,
    error_text,
    fit_columns,
    heading,
    label,
    make_table,
    money,
)
from agentdesk.services import billing as billing_service
from agentdesk.services.billing import RunStatus

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext

def _short(when: dt.datetime | None) -> str:
    return "—" if when is None else when.astimezone().strftime("%d/%m %H:%M")


RUN_COLUMNS: list[Column[RunStatus]] = [
    Column("Period", lambda r: r.period),
    Column("State", lambda r: label(r.state)),
    Column("Invoices", lambda r: str(r.invoices), numeric=True),
    Column("Billed", lambda r: money(r.amount_billed), numeric=True),
    Column("Discounts", lambda r: money(r.amount_discounted), numeric=True),
    Column("Customers", lambda r: f"{r.customers_done}/{r.customers_total}"
           + (f", {len(r.problems)} skipped" if r.problems else ""), numeric=True,
           tooltip=lambda r: "\n".join(f"{p.account_number}: {p.reason}" for p in r.problems)
           or f"{r.customers_done} of {r.customers_total} customers handled"),
    Column("Started", lambda r: _short(r.started_at), tooltip=lambda r: f"{day(r.started_at)} by {r.started_by}"),
    Column("Finished", lambda r: _short(r.finished_at), tooltip=lambda r: day(r.finished_at)),
]


def period_choices(today: dt.date, back: int = 12) -> list[str]:
    """Next month, this month and the `back` months before, newest first."""
    year, month = today.year, today.month + 1
    if month == 13:
        year, month = year + 1, 1
    out = []
    for _ in range(back + 2):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out


def summary_text(s: RunSummary) -> str:
    """What a pass did, in a few lines (the banner and the result box)."""
    what = "would bill" if s.preview else "billed"
    lines = [f"{s.period}: {what} {s.invoices} invoice{'s' if s.invoices != 1 else ''} for "
             f"{money(s.amount_billed)}, discounts {money(s.amount_discounted)} off the bills"
             + (f", {money(s.payment_discounts)} more at payment" if s.payment_discounts else "") + "."]
    lines.append(f"Customers handled: {s.customers_done} of {s.customers_total}.")
    if s.aborted:
        lines.append("Stopped on request after the batch under way. "
                     + ("Nothing was written (preview)." if s.preview else
                        "Run the period again to continue: nothing is billed twice."))
    if not s.preview and s.run_invoices:
        lines.append(f"The period so far: {s.run_invoices} invoices, {money(s.run_amount_billed)} billed "
                     f"(run {label(s.state).lower()}).")
    if s.skipped:
        lines.append(f"{len(s.skipped)} customer{'s' if len(s.skipped) != 1 else ''} could not be billed:")
        lines.extend(f"  • {x.account_number}: {x.reason}" for x in s.skipped[:20])
        if len(s.skipped) > 20:
            lines.append(f"  … and {len(s.skipped) - 20} more (see the run's problems)")
    return "\n".join(lines)


class _Bridge(QObject):
    """Carries the run's hooks from the worker thread to the GUI thread (queued signals)."""

    sig_progress = Signal(int, int)
    sig_log = Signal(str)


class BillingRunsPage(BackofficePage):
    """Preview and run billing for a month (accounting)."""

    title = "Billing runs"
    icon_name = "refresh"
    roles = frozenset({"accounting"})

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.batch_size = DEFAULT_BATCH_SIZE
        self._running_what = ""
        self.running = False
        self.abort_event = threading.Event()
        self.progress: QProgressDialog | None = None
        self.last_summary: RunSummary | None = None
        self.status: RunStatus | None = None
        self.bridge = _Bridge(self)
        self.bridge.sig_progress.connect(self._on_progress)
        self.bridge.sig_log.connect(self._on_log)

        self.period = QComboBox()
        for p in period_choices(dt.date.today()):
            self.period.addItem(p, p)
        self.period.setCurrentIndex(1)  # this month
        self.period.currentIndexChanged.connect(self._period_changed)
        self.period_state = QLabel()
        self.period_state.setWordWrap(True)
        self.period_state.setProperty("role", "hint")
        self.preview_button = QPushButton("Preview")
        self.preview_button.clicked.connect(lambda: self.start(preview=True))
        self.run_button = QPushButton("Run billing")
        self.run_button.setObjectName("primary")
        self.run_button.clicked.connect(lambda: self.start(preview=False))
        chooser = QGroupBox("Bill a month")
        chooser_layout = QVBoxLayout(chooser)
        row = QHBoxLayout()
        row.addWidget(QLabel("Period"))
        row.addWidget(self.period)
        row.addStretch(1)
        row.addWidget(self.preview_button)
        row.addWidget(self.run_button)
        chooser_layout.addLayout(row)
        chooser_layout.addWidget(self.period_state)

        self.result = QLabel("Preview a month to see what it would bill, then run it.")
        self.result.setObjectName("runResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        result_box = QGroupBox("Result")
        result_layout = QVBoxLayout(result_box)
        result_layout.addWidget(self.result, 1)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("The run's log appears here.")
        log_box = QGroupBox("Log")
        log_layout = QVBoxLayout(log_box)
        log_layout.addWidget(self.log)

        self.model: RowsModel[RunStatus] = RowsModel(RUN_COLUMNS, self)
        self.table = make_table(self.model, stretch=0)
        runs_box = QGroupBox("Billing runs")
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.addWidget(self.table)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(chooser)
        right_layout.addWidget(result_box, 1)
        right_layout.addWidget(log_box, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(runs_box)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.proportions(split, 60, 40)

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Billing runs", "Bill every customer with something due in a month: approved "
                                 "discounts only, each invoice numbered without gaps. A stopped run continues "
                                 "where it stopped when run again."))
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)

    # -- loading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        db = self.db
        self.call(lambda: billing_service.list_runs(db), self._show_runs, describe="load the billing runs")

    def _show_runs(self, runs: list[RunStatus]) -> None:
        self.model.set_rows(runs)
        fit_columns(self.table, stretch_min=70)
        self._period_changed()

    def current_period(self) -> str:
        return str(self.period.currentData())

    def _period_changed(self, *_args: object) -> None:
        period = self.current_period()
        self.status = next((r for r in self.model.rows() if r.period == period), None)
        s = self.status
        if s is None:
            self.period_state.setText(f"{period} has not been billed yet.")
            self.run_button.setText("Run billing")
        elif s.state == "completed":
            self.period_state.setText(f"{period} was billed on {day(s.finished_at)}: {s.invoices} invoices. "
                                      "Running it again bills only what has appeared since.")
            self.run_button.setText("Run again")
        else:
            self.period_state.setText(f"{period} is {label(s.state).lower()}: {s.customers_done} of "
                                      f"{s.customers_total} customers done. Continue to finish it.")
            self.run_button.setText("Continue run")
        self._enable()

    def _enable(self) -> None:
        self.run_button.setEnabled(not self.running)
        self.preview_button.setEnabled(not self.running)
        self.period.setEnabled(not self.running)

    # -- running -------------------------------------------------------------------------------------------

    def start(self, *, preview: bool) -> None:
        if self.running:
            return
        period = self.current_period()
        db = self.db
        abort = threading.Event()
        self.abort_event = abort
        bridge = self.bridge
        batch = self.batch_size
        self.running = True
        self._enable()
        self.banner.clear()
        self.period_state.setText(f"{'Previewing' if preview else 'Billing'} {period}…")
        self.result.setText(f"{'Previewing' if preview else 'Billing'} {period}…")
        self._running_what = f"{'Previewing' if preview else 'Billing'} {period}"
        self.log.appendPlainText(f"— {'Preview of' if preview else 'Billing'} {period} started "
                                 f"{dt.datetime.now():%d/%m/%Y %H:%M:%S}")
        self.progress = QProgressDialog(f"{'Previewing' if preview else 'Billing'} {period}…", "Cancel", 0, 0, self)
        self.progress.setWindowTitle("Billing run" if not preview else "Billing preview")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.setMinimumWidth(420)
        self.progress.canceled.connect(self._cancel)
        self.progress.show()

        def work() -> RunSummary:
            return run_billing(db, period, preview=preview, abort=abort.is_set, batch_size=batch,
                               progress=lambda done, total: bridge.sig_progress.emit(done, total),
                               log=bridge.sig_log.emit)

        self.call(work, self._finished, describe=f"bill {period}", on_error=self._failed)

    def _cancel(self) -> None:
        self.abort_event.set()
        self.log.appendPlainText("Stop requested: the batch under way finishes, then the run stops.")
        self.say("Stopping after the batch under way…", "info")

    def _on_progress(self, done: int, total: int) -> None:
        dialog = self.progress
        if dialog is None:
            return
        if not self.abort_event.is_set():
            dialog.setLabelText(f"{self._running_what}: {done} of {total} customers handled…")
        dialog.setMaximum(max(total, 1))
        # A modal progress dialog processes events inside setValue: the run may finish (and the dialog
        # go) right there, so nothing touches it afterwards.
        dialog.setValue(done)

    def _on_log(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _close_progress(self) -> None:
        if self.progress is not None:
            self.progress.canceled.disconnect(self._cancel)
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        self.running = False
        self._enable()

    def _finished(self, summary: RunSummary) -> None:
        self._close_progress()
        self.last_summary = summary
        text = summary_text(summary)
        self.result.setText(text)
        self.log.appendPlainText(f"— finished: {text.splitlines()[0]}")
        if summary.aborted:
            self.say(text.splitlines()[0] + " Stopped on request; "
                     + ("nothing was written." if summary.preview else "run again to continue."), "warning")
        elif summary.skipped:
            self.say(text.splitlines()[0] + f" {len(summary.skipped)} customer(s) skipped: see the result.",
                     "warning")
        else:
            self.say(text.splitlines()[0])
        self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self._close_progress()
        message = error_text(exc)
        self.log.appendPlainText(f"— failed: {message}")
        self.result.setText(f"The run stopped with an error: {message}\nWhat was committed stays; run the "
                            "period again to continue.")
        self.say(message, "error")
        self.refresh()


__all__ = ["BillingRunsPage", "period_choices", "summary_text"]
