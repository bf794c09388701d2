"""Formatting helpers and the lean table flowable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from reportlab.lib.colors import black

from agentdesk.pdf import formatting as fmt
from agentdesk.pdf.fonts import register_fonts
from agentdesk.pdf.grid import Align, Grid, Line, Row, Span, TextBlock, wrap_plain
from agentdesk.pdf.text import text_width


def test_money_and_numbers() -> None:
    assert fmt.money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert fmt.money(Decimal("-14"), "EUR") == "-€14.00"
    assert fmt.money(Decimal("3.005"), "CHF") == "CHF 3.01"  # half-up, unknown currency by code
    assert fmt.percent(Decimal("20.00")) == "20%"
    assert fmt.percent(Decimal("12.50")) == "12.5%"
    assert fmt.quantity(Decimal("2.000")) == "2"
    assert fmt.iban("de89370400440532013000") == "DE89 3704 0044 0532 0130 00"


def test_dates_and_periods() -> None:
    assert fmt.day(date(2026, 2, 14)) == "14 Feb 2026"
    assert fmt.period(date(2026, 1, 1), date(2026, 1, 31)) == "1–31 Jan 2026"
    assert fmt.period(date(2026, 1, 1), date(2026, 3, 31)) == "1 Jan – 31 Mar 2026"
    assert fmt.period(date(2025, 12, 1), date(2026, 2, 28)) == "1 Dec 2025 – 28 Feb 2026"
    assert fmt.period(date(2026, 1, 5), date(2026, 1, 5)) == "5 Jan 2026"


def _grid(rows: int) -> Grid:
    fonts = register_fonts()
    header = Row(cells=[[Line("A", fonts.bold, 8)], [Line("B", fonts.bold, 8)]])
    body = [Row(cells=[[Line(f"row {i}", fonts.regular, 8)], [Line("1.00", fonts.regular, 8)]]) for i in range(rows)]
    return Grid(body, (100, 50), (Align.LEFT, Align.RIGHT), header=header)


def test_grid_splits_between_rows_and_repeats_the_header() -> None:
    grid = _grid(10)
    row_height = grid.rows[0].height
    header_height = grid.header.height if grid.header else 0
    width, height = grid.wrap(500, 1000)
    assert width == 150 and height == pytest.approx(header_height + 10 * row_height)
    first, rest = grid.split(500, header_height + 3.5 * row_height)
    assert isinstance(first, Grid) and isinstance(rest, Grid)
    assert [r.cells[0][0].text for r in first.rows] == ["row 0", "row 1", "row 2"]
    assert [r.cells[0][0].text for r in rest.rows][0] == "row 3" and len(rest.rows) == 7
    assert first.header is grid.header and rest.header is grid.header
    assert grid.split(500, header_height + 0.5 * row_height) == []  # nothing fits: move to next frame
    assert grid.split(500, 10_000) == []  # everything fits: no split


def test_text_wraps_within_width_and_keeps_nobreak_spans_whole() -> None:
    fonts = register_fonts()
    text = "Payable within 14 days of the issue date without deduction unless stated otherwise."
    lines = wrap_plain(text, fonts.regular, 8, 120)
    assert len(lines) > 1
    assert " ".join(lines) == text
    assert all(text_width(line, fonts.regular, 8) <= 120 for line in lines)
    block = TextBlock([Span("IBAN", fonts.regular), Span("DE89 3704 0044 0532 0130 00", fonts.bold, black,
                                                        nobreak=True)], 8, 90)
    assert any("DE89 3704 0044 0532 0130 00" in piece[0] for line in block.lines for piece in line)
