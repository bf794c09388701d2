"""Calendar helpers for billing periods.

A billing period is the half-open date range ``[start, end)``: ``end`` is the first day of the next period.
Periods are whole calendar months long (1, 3 or 12 months, see ``BillingFrequency.months``) and keep the
start's day of month, clipped to the month's last day (31 Jan + 1 month = 28/29 Feb).
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (may be negative), the day of month clipped to the target month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def period_end(start: date, months: int) -> date:
    """First day after a period of ``months`` months that starts on ``start``."""
    return add_months(start, months)


def whole_months_between(earlier: date, later: date) -> int:
    """Completed months from ``earlier`` to ``later`` (0 when ``later`` is before ``earlier``)."""
    if later < earlier:
        return 0
    months = (later.year - earlier.year) * 12 + (later.month - earlier.month)
    # The last month only counts once its anniversary day (clipped to month end) has been reached.
    if add_months(earlier, months) > later:
        months -= 1
    return months


def count_period_starts(start: date, until: date, months: int) -> int:
    """How many periods of ``months`` months, the first starting on ``start``, start on or before ``until``."""
    if until < start:
        return 0
    count = max(whole_months_between(start, until) // months, 0)
    # whole_months_between may undercount by one around month-end clipping; settle it exactly.
    while add_months(start, (count + 1) * months) <= until:
        count += 1
    while count > 0 and add_months(start, count * months) > until:
        count -= 1
    return count + 1


def format_date(day: date) -> str:
    """``31/12/2026``: the date format used in every user-facing message."""
    return day.strftime("%d/%m/%Y")
