"""Invoice and credit note numbers: series per year, gap-free numbers, one printed form.

The database does the numbering: when a draft becomes Issued, the trigger ``guard_invoice`` takes the next
number of the draft's series from ``invoice_counter`` under a row lock held until the transaction ends, so
numbers are gap-free and in issue order, and a rolled-back transaction gives its numbers back.

A series is the company's prefix plus the year of issue (``INV-2026``, ``CN-2026``), so numbering starts
again at 1 each year. The printed number is ``<series>-<number, 6 digits>``: ``INV-2026-000001``. Users may
type it with fewer digits (``INV-2026-1``), in any case, or with a slash (``inv-2026/1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentdesk.domain.errors import ValidationError

_NUMBER = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*(?:-\d{4})?)\s*[-/]\s*0*(\d+)\s*$")


def series_for(prefix: str, year: int) -> str:
    """``("INV", 2026)`` -> ``"INV-2026"``."""
    return f"{prefix}-{year:04d}"


def format_number(series: str, number: int | None) -> str:
    """``("INV-2026", 1)`` -> ``"INV-2026-000001"``; a draft (no number yet) prints as ``"INV-2026 (draft)"``."""
    if number is None:
        return f"{series} (draft)"
    return f"{series}-{number:06d}"


@dataclass(frozen=True)
class InvoiceNumber:
    series: str
    number: int

    def __str__(self) -> str:
        return format_number(self.series, self.number)


def parse_number(text: str) -> InvoiceNumber:
    """Read a printed invoice number; :class:`ValidationError` if it is not one."""
    match = _NUMBER.match(text or "")
    if not match or int(match.group(2)) < 1:
        raise ValidationError(
            "number", f"'{text}' is not an invoice number: write it as printed, e.g. INV-2026-000001"
        )
    return InvoiceNumber(match.group(1).upper(), int(match.group(2)))
