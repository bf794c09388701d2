"""The manager dashboard: how well the desk keeps customers and what it costs.

Every figure is computed by the database for a period [start, end) (dates, end exclusive) and returned as
plain frozen rows that a chart and a table can both show:

* saved vs cancelled: closed cancellation tickets per month by resolution;
* offers made and accepted per discount definition (code), with declined and lapsed;
* discount cost per month: what billing actually took off invoices (discount applications), and what
  managers approved in that month (the ad hoc discounts' approved value per period);
* saved customers who cancelled anyway within N days (90 by default) of being saved;
* per agent: closed, saved, cancelled, save rate, discounts given, and saves lost within N days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, cast, func, literal, select
from sqlalchemy.orm import Session, aliased

from agentdesk.bootstrap import Database
from agentdesk.db.models import (
    AdhocDiscount,
    AppUser,
    Customer,
    DiscountApplication,
    DiscountDefinition,
    Offer,
    Subscription,
    Ticket,
)
from agentdesk.domain.errors import ValidationError
from agentdesk.domain.money import ZERO, percent_of

CHURN_DAYS = 90


@dataclass(frozen=True)
class MonthOutcome:
    month: dt.date  # first day of the month
    saved: int
    cancelled: int
    other: int  # withdrawn or merged

    @property
    def save_rate(self) -> Decimal:
        return percent_of(self.saved, self.saved + self.cancelled)


@dataclass(frozen=True)
class DefinitionOffers:
    code: str
    name: str
    made: int
    accepted: int
    declined: int
    lapsed: int

    @property
    def acceptance_rate(self) -> Decimal:
        return percent_of(self.accepted, self.made)


@dataclass(frozen=True)
class MonthCost:
    month: dt.date
    billed: Decimal  # taken off invoices by billing runs
    applications: int
    approved: int  # ad hoc discounts approved that month


@dataclass(frozen=True)
class LostSave:
    """A customer saved on a ticket whose service ended (or who cancelled on a later ticket) soon after."""

    ticket_number: str
    customer: str
    agent: str
    saved_on: dt.date
    cancelled_on: dt.date
    days_after: int
    discounts: str  # definition codes given on the saving ticket


@dataclass(frozen=True)
class AgentFigures:
    agent: str  # login role
    display_name: str
    closed: int
    saved: int
    cancelled: int
    discounts_given: int
    lost_saves: int

    @property
    def save_rate(self) -> Decimal:
        return percent_of(self.saved, self.saved + self.cancelled)


@dataclass(frozen=True)
class Dashboard:
    start: dt.date
    end: dt.date  # exclusive
    outcomes: tuple[MonthOutcome, ...]
    offers: tuple[DefinitionOffers, ...]
    costs: tuple[MonthCost, ...]
    lost_saves: tuple[LostSave, ...]
    agents: tuple[AgentFigures, ...]

    @property
    def saved(self) -> int:
        return sum(o.saved for o in self.outcomes)

    @property
    def cancelled(self) -> int:
        return sum(o.cancelled for o in self.outcomes)

    @property
    def total_cost(self) -> Decimal:
        return sum((c.billed for c in self.costs), ZERO)


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if end <= start:
        raise ValidationError("end", "The period's end must be after its start")
    return (dt.datetime.combine(start, dt.time(), dt.UTC), dt.datetime.combine(end, dt.time(), dt.UTC))


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    months: list[dt.date] = []
    cur = start.replace(day=1)
    while cur < end:
        months.append(cur)
        cur = dt.date(cur.year + (cur.month == 12), cur.month % 12 + 1, 1)
    return months


def _month_of(value: object) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    assert isinstance(day, dt.date)
    return day.replace(day=1)


def outcomes_by_month(s: Session, start: dt.date, end: dt.date) -> list[MonthOutcome]:
    lo, hi = _bounds(start, end)
    month = func.date_trunc("month", func.timezone("UTC", Ticket.closed_at))
    rows = s.execute(
        select(month, Ticket.resolution, func.count())
        .where(Ticket.state == "closed", Ticket.closed_at >= lo, Ticket.closed_at < hi)
        .group_by(month, Ticket.resolution)
    ).all()
    counts: dict[dt.date, dict[str, int]] = {m: {} for m in _months(start, end)}
    for m, resolution, n in rows:
        bucket = counts.setdefault(_month_of(m), {})
        bucket[resolution] = bucket.get(resolution, 0) + n
    return [
        MonthOutcome(m, c.get("retained", 0), c.get("cancelled", 0), c.get("withdrawn", 0) + c.get("merged", 0))
        for m, c in sorted(counts.items())
    ]


def offers_by_definition(s: Session, start: dt.date, end: dt.date) -> list[DefinitionOffers]:
    lo, hi = _bounds(start, end)

    def count_state(state: str) -> Any:
        return func.count().filter(Offer.state == state)

    # Offers count under the definition's code, whatever version they were made from; the name shown
    # is the latest version's.
    rows = s.execute(
        select(
            DiscountDefinition.code,
            func.count(),
            count_state("accepted"),
            count_state("declined"),
            count_state("lapsed"),
        )
        .join(DiscountDefinition, DiscountDefinition.id == Offer.definition_id)
        .where(Offer.made_at >= lo, Offer.made_at < hi)
        .group_by(DiscountDefinition.code)
        .order_by(func.count().desc(), DiscountDefinition.code)
    ).all()
    # Oldest version first, so the dict keeps each code's latest name.
    names = dict(s.execute(
        select(DiscountDefinition.code, DiscountDefinition.name)
        .order_by(DiscountDefinition.code, DiscountDefinition.version)
    ).all())
    return [DefinitionOffers(code, names.get(code, code), made, acc, dec, lap) for code, made, acc, dec, lap in rows]


def costs_by_month(s: Session, start: dt.date, end: dt.date) -> list[MonthCost]:
    lo, hi = _bounds(start, end)
    billed_month = func.date_trunc("month", DiscountApplication.period_start)
    billed = s.execute(
        select(billed_month, func.coalesce(func.sum(DiscountApplication.amount), 0), func.count())
        .where(DiscountApplication.period_start >= start, DiscountApplication.period_start < end)
        .group_by(billed_month)
    ).all()
    approved_month = func.date_trunc("month", func.timezone("UTC", AdhocDiscount.approved_on))
    approved = s.execute(
        select(approved_month, func.count())
        .where(AdhocDiscount.state == "approved", AdhocDiscount.approved_on >= lo, AdhocDiscount.approved_on < hi)
        .group_by(approved_month)
    ).all()
    table: dict[dt.date, list[object]] = {m: [ZERO, 0, 0] for m in _months(start, end)}
    for m, amount, n in billed:
        row = table.setdefault(_month_of(m), [ZERO, 0, 0])
        row[0], row[1] = Decimal(amount), n
    for m, n in approved:
        table.setdefault(_month_of(m), [ZERO, 0, 0])[2] = n
    return [MonthCost(m, v[0], v[1], v[2]) for m, v in sorted(table.items())]  # type: ignore[arg-type]


def _lost_saves_query(start: dt.date, end: dt.date, days: int):  # type: ignore[no-untyped-def]
    """Saved tickets closed in the period, with the first date the customer's service ended afterwards."""
    lo, hi = _bounds(start, end)
    saved_day = cast(func.timezone("UTC", Ticket.closed_at), Date)
    later = aliased(Ticket)
    later_cancel = (
        select(func.min(cast(func.timezone("UTC", later.closed_at), Date)))
        .where(later.customer_id == Ticket.customer_id, later.id != Ticket.id, later.state == "closed",
               later.resolution == "cancelled", later.closed_at > Ticket.closed_at)
        .correlate(Ticket).scalar_subquery()
    )
    sub_end = (
        select(Subscription.end_date)
        .where(Subscription.id == Ticket.subscription_id, Subscription.state.in_(["cancelled",
                                                                                  "cancellation_pending"]),
               Subscription.end_date.is_not(None))
        .correlate(Ticket).scalar_subquery()
    )
    ended_on = func.least(later_cancel, sub_end)
    codes = (
        select(func.coalesce(func.string_agg(AdhocDiscount.definition_code, literal(", ")), ""))
        .where(AdhocDiscount.ticket_id == Ticket.id, AdhocDiscount.state != "cancelled")
        .correlate(Ticket).scalar_subquery()
    )
    return (
        select(Ticket.number, Customer.name, func.coalesce(Ticket.assigned_to, Ticket.updated_by), saved_day,
               ended_on, codes)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.state == "closed", Ticket.resolution == "retained", Ticket.closed_at >= lo,
               Ticket.closed_at < hi, ended_on.is_not(None), ended_on >= saved_day,
               ended_on <= saved_day + days)
        .order_by(saved_day, Ticket.number)
    )


def lost_saves(s: Session, start: dt.date, end: dt.date, days: int = CHURN_DAYS) -> list[LostSave]:
    rows = s.execute(_lost_saves_query(start, end, days)).all()
    return [LostSave(number, name, agent, saved, ended, (ended - saved).days, codes)
            for number, name, agent, saved, ended, codes in rows]


def agent_figures(s: Session, start: dt.date, end: dt.date, days: int = CHURN_DAYS) -> list[AgentFigures]:
    lo, hi = _bounds(start, end)
    agent = func.coalesce(Ticket.assigned_to, Ticket.updated_by)
    closed = s.execute(
        select(agent, func.count(), func.count().filter(Ticket.resolution == "retained"),
               func.count().filter(Ticket.resolution == "cancelled"))
        .where(Ticket.state == "closed", Ticket.closed_at >= lo, Ticket.closed_at < hi)
        .group_by(agent)
    ).all()
    given = dict(s.execute(
        select(AdhocDiscount.provided_by, func.count())
        .where(AdhocDiscount.provided_on >= lo, AdhocDiscount.provided_on < hi, AdhocDiscount.state != "cancelled")
        .group_by(AdhocDiscount.provided_by)
    ).all())
    lost: dict[str, int] = {}
    for row in lost_saves(s, start, end, days):
        lost[row.agent] = lost.get(row.agent, 0) + 1
    names = dict(s.execute(select(AppUser.role_name, AppUser.display_name)).all())
    figures: dict[str, list[int]] = {}
    for who, n, saved, cancelled in closed:
        figures[who] = [n, saved, cancelled]
    for who in list(given) + list(lost):
        figures.setdefault(who, [0, 0, 0])
    out = [
        AgentFigures(who, names.get(who, who), v[0], v[1], v[2], given.get(who, 0), lost.get(who, 0))
        for who, v in figures.items()
    ]
    return sorted(out, key=lambda a: (-a.saved, -a.closed, a.display_name))


def dashboard(db: Database, start: dt.date, end: dt.date, *, churn_days: int = CHURN_DAYS) -> Dashboard:
    """Everything the dashboard shows, read in one transaction (one consistent snapshot)."""
    _bounds(start, end)
    if not 1 <= churn_days <= 365:
        raise ValidationError("churn_days", "The churn window must be 1 to 365 days")
    with db.session() as s:
        s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return Dashboard(
            start=start,
            end=end,
            outcomes=tuple(outcomes_by_month(s, start, end)),
            offers=tuple(offers_by_definition(s, start, end)),
            costs=tuple(costs_by_month(s, start, end)),
            lost_saves=tuple(lost_saves(s, start, end, churn_days)),
            agents=tuple(agent_figures(s, start, end, churn_days)),
        )


# Helpers the GUI may use to pick a default period.
def last_months(today: dt.date, months: int = 6) -> tuple[dt.date, dt.date]:
    """[first day of the month `months - 1` months ago, first day of next month)."""
    first = today.replace(day=1)
    index = first.year * 12 + first.month - 1 - (months - 1)
    start = dt.date(index // 12, index % 12 + 1, 1)
    end = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return start, end


__all__ = [
    "CHURN_DAYS",
    "AgentFigures",
    "Dashboard",
    "DefinitionOffers",
    "LostSave",
    "MonthCost",
    "MonthOutcome",
    "agent_figures",
    "costs_by_month",
    "dashboard",
    "last_months",
    "lost_saves",
    "offers_by_definition",
    "outcomes_by_month",
]
