"""Accounting's approval screen: the accounting queue, each ticket's billing item records and bill preview.

For the selected ticket the screen shows the records accounting would store (the patent's fields: service
description, service frequency, service cost, approved discount, discount frequency, % of service cost) and
what the customer's next bill will look like. Approving stores the records and closes the ticket as
retained; sending back returns it to its agent with a reason. Several tickets can be decided at once, each
in its own unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agentdesk.gui.backoffice import bill_preview
from agentdesk.gui.backoffice.common import (
    BackofficePage,
    Column,
    ReasonDialog,
    RowsModel,
    day,
    error_text,
    fit_columns,
    heading,
    label,
    make_table,
    money,
    select_rows,
    selected_rows,
)
from agentdesk.services import accounting as accounting_service
from agentdesk.services import queues
from agentdesk.services.accounting import RecordInfo
from agentdesk.services.dto import TicketSummary

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext

TICKET_COLUMNS: list[Column[TicketSummary]] = [
    Column("Ticket", lambda t: t.number),
    Column("Customer", lambda t: f"{t.customer_name} ({t.account_number})"),
    Column("Segment", lambda t: label(t.segment)),
    Column("Service", lambda t: t.service_number),
    Column("Call", lambda t: label(t.call_type)),
    Column("Agent", lambda t: t.assigned_to or "—"),
    Column("Waiting since", lambda t: day(t.updated_at)),
]
RECORD_COLUMNS: list[Column[RecordInfo]] = [
    Column("Service\ndescription", lambda r: r.service_description),
    Column("Service\nfrequency", lambda r: label(r.service_frequency)),
    Column("Service\ncost", lambda r: money(r.service_cost), numeric=True),
    Column("Approved\ndiscount", lambda r: money(r.approved_discount), numeric=True),
    Column("Discount\nfrequency", lambda r: r.discount_frequency),
    Column("% of\nservice cost", lambda r: f"{r.discount_percent:.2f} %", numeric=True),
]
MAX_QUEUE = 500


@dataclass(frozen=True)
class Outcome:
    ticket: TicketSummary
    error: str | None


class AccountingPage(BackofficePage):
    """The accounting queue with billing item records and bill preview (accounting)."""

    title = "Accounting queue"
    icon_name = "accounting"
    roles = frozenset({"accounting"})
    shortcut = "Ctrl+Shift+Q"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.tickets: RowsModel[TicketSummary] = RowsModel(TICKET_COLUMNS, self)
        self.table = make_table(self.tickets, multi=True, stretch=1)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda index: self.context.open_ticket(self.tickets.row(index.row()).id))

        self.records: RowsModel[RecordInfo] = RowsModel(RECORD_COLUMNS, self)
        self.record_table = make_table(self.records, stretch=0)
        self.record_table.horizontalHeader().setMinimumHeight(44)  # two-line headers: the patent's field names
        self.record_table.setSelectionMode(self.record_table.SelectionMode.NoSelection)
        records_box = QGroupBox("Billing item records to store")
        records_layout = QVBoxLayout(records_box)
        records_layout.addWidget(self.record_table)
        self.records_note = QLabel("Select a ticket to see its billing item records.")
        self.records_note.setProperty("role", "hint")
        self.records_note.setWordWrap(True)
        records_layout.addWidget(self.records_note)

        self.preview = bill_preview.BillPreview()
        preview_box = QGroupBox("Bill preview: the customer's next bill with the discount")
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.addWidget(self.preview)

        self.approve_button = QPushButton("Approve")
        self.approve_button.setObjectName("primary")
        self.approve_button.clicked.connect(self.approve_selected)
        self.back_button = QPushButton("Send back…")
        self.back_button.clicked.connect(self.send_back_selected)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.count_label = QLabel()
        self.count_label.setProperty("role", "hint")

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(records_box)
        lower.addWidget(preview_box)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        self.proportions(lower, 55, 45)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)

        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.approve_button)

        layout = QVBoxLayout(self)
        layout.addWidget(heading(
            "Accounting queue",
            "Tickets whose discount a manager approved and the agent confirmed. Check the billing item records "
            "and the bill preview, then approve (records stored, ticket closed as retained) or send back.",
        ))
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

        self._busy = False
        self._detail_for: int | None = None
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(150)  # arrow keys through the list: load the one the user stops on
        self._detail_timer.timeout.connect(self._load_detail)
        self._reload_soon = QTimer(self)
        self._reload_soon.setSingleShot(True)
        self._reload_soon.setInterval(400)
        self._reload_soon.timeout.connect(self.refresh)
        self._selection_changed()

    # -- loading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        db = self.db
        self.call(lambda: list(queues.list_queue(db, "accounting", limit=MAX_QUEUE).tickets), self._show,
                  describe="load the accounting queue")

    def _show(self, rows: list[TicketSummary]) -> None:
        keep = {t.id for t in self.selected()}
        self.tickets.set_rows(rows)
        fit_columns(self.table)
        select_rows(self.table, (i for i, t in enumerate(rows) if t.id in keep))
        n = len(rows)
        self.count_label.setText(f"{n} ticket{'s' if n != 1 else ''} in the queue" if n else "The queue is empty")
        self.sig_badge_changed.emit(str(n) if n else "")
        self._selection_changed()

    def on_row_changed(self, table: str, row_id: int, op: str) -> None:
        if table == "ticket" and self._activated_once:
            self._reload_soon.start()

    # -- selection and detail ------------------------------------------------------------------------------

    def selected(self) -> list[TicketSummary]:
        return [self.tickets.row(r) for r in selected_rows(self.table)]

    def _selection_changed(self, *_args: object) -> None:
        chosen = self.selected()
        n = len(chosen)
        enabled = n > 0 and not self._busy
        self.approve_button.setEnabled(enabled)
        self.back_button.setEnabled(enabled)
        self.approve_button.setText(f"Approve {n} selected" if n > 1 else "Approve")
        self.back_button.setText(f"Send {n} back…" if n > 1 else "Send back…")
        if n == 1:
            if chosen[0].id != self._detail_for:
                self._detail_timer.start()
        else:
            self._detail_for = None
            self.records.set_rows([])
            self.preview.clear_preview(
                f"{n} tickets selected: select one to see its records and bill." if n else "Select a ticket.")
            self.records_note.setText(f"{n} tickets selected." if n else "Select a ticket to see its billing "
                                      "item records.")
            self.records_note.show()

    def _load_detail(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            return
        ticket = chosen[0]
        self._detail_for = ticket.id
        db = self.db
        self.records_note.setText("Loading…")
        self.preview.clear_preview("Loading…")

        def work() -> tuple[list[RecordInfo], Any]:
            records = accounting_service.preview_records(db, ticket.id)
            return records, bill_preview.load(db, ticket)

        def done(result: tuple[list[RecordInfo], Any]) -> None:
            if self._detail_for != ticket.id:
                return  # the user moved on
            records, preview = result
            self.records.set_rows(records)
            fit_columns(self.record_table)
            total = sum((r.approved_discount for r in records), start=type(records[0].approved_discount)(0)) \
                if records else None
            self.records_note.setText(
                f"{len(records)} record{'s' if len(records) != 1 else ''}; {money(total)} off per period in all."
                if records else "No approved discount to record: send the ticket back to the agent.")
            self.preview.show_preview(preview, ticket.customer_name)

        def failed(exc: BaseException) -> None:
            if self._detail_for != ticket.id:
                return
            self.records.set_rows([])
            self.records_note.setText(error_text(exc))
            self.preview.clear_preview("No preview.")

        self.call(work, done, describe="load the ticket's billing records", on_error=failed)

    # -- deciding ------------------------------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.refresh_button.setEnabled(not busy)
        self._selection_changed()

    def approve_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        db = self.db

        def work() -> tuple[list[Outcome], list[TicketSummary]]:
            outcomes = []
            for t in chosen:
                try:
                    accounting_service.accounting_approve(db, t.id, t.version)
                    outcomes.append(Outcome(t, None))
                except Exception as exc:
                    outcomes.append(Outcome(t, error_text(exc)))
            return outcomes, list(queues.list_queue(db, "accounting", limit=MAX_QUEUE).tickets)

        self._decide(work, "approved and closed")

    def send_back_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        what = f"ticket {chosen[0].number}" if len(chosen) == 1 else f"these {len(chosen)} tickets"
        reason = ReasonDialog.ask(
            "Send back to the agent", f"Why does {what} go back to the agent? They read it on the ticket.", self,
            action="Send back",
        )
        if reason is None:
            return
        if not reason.strip():
            self.say("A reason is required to send a ticket back: nothing was sent back.", "error")
            return
        db = self.db

        def work() -> tuple[list[Outcome], list[TicketSummary]]:
            outcomes = []
            for t in chosen:
                try:
                    accounting_service.send_back(db, t.id, t.version, reason)
                    outcomes.append(Outcome(t, None))
                except Exception as exc:
                    outcomes.append(Outcome(t, error_text(exc)))
            return outcomes, list(queues.list_queue(db, "accounting", limit=MAX_QUEUE).tickets)

        self._decide(work, "sent back to the agent")

    def _decide(self, work: Any, action: str) -> None:
        self._set_busy(True)

        def done(result: tuple[list[Outcome], list[TicketSummary]]) -> None:
            outcomes, rows = result
            self._set_busy(False)
            self.table.clearSelection()
            self._show(rows)
            ok = [o for o in outcomes if o.error is None]
            bad = [o for o in outcomes if o.error is not None]
            parts = []
            if ok:
                parts.append(f"{len(ok)} ticket{'s' if len(ok) != 1 else ''} {action}: "
                             + ", ".join(o.ticket.number for o in ok) + ".")
            if bad:
                parts.append(f"{len(bad)} refused:\n" + "\n".join(f"• {o.ticket.number}: {o.error}" for o in bad))
            self.say("\n".join(parts), "success" if not bad else ("warning" if ok else "error"))
            for o in ok:
                self.context.changes.announce("ticket", o.ticket.id)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self.say(error_text(exc), "error")
            self.refresh()

        self.call(work, done, describe="decide the accounting tickets", on_error=failed)


__all__ = ["AccountingPage"]
