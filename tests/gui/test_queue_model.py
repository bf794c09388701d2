"""The queue table model on the real database: Qt's model contract, paging, filters and live edits."""

from __future__ import annotations

from typing import Any

import pytest
from builders import customer_with_subscription, open_ticket

from agentdesk.gui.queue_model import QueueModel, belongs, default_fetch, default_fetch_one
from agentdesk.services import queues
from agentdesk.services.dto import QueueFilter, QueueRef

pytestmark = pytest.mark.gui


def queued_tickets(installer: Any, csr: Any, count: int, **kw: Any) -> list[Any]:
    return [open_ticket(csr, customer_with_subscription(installer, **kw)) for _ in range(count)]


def retention_model(context: Any, page_size: int = 3) -> QueueModel:
    return QueueModel(context.runner, QueueRef.service("retention"), context.user.name,
                      fetch=default_fetch(context.db), fetch_one=default_fetch_one(context.db), page_size=page_size)


def test_model_pages_with_keyset_and_passes_qt_checks(desk_context, installer, qtbot, qtmodeltester):
    csr = desk_context("csr")
    tickets = queued_tickets(installer, csr.db, 7)
    model = retention_model(csr)
    model.reload()
    qtbot.waitUntil(lambda: model.rowCount() == 3 and not model.loading)
    assert model.canFetchMore()
    sizes = [model.rowCount()]
    while model.canFetchMore():
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.loading)
        sizes.append(model.rowCount())
    assert sizes == [3, 6, 7]
    assert sorted(model.ids()) == sorted(t.id for t in tickets)
    # the rows come in the queue's own order (priority, due, value, id), with no duplicates across pages
    keys = [(r.priority, r.due_at, -r.customer_value, r.id) for r in map(model.row_at, range(7))]
    assert keys == sorted(keys)
    qtmodeltester.check(model)
    # data() is cheap: roles it does not serve return None at once
    from PySide6.QtCore import Qt
    assert model.data(model.index(0, 0), Qt.ItemDataRole.FontRole) is None
    assert model.data(model.index(0, 0)) == model.row_at(0).number


def test_claim_by_another_agent_removes_the_row_in_place(desk_context, installer, qtbot):
    csr, other = desk_context("csr"), desk_context("csr2")
    tickets = queued_tickets(installer, csr.db, 4)
    model = retention_model(csr, page_size=10)
    model.reload()
    qtbot.waitUntil(lambda: model.rowCount() == 4)
    removed: list[int] = []
    model.rowsRemoved.connect(lambda _p, first, _last: removed.append(first))
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    claimed = queues.claim(other.db, tickets[1].id)
    model.apply_change("ticket", claimed.id, "update")
    qtbot.waitUntil(lambda: claimed.id not in model.ids())
    assert removed and not resets
    assert model.rowCount() == 3


def test_filters_are_server_side_and_mirrored_for_live_rows(desk_context, installer, qtbot):
    csr = desk_context("csr")
    queued_tickets(installer, csr.db, 2, segment="silver")
    queued_tickets(installer, csr.db, 1, segment="bronze")
    model = retention_model(csr, page_size=10)
    model.set_filters(QueueFilter(segment="bronze"))
    qtbot.waitUntil(lambda: not model.loading and model.rowCount() == 1)
    row = model.row_at(0)
    assert row.segment == "bronze"
    import datetime as dt
    assert belongs(model.queue, model.filters, row, csr.user.name, dt.datetime.now(dt.UTC))
    assert not belongs(model.queue, QueueFilter(segment="gold"), row, csr.user.name, dt.datetime.now(dt.UTC))


def test_cells_paint_what_data_says_through_multidata(desk_context, installer, qtbot):
    """Views paint through multiData (one call per cell, the role list reused from cell to cell): each cell's
    style option must carry exactly what data() gives, including the roles left empty."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

    class Delegate(QStyledItemDelegate):
        def option_for(self, index):  # initStyleOption is protected: reach it from a subclass
            option = QStyleOptionViewItem()
            self.initStyleOption(option, index)
            return option

    csr = desk_context("csr")
    queued_tickets(installer, csr.db, 2)
    model = retention_model(csr, page_size=10)
    model.reload()
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    delegate = Delegate()
    has_decoration = QStyleOptionViewItem.ViewItemFeature.HasDecoration
    for row in range(2):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            option = delegate.option_for(index)
            assert option.text == model.data(index, int(Qt.ItemDataRole.DisplayRole.value))
            decorated = model.data(index, int(Qt.ItemDataRole.DecorationRole.value)) is not None
            assert bool(option.features & has_decoration) == decorated, (row, column)
            right = model.data(index, int(Qt.ItemDataRole.TextAlignmentRole.value)) is not None
            assert bool(option.displayAlignment & Qt.AlignmentFlag.AlignRight) == right, (row, column)
