"""Lean flowables for invoices and letters: a table (:class:`Grid`), wrapped rich text (:class:`TextBlock`)
and two stacks side by side (:class:`SideBySide`).

ReportLab's general ``Table`` resolves a style command list per cell and wraps every cell several times;
for an invoice made of plain text cells that bookkeeping costs more than the whole rest of the page. A
:class:`Grid` is built from rows whose cells are already broken into lines of known font and size, so its
height is known up front, splitting between rows is a subtraction, and drawing puts all cell text into a
single PDF text object. When a grid breaks across pages, its header row is repeated on the next page.
:class:`TextBlock` replaces ``Paragraph`` for the few wrapped sentences: bold and coloured spans, greedy word
wrap with memoised word widths, no markup parsing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from reportlab.lib.colors import Color, black
from reportlab.platypus import Flowable

from agentdesk.pdf.text import TextWriter, text_width

_BASELINE_DROP = 0.80  # baseline below the top of a font-size-high box, as a fraction of the size


class Align(Enum):
    LEFT = "left"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class Line:
    """One line of text inside a cell."""

    text: str
    font: str
    size: float
    color: Color = black


@dataclass(slots=True)
class Row:
    """A grid row: per column a list of lines (empty list for an empty cell)."""

    cells: Sequence[Sequence[Line]]
    background: Color | None = None
    rule_above: tuple[float, Color] | None = None
    extra_top: float = 0.0  # added to the grid's top padding for this row (breathing room under a rule)
    height: float = field(default=0.0, init=False)


@dataclass(frozen=True, slots=True)
class GridStyle:
    """Paddings (points), line spacing as a multiple of the font size, optional rule under the grid."""

    pad_top: float = 1.5
    pad_bottom: float = 2.0
    pad_left: float = 3.0
    pad_right: float = 3.0
    line_spacing: float = 1.22
    rule_below: tuple[float, Color] | None = None


def wrap_plain(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (a word longer than the width stays whole)."""
    if text_width(text, font, size) <= width:
        return [text]
    return [line[0][0] for line in _break_lines([Span(text, font)], size, width) if line]


def wrap_text(text: str, font: str, size: float, width: float, color: Color = black) -> list[Line]:
    """Break ``text`` into grid cell lines no wider than ``width``."""
    return [Line(part, font, size, color) for part in wrap_plain(text, font, size, width)]


class Grid(Flowable):
    """Rows of single-style text cells with fixed column widths; splits between rows, repeats the header."""

    def __init__(
        self,
        rows: Sequence[Row],
        col_widths: Sequence[float],
        aligns: Sequence[Align],
        style: GridStyle | None = None,
        header: Row | None = None,
        h_align: str = "LEFT",
    ) -> None:
        super().__init__()
        if len(col_widths) != len(aligns):
            raise ValueError("Grid needs one alignment per column")
        self.style = style or GridStyle()
        self.col_widths = list(col_widths)
        self.aligns = list(aligns)
        self.header = header
        self.rows = list(rows)
        self.hAlign = h_align
        self.width = sum(self.col_widths)
        for row in ([header] if header else []) + self.rows:
            if len(row.cells) != len(self.col_widths):
                raise ValueError("Grid row has the wrong number of cells")
            row.height = self._row_height(row)
        self.height = self._header_height() + sum(row.height for row in self.rows)

    def _row_height(self, row: Row) -> float:
        tallest = 0.0
        spacing = self.style.line_spacing
        for lines in row.cells:
            tallest = max(tallest, sum(line.size * spacing for line in lines))
        return self.style.pad_top + row.extra_top + tallest + self.style.pad_bottom

    def _header_height(self) -> float:
        return self.header.height if self.header else 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        room = availHeight - self._header_height()
        taken = 0
        used = 0.0
        for row in self.rows:
            if used + row.height > room:
                break
            used += row.height
            taken += 1
        if taken == 0 or taken == len(self.rows):
            return []  # nothing fits here (the frame moves on) or everything fits (no split needed)
        first = Grid(self.rows[:taken], self.col_widths, self.aligns, self.style, self.header, self.hAlign)
        rest = Grid(self.rows[taken:], self.col_widths, self.aligns, self.style, self.header, self.hAlign)
        return [first, rest]

    def draw(self) -> None:
        canvas = self.canv
        rows = ([self.header] if self.header else []) + self.rows
        style = self.style
        # Backgrounds and rules first, then all the text in one text object.
        y = self.height
        canvas.saveState()
        for row in rows:
            if row.background is not None:
                canvas.setFillColor(row.background)
                canvas.rect(0, y - row.height, self.width, row.height, stroke=0, fill=1)
            if row.rule_above is not None:
                width, color = row.rule_above
                canvas.setStrokeColor(color)
                canvas.setLineWidth(width)
                canvas.line(0, y, self.width, y)
            y -= row.height
        if style.rule_below is not None:
            width, color = style.rule_below
            canvas.setStrokeColor(color)
            canvas.setLineWidth(width)
            canvas.line(0, 0, self.width, 0)

        writer = TextWriter(canvas)
        y = self.height
        for row in rows:
            x = 0.0
            for lines, col_width, align in zip(row.cells, self.col_widths, self.aligns, strict=True):
                box_top = y - style.pad_top - row.extra_top
                for line in lines:
                    box_height = line.size * style.line_spacing
                    # Centre the text's cap height and descender in the line box.
                    baseline = box_top - (box_height - line.size) / 2 - line.size * _BASELINE_DROP
                    if align is Align.RIGHT:
                        writer.right(x + col_width - style.pad_right, baseline, line.text, line.font, line.size,
                                     line.color)
                    else:
                        writer.text(x + style.pad_left, baseline, line.text, line.font, line.size, line.color)
                    box_top -= box_height
                x += col_width
            y -= row.height
        writer.flush()
        canvas.restoreState()


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text in one font and colour; ``"\n"`` as the whole text forces a line break."""

    text: str
    font: str
    color: Color = black
    nobreak: bool = False  # keep the whole span on one line (IBANs, references)


BREAK = "\n"


def _break_lines(spans: Sequence[Span], size: float, width: float) -> list[list[tuple[str, str, Color, float]]]:
    """Greedy word wrap of styled spans; each line is a list of (text, font, colour, width) pieces."""
    lines: list[list[tuple[str, str, Color, float]]] = [[]]
    used = 0.0
    for span in spans:
        if span.text == BREAK:
            lines.append([])
            used = 0.0
            continue
        space = text_width(" ", span.font, size)
        for word in [span.text] if span.nobreak else span.text.split():
            word_width = text_width(word, span.font, size)
            line = lines[-1]
            gap = space if line else 0.0
            if line and used + gap + word_width > width:
                lines.append([])
                line, used, gap = lines[-1], 0.0, 0.0
            if line and line[-1][1] == span.font and line[-1][2] == span.color:
                # Same style as the previous piece: extend it rather than place another string.
                text, font, color, piece_width = line[-1]
                line[-1] = (f"{text} {word}", font, color, piece_width + gap + word_width)
            else:
                line.append((word, span.font, span.color, word_width))
            used += gap + word_width
    return [line for line in lines if line] or [[]]


class TextBlock(Flowable):
    """Wrapped rich text (bold and coloured spans) in an optional filled, outlined box. Cheap to lay out."""

    def __init__(
        self,
        spans: Sequence[Span],
        size: float,
        width: float,
        *,
        leading: float | None = None,
        fill: Color | None = None,
        edge: Color | None = None,
        pad_x: float = 0.0,
        pad_y: float = 0.0,
    ) -> None:
        super().__init__()
        self.size = size
        self.leading = leading or size * 1.3
        self.fill = fill
        self.edge = edge
        self.pad_x = pad_x
        self.pad_y = pad_y
        self.width = width
        self.lines = _break_lines(spans, size, width - 2 * pad_x)
        self.height = 2 * pad_y + self.leading * len(self.lines)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        if self.fill is not None or self.edge is not None:
            if self.fill is not None:
                canvas.setFillColor(self.fill)
            if self.edge is not None:
                canvas.setStrokeColor(self.edge)
                canvas.setLineWidth(0.8)
            canvas.roundRect(
                0, 0, self.width, self.height, 2.5, stroke=int(self.edge is not None), fill=int(self.fill is not None)
            )
        writer = TextWriter(canvas)
        baseline = self.height - self.pad_y - (self.leading - self.size) / 2 - self.size * _BASELINE_DROP
        for line in self.lines:
            x = self.pad_x
            for text, font, color, piece_width in line:
                writer.text(x, baseline, text, font, self.size, color)
                x += piece_width + text_width(" ", font, self.size)
            baseline -= self.leading
        writer.flush()
        canvas.restoreState()


class SideBySide(Flowable):
    """Two stacks of flowables next to each other (e.g. VAT summary left, totals right); never split."""

    def __init__(self, left: Sequence[Flowable], right: Sequence[Flowable], left_width: float, right_width: float):
        super().__init__()
        self.left = list(left)
        self.right = list(right)
        self.left_width = left_width
        self.right_width = right_width
        self.width = 0.0
        self.height = 0.0
        self._sizes: list[list[float]] = [[], []]

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        totals = []
        for index, (stack, width) in enumerate(((self.left, self.left_width), (self.right, self.right_width))):
            heights = [flowable.wrap(width, availHeight)[1] for flowable in stack]
            self._sizes[index] = heights
            totals.append(sum(heights))
        self.width = availWidth
        self.height = max(totals)
        return self.width, self.height

    def draw(self) -> None:
        for index, (stack, x) in enumerate(((self.left, 0.0), (self.right, self.width - self.right_width))):
            y = self.height
            for flowable, height in zip(stack, self._sizes[index], strict=True):
                y -= height
                flowable.drawOn(self.canv, x, y)
