"""The manager dashboard: saves and cancellations, offers per definition, discount cost, lost saves, agents.

Every chart has its numbers in a table beside it (a chart shows the shape, the table the figures). All
figures come from one call to agentdesk.services.dashboard.dashboard for the chosen months, read in one
consistent snapshot off the GUI thread.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QDate, QMargins, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QDateEdit,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agentdesk.domain.errors import ValidationError
from agentdesk.domain.money import percent_of
from agentdesk.gui.backoffice.common import (
    BackofficePage,
    Column,
    RowsModel,
    day,
    fit_columns,
    heading,
    make_table,
    money,
    percent,
)
from agentdesk.services import dashboard as dashboard_service
from agentdesk.services.dashboard import (
    AgentFigures,
    Dashboard,
    DefinitionOffers,
    LostSave,
    MonthCost,
    MonthOutcome,
)

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext

GREEN = QColor("#2e7d4f")
RED = QColor("#c0392b")
BLUE = QColor("#2f6db5")
LIGHT_BLUE = QColor("#9cbce6")
AMBER = QColor("#d98e04")


def month_label(month: dt.date) -> str:
    return month.strftime("%b %Y")


OUTCOME_COLUMNS: list[Column[MonthOutcome]] = [
    Column("Month", lambda o: month_label(o.month)),
    Column("Saved", lambda o: str(o.saved), numeric=True),
    Column("Cancelled", lambda o: str(o.cancelled), numeric=True),
    Column("Save rate", lambda o: percent(o.save_rate) if o.saved + o.cancelled else "—", numeric=True),
]
OFFER_COLUMNS: list[Column[DefinitionOffers]] = [
    Column("Definition", lambda o: o.code, tooltip=lambda o: o.name),
    Column("Made", lambda o: str(o.made), numeric=True),
    Column("Accepted", lambda o: str(o.accepted), numeric=True),
    Column("Declined", lambda o: str(o.declined), numeric=True),
    Column("Lapsed", lambda o: str(o.lapsed), numeric=True),
    Column("Accepted %", lambda o: percent(o.acceptance_rate), numeric=True),
]
COST_COLUMNS: list[Column[MonthCost]] = [
    Column("Month", lambda c: month_label(c.month)),
    Column("Discount cost", lambda c: money(c.billed), numeric=True),
    Column("Uses billed", lambda c: str(c.applications), numeric=True),
    Column("Approved", lambda c: str(c.approved), numeric=True,
           tooltip=lambda _c: "Ad hoc discounts managers approved that month"),
]
LOST_COLUMNS: list[Column[LostSave]] = [
    Column("Ticket", lambda r: r.ticket_number),
    Column("Customer", lambda r: r.customer),
    Column("Agent", lambda r: r.agent),
    Column("Saved on", lambda r: day(r.saved_on)),
    Column("Cancelled on", lambda r: day(r.cancelled_on)),
    Column("Days later", lambda r: str(r.days_after), numeric=True),
    Column("Discounts", lambda r: r.discounts or "—"),
]
AGENT_COLUMNS: list[Column[AgentFigures]] = [
    Column("Agent", lambda a: a.display_name, tooltip=lambda a: a.agent),
    Column("Closed", lambda a: str(a.closed), numeric=True),
    Column("Saved", lambda a: str(a.saved), numeric=True),
    Column("Cancelled", lambda a: str(a.cancelled), numeric=True),
    Column("Save rate", lambda a: percent(a.save_rate) if a.saved + a.cancelled else "—", numeric=True),
    Column("Discounts given", lambda a: str(a.discounts_given), numeric=True),
    Column("Lost within window", lambda a: str(a.lost_saves), numeric=True),
]


def _chart(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    font = QFont()
    font.setPointSize(10)
    font.setBold(True)
    chart.setTitleFont(font)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)  # screenshots and tests see final state
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    chart.setMargins(QMargins(4, 4, 4, 4))
    chart.setBackgroundRoundness(0)
    return chart


def _bar_set(name: str, values: list[float], color: QColor) -> QBarSet:
    bars = QBarSet(name)
    bars.append(values)
    bars.setColor(color)
    bars.setBorderColor(color)
    return bars


def _value_axis(maximum: float, *, money_axis: bool = False) -> QValueAxis:
    axis = QValueAxis()
    top = max(1.0, maximum)
    axis.setRange(0, top * 1.1)
    axis.setLabelFormat("%.0f")
    if not money_axis:
        axis.setTickType(QValueAxis.TickType.TicksDynamic)
        step = max(1.0, float(int(top / 5) or 1))
        axis.setTickInterval(step)
    axis.applyNiceNumbers()
    return axis


def outcomes_chart(rows: list[MonthOutcome]) -> QChart:
    chart = _chart("Saved vs cancelled, per month")
    series = QBarSeries()
    series.append(_bar_set("Saved", [float(r.saved) for r in rows], GREEN))
    series.append(_bar_set("Cancelled", [float(r.cancelled) for r in rows], RED))
    chart.addSeries(series)
    categories = QBarCategoryAxis()
    categories.append([month_label(r.month) for r in rows])
    chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(categories)
    values = _value_axis(max([r.saved for r in rows] + [r.cancelled for r in rows] + [0]))
    chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(values)
    return chart


def offers_chart(rows: list[DefinitionOffers]) -> QChart:
    chart = _chart("Offers made and accepted, per definition")
    shown = list(reversed(rows[:12]))  # horizontal bars list bottom-up: keep the busiest on top
    series = QHorizontalBarSeries()
    series.append(_bar_set("Made", [float(r.made) for r in shown], LIGHT_BLUE))
    series.append(_bar_set("Accepted", [float(r.accepted) for r in shown], BLUE))
    chart.addSeries(series)
    categories = QBarCategoryAxis()
    categories.append([r.code for r in shown])
    chart.addAxis(categories, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(categories)
    values = _value_axis(max([r.made for r in shown] + [0]))
    chart.addAxis(values, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(values)
    return chart


def cost_chart(rows: list[MonthCost]) -> QChart:
    chart = _chart("Discount cost per month (taken off invoices)")
    series = QBarSeries()
    series.append(_bar_set("Discount cost (€)", [float(r.billed) for r in rows], AMBER))
    chart.addSeries(series)
    categories = QBarCategoryAxis()
    categories.append([month_label(r.month) for r in rows])
    chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(categories)
    values = _value_axis(float(max([r.billed for r in rows] + [Decimal(0)])), money_axis=True)
    chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(values)
    return chart


def lost_chart(rows: list[LostSave], churn_days: int) -> QChart:
    chart = _chart(f"Saved, then cancelled within {churn_days} days: days until they left")
    counts: dict[int, int] = {}
    bucket = max(1, churn_days // 6)
    for r in rows:
        counts[r.days_after // bucket] = counts.get(r.days_after // bucket, 0) + 1
    bars = QBarSeries()
    labels = []
    values = []
    for i in range((churn_days + bucket - 1) // bucket):
        labels.append(f"{i * bucket}–{min(churn_days, (i + 1) * bucket - 1)}")
        values.append(float(counts.get(i, 0)))
    bars.append(_bar_set("Customers lost", values, RED))
    chart.addSeries(bars)
    categories = QBarCategoryAxis()
    categories.append(labels)
    chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
    bars.attachAxis(categories)
    axis = _value_axis(max(values + [0.0]))
    chart.addAxis(axis, Qt.AlignmentFlag.AlignLeft)
    bars.attachAxis(axis)
    return chart


def agents_chart(rows: list[AgentFigures]) -> QChart:
    chart = _chart("Per agent: saved and cancelled")
    shown = list(reversed(rows[:10]))
    series = QHorizontalBarSeries()
    series.append(_bar_set("Saved", [float(r.saved) for r in shown], GREEN))
    series.append(_bar_set("Cancelled", [float(r.cancelled) for r in shown], RED))
    series.append(_bar_set("Lost within window", [float(r.lost_saves) for r in shown], AMBER))
    chart.addSeries(series)
    categories = QBarCategoryAxis()
    categories.append([r.display_name for r in shown])
    chart.addAxis(categories, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(categories)
    axis = _value_axis(max([max(r.saved, r.cancelled) for r in shown] + [0]))
    chart.addAxis(axis, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(axis)
    return chart


class Tile(QFrame):
    """One headline figure."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiTile")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#kpiTile{border:1px solid rgba(128, 128, 128, 0.35);border-radius:6px;}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(0)
        self.value = QLabel("—")
        self.value.setStyleSheet("font-size:18pt;font-weight:600;border:none;")
        self.caption = QLabel(caption)
        self.caption.setProperty("role", "hint")
        self.caption.setStyleSheet("border:none;")
        layout.addWidget(self.value)
        layout.addWidget(self.caption)


class ChartPanel(QWidget):
    """A chart with its table beside it."""

    def __init__(self, table: QTableView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QChartView()
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setMinimumWidth(420)
        self.table = table
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([3000, 2000])  # scaled to the real width: the chart gets three fifths
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(split)

    def set_chart(self, chart: QChart) -> None:
        old = self.view.chart()
        self.view.setChart(chart)
        if old is not None:
            old.deleteLater()


class DashboardPage(BackofficePage):
    """Manager dashboard (managers and administrators)."""

    title = "Dashboard"
    icon_name = "chart"
    roles = frozenset({"manager", "admin"})

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.data: Dashboard | None = None
        start, end = dashboard_service.last_months(dt.date.today(), 6)
        self.start_edit = QDateEdit(QDate(start.year, start.month, 1))
        self.end_edit = QDateEdit(QDate(end.year, end.month, 1).addDays(-1))
        for edit in (self.start_edit, self.end_edit):
            edit.setDisplayFormat("MMM yyyy")
            edit.setCalendarPopup(True)
        self.churn = QSpinBox()
        self.churn.setRange(1, 365)
        self.churn.setValue(dashboard_service.CHURN_DAYS)
        self.churn.setSuffix(" days")
        self.show_button = QPushButton("Show")
        self.show_button.setObjectName("primary")
        self.show_button.clicked.connect(self.refresh)
        self.period_error = QLabel()
        self.period_error.setObjectName("error_period")
        self.period_error.setStyleSheet("color:#c93c3c;")
        self.start_edit.dateChanged.connect(self._check_period)
        self.end_edit.dateChanged.connect(self._check_period)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("From"))
        bar.addWidget(self.start_edit)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.end_edit)
        bar.addSpacing(16)
        bar.addWidget(QLabel("Lost save window"))
        bar.addWidget(self.churn)
        bar.addWidget(self.show_button)
        bar.addWidget(self.period_error, 1)

        self.tiles = {key: Tile(caption) for key, caption in (
            ("saved", "customers saved"), ("cancelled", "cancelled"), ("rate", "save rate"),
            ("cost", "discount cost billed"), ("lost", "saved, then left anyway"))}
        tiles = QHBoxLayout()
        for tile in self.tiles.values():
            tiles.addWidget(tile)

        self.outcomes: RowsModel[MonthOutcome] = RowsModel(OUTCOME_COLUMNS, self)
        self.offers: RowsModel[DefinitionOffers] = RowsModel(OFFER_COLUMNS, self)
        self.costs: RowsModel[MonthCost] = RowsModel(COST_COLUMNS, self)
        self.lost: RowsModel[LostSave] = RowsModel(LOST_COLUMNS, self)
        self.agents: RowsModel[AgentFigures] = RowsModel(AGENT_COLUMNS, self)
        self.panels = {
            "outcomes": ChartPanel(make_table(self.outcomes, stretch=0)),
            "offers": ChartPanel(make_table(self.offers, stretch=0)),
            "costs": ChartPanel(make_table(self.costs, stretch=0)),
            "lost": ChartPanel(make_table(self.lost, stretch=1)),
            "agents": ChartPanel(make_table(self.agents, stretch=0)),
        }
        self.tabs = QTabWidget()
        for key, caption in (("outcomes", "Saved vs cancelled"), ("offers", "Offers per definition"),
                             ("costs", "Discount cost"), ("lost", "Saved, then cancelled"),
                             ("agents", "Per agent")):
            self.tabs.addTab(self.panels[key], caption)
        self.tabs.currentChanged.connect(lambda _i: self._fit_current())

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Dashboard", "How well the desk keeps customers, what the discounts cost, and "
                                 "which saves did not last."))
        layout.addLayout(bar)
        layout.addWidget(self.banner)
        layout.addLayout(tiles)
        layout.addWidget(self.tabs, 1)

    def period(self) -> tuple[dt.date, dt.date] | ValidationError:
        s, e = self.start_edit.date(), self.end_edit.date()
        start = dt.date(s.year(), s.month(), 1)
        last = dt.date(e.year(), e.month(), 1)
        end = dt.date(last.year + (last.month == 12), last.month % 12 + 1, 1)
        if end <= start:
            return ValidationError("period", "The last month must not be before the first month")
        if (end.year - start.year) * 12 + end.month - start.month > 36:
            return ValidationError("period", "Show at most 36 months at a time")
        return start, end

    def _check_period(self) -> None:
        found = self.period()
        bad = isinstance(found, ValidationError)
        self.period_error.setText(found.message if isinstance(found, ValidationError) else "")
        self.show_button.setEnabled(not bad)
        for edit in (self.start_edit, self.end_edit):
            edit.setStyleSheet("border:1px solid #c93c3c;" if bad else "")

    def refresh(self) -> None:
        found = self.period()
        if isinstance(found, ValidationError):
            self._check_period()
            return
        start, end = found
        db = self.db
        churn = self.churn.value()
        self.call(lambda: dashboard_service.dashboard(db, start, end, churn_days=churn), self._show,
                  describe="load the dashboard")

    def _show(self, data: Dashboard) -> None:
        self.data = data
        self.banner.clear()
        rate = percent_of(data.saved, data.saved + data.cancelled) if data.saved + data.cancelled \
            else None
        self.tiles["saved"].value.setText(str(data.saved))
        self.tiles["cancelled"].value.setText(str(data.cancelled))
        self.tiles["rate"].value.setText(percent(rate) if rate is not None else "—")
        self.tiles["cost"].value.setText(money(data.total_cost))
        self.tiles["lost"].value.setText(str(len(data.lost_saves)))
        churn = self.churn.value()
        self.tiles["lost"].caption.setText(f"saved, then left within {churn} days")
        self.outcomes.set_rows(data.outcomes)
        self.offers.set_rows(data.offers)
        self.costs.set_rows(data.costs)
        self.lost.set_rows(data.lost_saves)
        self.agents.set_rows(data.agents)
        self.panels["outcomes"].set_chart(outcomes_chart(list(data.outcomes)))
        self.panels["offers"].set_chart(offers_chart(list(data.offers)))
        self.panels["costs"].set_chart(cost_chart(list(data.costs)))
        self.panels["lost"].set_chart(lost_chart(list(data.lost_saves), churn))
        self.panels["agents"].set_chart(agents_chart(list(data.agents)))
        for panel in self.panels.values():
            fit_columns(panel.table, maximum=220)

    def _fit_current(self) -> None:
        panel = self.tabs.currentWidget()
        if isinstance(panel, ChartPanel):
            fit_columns(panel.table, maximum=220)


__all__ = ["DashboardPage"]
