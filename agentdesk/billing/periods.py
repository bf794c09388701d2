"""Billing run periods ("2026-11") and which subscriptions fall due in one.

A billing run covers one calendar month ``[first day, first day of next month)``. In that run:

* a **monthly** subscription is billed every month for the month;
* a **quarterly** one in its quarter months, counted from the month of its start date (start in February:
  February, May, August, November), for the three months beginning with the run's month;
* an **annual** one in its anniversary month, for the twelve months beginning with the run's month.

The part of that billing period the subscription actually runs is billed: a start or a cancellation inside
the period prorates the charge by days (``billing_math`` does the maths). A subscription's ``end_date`` is
the day its cancellation takes effect, i.e. the first day without service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from agentdesk.domain.billing_math import Proration
from agentdesk.domain.discounts import BillingFrequency
from agentdesk.domain.errors import ValidationError
from agentdesk.domain.periods import add_months

_PERIOD = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


@dataclass(frozen=True)
class BillingPeriod:
    """One calendar month: ``start`` inclusive, ``end`` exclusive."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    def __str__(self) -> str:
        return self.label

    @classmethod
    def of(cls, day: date) -> BillingPeriod:
        start = day.replace(day=1)
        return cls(start, add_months(start, 1))


def parse_period(text: str | None) -> BillingPeriod:
    """``"2026-11"`` -> November 2026. Anything else is a :class:`ValidationError` saying what to type."""
    match = _PERIOD.match(text or "")
    if not match:
        raise ValidationError("period", f"Period '{text or ''}' is not a month: write it as YYYY-MM, e.g. 2026-11")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValidationError("period", f"Period '{text}' has no month {month}: months run from 01 to 12")
    if not 2000 <= year <= 2099:
        raise ValidationError("period", f"Period '{text}' is out of range: billing covers the years 2000-2099")
    return BillingPeriod.of(date(year, month, 1))


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


@dataclass(frozen=True)
class ServiceSpan:
    """What to bill for a subscription in one run: the billing period and the proration (None = whole)."""

    start: date
    end: date  # exclusive
    proration: Proration | None


def subscription_span(frequency: BillingFrequency, start_date: date, end_date: date | None,
                      period: BillingPeriod) -> ServiceSpan | None:
    """The span to bill for a subscription in ``period``, or None when it is not due (see module doc)."""
    offset = _month_index(period.start) - _month_index(start_date)
    if offset < 0 or offset % frequency.months:
        return None
    span_start = period.start
    span_end = add_months(span_start, frequency.months)
    served_from = max(start_date, span_start)
    served_to = span_end if end_date is None else min(end_date, span_end)
    if served_to <= served_from:
        return None
    if served_from == span_start and served_to == span_end:
        return ServiceSpan(span_start, span_end, None)
    return ServiceSpan(span_start, span_end, Proration((served_to - served_from).days, (span_end - span_start).days))


# The same rule in SQL, for choosing the customers a run must look at (kept next to the Python version).
# Parameters: :ps (period start), :pe (period end). Alias `s` is the subscription.
DUE_SUBSCRIPTION_SQL = """
    s.start_date < :pe
    AND (s.end_date IS NULL OR (s.end_date > :ps AND s.end_date > s.start_date))
    AND ((extract(year FROM CAST(:ps AS date)) * 12 + extract(month FROM CAST(:ps AS date)))
         - (extract(year FROM s.start_date) * 12 + extract(month FROM s.start_date)))::int
        % CASE s.billing_frequency WHEN 'monthly' THEN 1 WHEN 'quarterly' THEN 3 ELSE 12 END = 0
"""
