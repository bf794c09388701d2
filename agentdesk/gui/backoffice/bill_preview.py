"""The bill preview: what a customer's next invoice will contain, as the billing run would write it.

`load(db, ticket)` asks the billing service for the plan of the ticket's customer for the next period
(preview and billing share one computation, so they cannot disagree); `BillPreview` shows its lines with
each discount and the totals.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from agentdesk.gui.backoffice.common import Column, RowsModel, fit_columns, make_table, money
from agentdesk.services import approvals as approvals_service
from agentdesk.services import billing as billing_service
from agentdesk.services.billing import CustomerPreview

LINE_COLUMNS: list[Column[Any]] = [
    Column("Item", lambda line: line.description,
           tooltip=lambda line: line.discount_label or ""),
    Column("Charge", lambda line: money(line.gross), numeric=True),
    Column("Discount", lambda line: ("− " + money(line.discount)) if line.discount else "", numeric=True,
           tooltip=lambda line: line.discount_label or ""),
    Column("Net", lambda line: money(line.net), numeric=True),
    Column("VAT", lambda line: money(line.tax), numeric=True),
]


def next_period_start(today: dt.date) -> dt.date:
    """The first day of next month: the period the next billing run will bill."""
    return dt.date(today.year + (today.month == 12), today.month % 12 + 1, 1)


def first_month(today: dt.date, effective_dates: list[dt.date]) -> dt.date:
    """The month to preview: when the ticket's discount starts, but never before next month's bill."""
    start = next_period_start(today)
    if effective_dates:
        begins = min(effective_dates).replace(day=1)
        start = max(start, begins)
    return start


def load(db: Any, ticket: Any, *, search_months: int = 12) -> CustomerPreview:
    """The customer's first bill with the ticket's discount on it, before and after discounts, as the run
    would make it. Services billed quarterly or yearly are not due every month: the next months are tried
    until one bills something (at most `search_months`)."""
    discounts = approvals_service.discounts_for_ticket(db, ticket.id)
    month = first_month(dt.date.today(), [d.effective_date for d in discounts
                                          if d.state == "approved" and d.effective_date is not None])
    preview = billing_service.preview_customer(db, ticket.customer_id, month.strftime("%Y-%m"))
    for _ in range(search_months - 1):
        if preview.after.lines:
            break
        month = next_period_start(month)
        preview = billing_service.preview_customer(db, ticket.customer_id, month.strftime("%Y-%m"))
    return preview


class BillPreview(QWidget):
    """A planned invoice: its lines (charge, discount, net, VAT) and totals."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: RowsModel[Any] = RowsModel(LINE_COLUMNS, self)
        self.table = make_table(self.model, stretch=0)
        self.table.setSelectionMode(self.table.SelectionMode.NoSelection)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight:600;")
        self.title.setWordWrap(True)
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.totals)
        self.clear_preview("Select a ticket.")

    def clear_preview(self, message: str) -> None:
        self.model.set_rows([])
        self.title.setText(message)
        self.totals.setText("")

    def show_preview(self, preview: CustomerPreview, who: str = "") -> None:
        after = preview.after
        if not after.lines:
            self.clear_preview(f"Nothing is due for this customer up to {preview.period}.")
            return
        self.model.set_rows(after.lines)
        fit_columns(self.table)
        self.title.setText(f"{who}: bill for {preview.period}" if who else f"Bill for {preview.period}")
        lines = [
            f"Without discounts <b>{money(preview.before.total)}</b> · with them <b>{money(after.total)}</b> "
            f"· saving <b>{money(preview.saving)}</b> (VAT included)",
        ]
        if after.payment_discount:
            when = f" if paid by {after.term_discount_date:%d/%m/%Y}" if after.term_discount_date else " at payment"
            lines.append(f"Less {money(after.payment_discount)}{when}.")
        if preview.problem:
            lines.append(f"<span style='color:#b3261e'>The run would skip this customer: {preview.problem}</span>")
        self.totals.setText("<br>".join(lines))


__all__ = ["BillPreview", "first_month", "load", "next_period_start"]
