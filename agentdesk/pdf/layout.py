"""Page furniture shared by invoices and letters: geometry, colours, letterhead, envelope window, footer.

Geometry follows DIN 5008 form B so a sheet folded twice fits a DL window envelope: the address field is
85 x 45 mm at 20 mm from the left and 45 mm from the top, with the return-address line in its top 5 mm and
the recipient in its lowest 27.3 mm; fold marks sit at 105 mm and 210 mm, the punch mark at 148.5 mm.

"Page i of n" needs the page count before the first page is final, so :class:`PagedCanvas` holds every
finished page back and stamps the numbers when the document is saved. Pages are grouped by document
(:func:`set_group`, called when a document's first page begins), so a batch PDF numbers each invoice on
its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Frame

from agentdesk.pdf import formatting as fmt
from agentdesk.pdf.documents import CompanyLetterhead, Party
from agentdesk.pdf.fonts import FONTS, prime_subsets
from agentdesk.pdf.grid import wrap_plain
from agentdesk.pdf.text import TextWriter, text_width

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT = 25 * mm
MARGIN_RIGHT = 15 * mm
CONTENT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
CONTENT_RIGHT = PAGE_WIDTH - MARGIN_RIGHT

# DIN 5008 form B address field and information block, measured from the top-left corner.
WINDOW_LEFT = 20 * mm
WINDOW_TOP = 45 * mm
WINDOW_WIDTH = 85 * mm
WINDOW_HEIGHT = 45 * mm
INFO_LEFT = 125 * mm
INFO_TOP = 50 * mm

FIRST_BODY_TOP = 95 * mm  # just above where DIN 5008 puts the subject line (98.5 mm)
LATER_BODY_TOP = 24 * mm
BODY_BOTTOM = 31 * mm

ACCENT = colors.HexColor("#1F4E79")
MUTED = colors.HexColor("#5F6B76")
RULE = colors.HexColor("#C9D2DB")
ZEBRA = colors.HexColor("#F2F5F8")
SAVING_FILL = colors.HexColor("#E7F4EA")
SAVING_EDGE = colors.HexColor("#2E7D32")
SAVING_TEXT = colors.HexColor("#1B5E20")
OFFER_FILL = colors.HexColor("#FFF6E0")
OFFER_EDGE = colors.HexColor("#C58B00")


def top(distance: float) -> float:
    """Convert a distance from the top edge into ReportLab's bottom-up y coordinate."""
    return PAGE_HEIGHT - distance


def body_frame(frame_id: str, body_top: float) -> Frame:
    """The text column from `body_top` (a distance from the top edge) down to the footer, unpadded."""
    return Frame(
        MARGIN_LEFT,
        BODY_BOTTOM,
        CONTENT_WIDTH,
        top(body_top) - BODY_BOTTOM,
        id=frame_id,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )


def set_group(canvas: Canvas, index: int) -> None:
    """Tag this and the following pages as belonging to document ``index`` of the PDF."""
    canvas._agentdesk_group = index  # type: ignore[attr-defined]


def current_group(canvas: Canvas) -> int:
    return getattr(canvas, "_agentdesk_group", 0)


class PagedCanvas(Canvas):
    """A canvas that defers page output so each document's pages can say "Page i of n".

    ``number_single_pages=False`` leaves one-page documents (letters) unnumbered.
    """

    def __init__(
        self,
        *args: Any,
        stamp_date: date | None = None,
        number_single_pages: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        prime_subsets(self._doc)
        self._held_pages: list[dict[str, Any]] = []
        self._number_single_pages = number_single_pages
        stamp = getattr(getattr(self, "_doc", None), "_timeStamp", None)
        if stamp_date is not None and stamp is not None:
            # Use the document date as creation date: still byte-for-byte reproducible, and meaningful.
            stamp.YMDhms = (stamp_date.year, stamp_date.month, stamp_date.day, 0, 0, 0)
            stamp.dhh = stamp.dmm = 0

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        groups = [page.get("_agentdesk_group", 0) for page in self._held_pages]
        totals: dict[int, int] = {}
        for group in groups:
            totals[group] = totals.get(group, 0) + 1
        seen: dict[int, int] = {}
        for page, group in zip(self._held_pages, groups, strict=True):
            self.__dict__.update(page)
            seen[group] = seen.get(group, 0) + 1
            if totals[group] > 1 or self._number_single_pages:
                out = TextWriter(self)
                out.right(CONTENT_RIGHT, 8 * mm, f"Page {seen[group]} of {totals[group]}", FONTS.regular, 7.5, MUTED)
                out.flush()
            super().showPage()
        super().save()


def canvas_maker(stamp_date: date | None, number_single_pages: bool = True) -> Callable[..., PagedCanvas]:
    return functools.partial(PagedCanvas, stamp_date=stamp_date, number_single_pages=number_single_pages)


def _fit_size(text: str, font: str, size: float, width: float, smallest: float = 6.0) -> float:
    """The largest font size <= ``size`` at which ``text`` fits ``width`` (never below ``smallest``)."""
    natural = text_width(text, font, size)
    if natural <= width:
        return size
    return max(smallest, size * width / natural)


def draw_fold_marks(canvas: Canvas) -> None:
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(3 * mm, top(105 * mm), 7 * mm, top(105 * mm))
    canvas.line(3 * mm, top(210 * mm), 7 * mm, top(210 * mm))
    canvas.line(3 * mm, top(148.5 * mm), 9 * mm, top(148.5 * mm))


def draw_letterhead(canvas: Canvas, company: CompanyLetterhead) -> None:
    """Company name on the left, contact details on the right, a thin accent rule underneath."""
    party = company.party
    out = TextWriter(canvas)
    out.text(MARGIN_LEFT, top(22 * mm), party.name, FONTS.bold, _fit_size(party.name, FONTS.bold, 17, 100 * mm),
             ACCENT)
    out.text(MARGIN_LEFT, top(27 * mm), company.website, FONTS.regular, 7.5, MUTED)
    details = [*party.address_lines, party.city_line, party.country,
               f"Phone {company.phone}" if company.phone else "", company.email]
    y = top(14 * mm)
    for line in [line for line in details if line][:7]:
        out.right(CONTENT_RIGHT, y, line, FONTS.regular, 7.5, colors.black)
        y -= 3.6 * mm
    out.flush()
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(1.2)
    canvas.line(MARGIN_LEFT, top(36 * mm), CONTENT_RIGHT, top(36 * mm))


def draw_address_window(canvas: Canvas, sender: Party, recipient: Party) -> None:
    """The return-address line and the recipient, placed for a DL window envelope."""
    inset = 5 * mm
    x = WINDOW_LEFT + inset
    width = WINDOW_WIDTH - 2 * inset
    out = TextWriter(canvas)
    sender_line = sender.one_line_address()
    size = _fit_size(sender_line, FONTS.regular, 6.5, width, smallest=5)
    out.text(x, top(WINDOW_TOP + 4 * mm), sender_line, FONTS.regular, size, MUTED)

    lines = [recipient.name, *recipient.address_lines, recipient.city_line]
    if recipient.country and recipient.country.casefold() != sender.country.casefold():
        lines.append(recipient.country.upper())  # postal convention for mail abroad
    # The recipient zone is the lowest 27.3 mm of the field; squeeze the leading if many lines.
    zone_top = WINDOW_TOP + WINDOW_HEIGHT - 27.3 * mm
    leading = min(4.4 * mm, 25 * mm / max(len(lines), 1))
    y = top(zone_top + 3.6 * mm)
    for i, line in enumerate(lines):
        font = FONTS.bold if i == 0 else FONTS.regular
        out.text(x, y, line, font, _fit_size(line, font, 9.5, width), colors.black)
        y -= leading
    out.flush()
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.4)
    canvas.line(x, top(WINDOW_TOP + 5.2 * mm), x + width, top(WINDOW_TOP + 5.2 * mm))


def draw_info_block(canvas: Canvas, rows: Sequence[tuple[str, str]]) -> None:
    """Label/value pairs to the right of the address window (document number, dates, references)."""
    value_x = INFO_LEFT + 27 * mm
    value_width = CONTENT_RIGHT - value_x
    out = TextWriter(canvas)
    y = top(INFO_TOP)
    for label, value in rows:
        out.text(INFO_LEFT, y, label, FONTS.regular, 7.5, MUTED)
        out.text(value_x, y, value, FONTS.regular, _fit_size(value, FONTS.regular, 8.5, value_width), colors.black)
        y -= 4.7 * mm
    out.flush()


def draw_continuation_header(canvas: Canvas, company: CompanyLetterhead, caption: str) -> None:
    out = TextWriter(canvas)
    out.text(MARGIN_LEFT, top(14 * mm), company.party.name, FONTS.bold, 9, ACCENT)
    out.right(CONTENT_RIGHT, top(14 * mm), caption, FONTS.regular, 8, MUTED)
    out.flush()
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN_LEFT, top(17 * mm), CONTENT_RIGHT, top(17 * mm))


def draw_footer(canvas: Canvas, company: CompanyLetterhead) -> None:
    """Three columns of company, contact and bank details plus the legal footer text."""
    party = company.party
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN_LEFT, 27 * mm, CONTENT_RIGHT, 27 * mm)
    city = f"{party.city_line}, {party.country}" if party.country else party.city_line
    columns: list[list[tuple[str, str]]] = [
        [(FONTS.bold, party.name), *((FONTS.regular, line) for line in party.address_lines), (FONTS.regular, city)],
        [(FONTS.regular, f"VAT ID {party.vat_id}"), (FONTS.regular, f"Phone {company.phone}"),
         (FONTS.regular, company.email), (FONTS.regular, company.website)],
        [(FONTS.bold, company.bank_name), (FONTS.regular, f"IBAN {fmt.iban(company.iban)}"),
         (FONTS.regular, f"BIC {company.bic}")],
    ]
    column_width = CONTENT_WIDTH / 3
    out = TextWriter(canvas)
    for index, column in enumerate(columns):
        x = MARGIN_LEFT + index * column_width
        y = 23.5 * mm
        for font, text in column[:4]:
            if not text.strip():
                continue
            out.text(x, y, text, font, _fit_size(text, font, 7, column_width - 3 * mm, smallest=5.5), MUTED)
            y -= 3.3 * mm
    if company.footer_text:
        wrapped = wrap_plain(company.footer_text, FONTS.regular, 6.5, CONTENT_WIDTH - 30 * mm)
        y = 8 * mm if len(wrapped) == 1 else 9.5 * mm
        for line in wrapped[:2]:
            out.text(MARGIN_LEFT, y, line, FONTS.regular, 6.5, MUTED)
            y -= 3 * mm
    out.flush()
