"""Calendar helpers for billing periods."""

from __future__ import annotations

from datetime import date

import pytest

from agentdesk.domain.periods import add_months, count_period_starts, format_date, whole_months_between


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 3, 10), -12, date(2025, 3, 10)),
    (date(2026, 11, 15), 3, date(2027, 2, 15)),
    (date(2026, 1, 1), 0, date(2026, 1, 1)),
])
def test_add_months_clips_to_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(("earlier", "later", "expected"), [
    (date(2020, 5, 1), date(2026, 3, 10), 70),
    (date(2026, 1, 31), date(2026, 2, 28), 1),
    (date(2026, 1, 15), date(2026, 2, 14), 0),
    (date(2026, 1, 15), date(2026, 2, 15), 1),
    (date(2026, 3, 1), date(2026, 2, 1), 0),
])
def test_whole_months_between(earlier: date, later: date, expected: int) -> None:
    assert whole_months_between(earlier, later) == expected


@pytest.mark.parametrize(("start", "until", "months", "expected"), [
    (date(2026, 3, 10), date(2026, 12, 31), 1, 10),  # 10/03, 10/04, ..., 10/12
    (date(2026, 1, 1), date(2026, 12, 31), 1, 12),
    (date(2026, 1, 1), date(2026, 12, 31), 3, 4),
    (date(2026, 1, 1), date(2026, 12, 31), 12, 1),
    (date(2026, 12, 31), date(2026, 12, 31), 1, 1),
    (date(2027, 1, 1), date(2026, 12, 31), 1, 0),
    (date(2026, 1, 31), date(2026, 2, 28), 1, 2),  # second period starts 28/02 (clipped)
])
def test_count_period_starts(start: date, until: date, months: int, expected: int) -> None:
    assert count_period_starts(start, until, months) == expected


def test_format_date() -> None:
    assert format_date(date(2026, 12, 31)) == "31/12/2026"
