"""Text formatting shared by the invoice and letter renderers: money, percentages, dates, IBANs.

Formatting is done by hand rather than through the ``locale`` module so that a document renders the same
bytes whatever the workstation's locale is.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

_CENT = Decimal("0.01")
_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def amount(value: Decimal) -> str:
    """``Decimal("-1234.5")`` -> ``"-1,234.50"``: two decimals, thousands grouped, no currency."""
    return f"{value.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"


def money(value: Decimal, currency: str) -> str:
    """``Decimal("45")``, ``"EUR"`` -> ``"€45.00"``; unknown currencies print their code."""
    symbol = _SYMBOLS.get(currency)
    sign = "-" if value < 0 else ""
    text = amount(abs(value))
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency} {text}"


def percent(value: Decimal) -> str:
    """``Decimal("20.00")`` -> ``"20%"``, ``Decimal("12.50")`` -> ``"12.5%"``."""
    text = f"{value.quantize(_CENT, rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def day(value: date) -> str:
    """``date(2026, 2, 14)`` -> ``"14 Feb 2026"``."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def period(start: date, end: date) -> str:
    """A compact date range: ``"1–31 Jan 2026"``, ``"1 Jan – 31 Mar 2026"``, or full dates."""
    if start == end:
        return day(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {_MONTHS[end.month - 1]} {end.year}"
    if start.year == end.year:
        return f"{start.day} {_MONTHS[start.month - 1]} – {day(end)}"
    return f"{day(start)} – {day(end)}"


def iban(value: str) -> str:
    """Print an IBAN in groups of four, as banks and customers expect to read it."""
    compact = "".join(value.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def quantity(value: Decimal) -> str:
    """``Decimal("2.000")`` -> ``"2"``, ``Decimal("1.5")`` -> ``"1.5"``."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
