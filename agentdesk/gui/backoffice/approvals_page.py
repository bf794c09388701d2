"""The manager's approval pane: ad hoc discounts waiting for a manager of the user's units.

Each row shows what the manager needs to decide: the discount and its value, what it costs per period and
over its whole duration, that cost as a percentage of the service's cost over the same time, what the
customer is worth and their segment, how much of the definition's cap the customer has used, the CSR who
provided it and the ticket. Several rows can be decided at once; each is its own unit of work, so one
refusal (four-eyes, a cap used up meanwhile, a colleague deciding first) never undoes the others, and the
database's own message is shown for each refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

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
    percent,
    select_rows,
    selected_rows,
)
from agentdesk.services import approvals as approvals_service
from agentdesk.services.approvals import PendingApproval

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext


def _periods(p: PendingApproval) -> str:
    return f"{p.periods} period{'s' if p.periods != 1 else ''}"


COLUMNS: list[Column[PendingApproval]] = [
    Column("Ticket", lambda p: p.ticket_number or "—",
           tooltip=lambda p: "" if p.ticket_number else "Given directly, not on a ticket"),
    Column("Customer", lambda p: p.customer_name, tooltip=lambda p: f"Account {p.account_number}"),
    Column("Segment", lambda p: label(p.segment)),
    Column("Value", lambda p: money(p.lifetime_value), numeric=True,
           tooltip=lambda _p: "The customer's lifetime value"),
    Column("Discount", lambda p: f"{p.definition_code} · {p.value_text.replace(' per ', '/')}",
           tooltip=lambda p: f"{p.definition_name} (version {p.definition_version})"),
    Column("/period", lambda p: money(p.cost_per_period), numeric=True,
           tooltip=lambda _p: "What the discount costs per billing period"),
    Column("Total", lambda p: money(p.total_cost), numeric=True,
           tooltip=lambda p: f"Over its whole duration: {money(p.cost_per_period)} × {_periods(p)}"),
    Column("% cost", lambda p: percent(p.cost_percent), numeric=True,
           tooltip=lambda p: f"{money(p.total_cost)} of the service's {money(p.service_cost)} over {_periods(p)}"),
    Column("Cap", lambda p: "no cap" if p.cap_max is None else f"{p.cap_used} of {p.cap_max}",
           tooltip=lambda p: p.cap_text),
    Column("CSR", lambda p: p.provided_by),
]


@dataclass(frozen=True)
class Outcome:
    """What happened to one discount of a batch decision."""

    pending: PendingApproval
    error: str | None  # None = done

    @property
    def who(self) -> str:
        return f"{self.pending.ticket_number or 'discount ' + str(self.pending.discount_id)} ({self.pending.customer_name})"


def summarise(action: str, outcomes: list[Outcome]) -> tuple[str, str]:
    """The banner text and kind for a batch: how many were done, and each refusal with its reason."""
    done = [o for o in outcomes if o.error is None]
    refused = [o for o in outcomes if o.error is not None]
    if len(outcomes) == 1 and refused:
        verb = action.split(" ")[0]
        return f"{refused[0].who} was not {verb}: {refused[0].error}", "error"
    parts = []
    if done:
        parts.append(f"{len(done)} discount{'s' if len(done) != 1 else ''} {action}.")
    if refused:
        lines = "\n".join(f"• {o.who}: {o.error}" for o in refused)
        parts.append(f"{len(refused)} refused:\n{lines}")
    kind = "success" if not refused else ("warning" if done else "error")
    return "\n".join(parts), kind


class ApprovalsPage(BackofficePage):
    """Approve or cancel pending ad hoc discounts (managers)."""

    title = "Approvals"
    icon_name = "approval"
    roles = frozenset({"manager"})
    shortcut = "Ctrl+Shift+A"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.me = context.user.name
        self.model: RowsModel[PendingApproval] = RowsModel(COLUMNS, self)
        # Your own discounts stay visible (you may cancel them) but are greyed: someone else approves them.
        self.model.set_muted(lambda p: p.provided_by == self.me)
        self.table = make_table(self.model, multi=True, stretch=1)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda index: self._open_ticket(index.row()))

        self.approve_button = QPushButton("Approve")
        self.approve_button.setObjectName("primary")
        self.approve_button.clicked.connect(self.approve_selected)
        self.cancel_button = QPushButton("Cancel discount…")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.count_label = QLabel()
        self.count_label.setProperty("role", "hint")

        self.detail = QGroupBox("Selected discount")
        self.detail_form = QFormLayout(self.detail)
        self.detail_labels: dict[str, QLabel] = {}
        for key, caption in (
            ("discount", "Discount"), ("value", "Value"), ("items", "Applies to"), ("period", "Effective"),
            ("cost", "Cost"), ("customer", "Customer"), ("cap", "Cap"), ("by", "Provided by"),
            ("unit", "Approving unit"),
        ):
            value = QLabel("—")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.detail_labels[key] = value
            self.detail_form.addRow(caption, value)
        self.own_note = QLabel()
        self.own_note.setWordWrap(True)
        self.own_note.setStyleSheet("color:#b7770a;font-weight:600;")
        self.detail_form.addRow(self.own_note)
        self.detail.setMinimumWidth(250)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        self.proportions(split, 80, 20)

        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.approve_button)

        layout = QVBoxLayout(self)
        layout.addWidget(heading(
            "Discounts waiting for approval",
            "Ad hoc discounts your units approve. Select one or several (Ctrl/Shift-click), then approve them, "
            "or cancel them with a reason the agent will read. You cannot approve a discount you provided.",
        ))
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

        # Live changes arrive one row at a time; reload once for a burst.
        self._reload_soon = QTimer(self)
        self._reload_soon.setSingleShot(True)
        self._reload_soon.setInterval(400)
        self._reload_soon.timeout.connect(self.refresh)
        self._busy = False
        self._selection_changed()

    # -- loading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        db = self.db
        self.call(lambda: approvals_service.pending_approvals(db), self._show,
                  describe="load the discounts waiting for approval")

    def _show(self, rows: list[PendingApproval]) -> None:
        keep = {p.discount_id for p in self.selected()}
        self.model.set_rows(rows)
        fit_columns(self.table)
        select_rows(self.table, (i for i, p in enumerate(rows) if p.discount_id in keep))
        n = len(rows)
        self.count_label.setText(f"{n} discount{'s' if n != 1 else ''} waiting" if n else "Nothing waits for you")
        self.sig_badge_changed.emit(str(n) if n else "")
        self._selection_changed()

    def on_row_changed(self, table: str, row_id: int, op: str) -> None:
        if table in ("adhoc_discount", "ticket") and self._activated_once:
            self._reload_soon.start()

    # -- selection -----------------------------------------------------------------------------------------

    def selected(self) -> list[PendingApproval]:
        return [self.model.row(r) for r in selected_rows(self.table)]

    def _selection_changed(self, *_args: object) -> None:
        chosen = self.selected()
        n = len(chosen)
        enabled = n > 0 and not self._busy
        self.approve_button.setEnabled(enabled)
        self.cancel_button.setEnabled(enabled)
        self.approve_button.setText(f"Approve {n} selected" if n > 1 else "Approve")
        self.cancel_button.setText(f"Cancel {n} selected…" if n > 1 else "Cancel discount…")
        own = [p for p in chosen if p.provided_by == self.me]
        if own:
            self.approve_button.setToolTip("You provided some of these: the four-eyes rule lets someone else "
                                           "approve them")
        else:
            self.approve_button.setToolTip("")
        self._show_detail(chosen[0] if n == 1 else None, n, chosen)

    def _show_detail(self, p: PendingApproval | None, count: int, chosen: list[PendingApproval]) -> None:
        values = dict.fromkeys(self.detail_labels, "—")
        self.own_note.setText("")
        if p is None:
            self.detail.setTitle(f"{count} discounts selected" if count > 1 else "Selected discount")
            if count > 1:  # what the batch adds up to
                total = sum((c.total_cost for c in chosen), Decimal(0))
                values["discount"] = ", ".join(sorted({c.definition_code for c in chosen}))
                values["cost"] = f"{money(total)} in all over their durations"
                values["customer"] = f"{len({c.customer_id for c in chosen})} customer(s)"
                values["by"] = ", ".join(sorted({c.provided_by for c in chosen}))
                if any(c.provided_by == self.me for c in chosen):
                    self.own_note.setText("Some of these are your own: they will be refused (four-eyes rule).")
        else:
            where = f"ticket {p.ticket_number}" if p.ticket_number else "no ticket"
            self.detail.setTitle(f"Discount {p.discount_id} · {where}")
            values["discount"] = f"{p.definition_name} ({p.definition_code} v{p.definition_version})"
            values["value"] = p.value_text
            values["items"] = ", ".join(p.items) or "every billed item"
            span = day(p.effective_date) + (f" to {day(p.expiration_date)}" if p.expiration_date else "")
            values["period"] = span
            values["cost"] = (f"{money(p.cost_per_period)} per period × {_periods(p)} = {money(p.total_cost)}, "
                              f"{percent(p.cost_percent)} of the service's {money(p.service_cost)}")
            values["customer"] = (f"{p.customer_name} ({p.account_number}), {label(p.segment)}, "
                                  f"lifetime value {money(p.lifetime_value)}")
            values["cap"] = p.cap_text
            values["by"] = f"{p.provided_by} on {day(p.provided_on)}"
            values["unit"] = label(p.approval_unit)
            if p.provided_by == self.me:
                self.own_note.setText("You provided this discount: another manager must approve it "
                                      "(four-eyes rule). You may still cancel it.")
        for key, text in values.items():
            self.detail_labels[key].setText(text)

    def _open_ticket(self, row: int) -> None:
        ticket_id = self.model.row(row).ticket_id
        if ticket_id is not None:
            self.context.open_ticket(ticket_id)

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

        def work() -> tuple[list[Outcome], list[PendingApproval]]:
            outcomes = []
            for p in chosen:  # one unit of work each: a refusal leaves the others decided
                try:
                    approvals_service.approve_discount(db, p.discount_id, p.version)
                    outcomes.append(Outcome(p, None))
                except Exception as exc:
                    outcomes.append(Outcome(p, error_text(exc)))
            return outcomes, approvals_service.pending_approvals(db)

        self._decide(work, "approved")

    def cancel_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        what = (f"discount {chosen[0].definition_code} for {chosen[0].customer_name}" if len(chosen) == 1
                else f"these {len(chosen)} discounts")
        reason = ReasonDialog.ask(
            "Cancel discount", f"Why are you cancelling {what}? The agent sees the reason on the ticket.",
            self, action="Cancel discount" if len(chosen) == 1 else f"Cancel {len(chosen)} discounts",
        )
        if reason is None:
            return
        if not reason.strip():
            self.say("A reason is required to cancel a discount: nothing was cancelled.", "error")
            return
        db = self.db

        def work() -> tuple[list[Outcome], list[PendingApproval]]:
            outcomes = []
            for p in chosen:
                try:
                    approvals_service.cancel_discount(db, p.discount_id, p.version, reason)
                    outcomes.append(Outcome(p, None))
                except Exception as exc:
                    outcomes.append(Outcome(p, error_text(exc)))
            return outcomes, approvals_service.pending_approvals(db)

        self._decide(work, "cancelled")

    def _decide(self, work: object, action: str) -> None:
        self._set_busy(True)

        def done(result: tuple[list[Outcome], list[PendingApproval]]) -> None:
            outcomes, rows = result
            self._set_busy(False)
            self.table.clearSelection()
            self._show(rows)
            text, kind = summarise(action, outcomes)
            self.say(text, kind)
            for o in outcomes:
                if o.error is None and o.pending.ticket_id is not None:
                    self.context.changes.announce("adhoc_discount", o.pending.discount_id)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self.say(error_text(exc), "error")
            self.refresh()

        self.call(work, done, describe=f"record the {action} discounts", on_error=failed)  # type: ignore[arg-type]


__all__ = ["ApprovalsPage", "Outcome", "summarise"]
