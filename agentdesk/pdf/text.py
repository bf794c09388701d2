"""Fast placement of many short strings on a ReportLab canvas.

``canvas.drawString`` builds a text object per call and measures the string to advance a cursor nobody
reads; an invoice page places a few hundred short strings, so that overhead dominated rendering.
:class:`TextWriter` writes all of them as one ``BT … ET`` block of absolute positions, using TrueType
subsets exactly the way ReportLab's own text objects do (``splitString`` / ``getSubsetInternalName``), and
only measures strings that are right-aligned.
"""

from __future__ import annotations

import functools

from reportlab.lib.colors import Color
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.pdfgen.canvas import Canvas

from agentdesk.pdf.fonts import is_primed, show_ops


@functools.lru_cache(maxsize=8192)
def text_width(value: str, font_name: str, size: float) -> float:
    """Width of ``value`` in points (memoised: invoices repeat the same short strings over and over)."""
    return float(getFont(font_name).stringWidth(value, size))


class TextWriter:
    """Collect positioned strings, then :meth:`flush` them to the canvas as one text block.

    Only for ReportLab TrueType fonts (AgentDesk embeds nothing else). The block is wrapped in ``q … Q``
    so the font and colour it sets do not leak into the canvas's own state tracking.
    """

    def __init__(self, canvas: Canvas) -> None:
        self._canvas = canvas
        self._doc = canvas._doc  # TrueType subsets are assigned per PDF document
        self._primed = is_primed(self._doc)
        self._ops: list[str] = []
        self._font: tuple[str, float, int] | None = None
        self._color: Color | None = None

    def text(self, x: float, y: float, value: str, font_name: str, size: float, color: Color) -> None:
        """Place ``value`` with its left end at (x, y) (y is the baseline)."""
        if not value:
            return
        ops = self._ops
        font = getFont(font_name)
        if color is not self._color:  # identity is enough: colours are module constants
            self._color = color
            ops.append(f"{fp_str(color.red, color.green, color.blue)} rg")
        ops.append(f"1 0 0 1 {fp_str(x, y)} Tm")
        for subset, show in show_ops(font, value, self._doc, self._primed):
            key = (font_name, size, subset)
            if key != self._font:
                self._font = key
                ops.append(f"{font.getSubsetInternalName(subset, self._doc)} {fp_str(size)} Tf")
            ops.append(show)

    def right(self, x: float, y: float, value: str, font_name: str, size: float, color: Color) -> None:
        """Place ``value`` with its right end at x."""
        if value:
            self.text(x - text_width(value, font_name, size), y, value, font_name, size, color)

    def flush(self) -> None:
        """Write the collected strings to the canvas (does nothing if there are none)."""
        if self._ops:
            self._canvas.addLiteral("q BT\n" + "\n".join(self._ops) + "\nET Q")
            self._ops = []
            self._font = None
            self._color = None
