"""Render a printed retention offer letter (:class:`OfferLetterDocument`) to A4 PDF bytes.

This is the hard-copy notification for customers without e-mail: the same letterhead and envelope window
as an invoice, the offer in plain words, today's and the new monthly cost side by side, the terms, how to
accept with the acceptance reference in large type, and a tear-off acceptance slip to send back. It fits
one page for any ordinary offer; a very long list of terms flows on to a numbered second page.
"""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, KeepTogether, PageTemplate, Spacer

from agentdesk.pdf import formatting as fmt
from agentdesk.pdf import layout
from agentdesk.pdf.documents import OfferLetterDocument
from agentdesk.pdf.fonts import FONTS, register_fonts
from agentdesk.pdf.grid import (
    BREAK,
    Align,
    Grid,
    GridStyle,
    Line,
    Row,
    SideBySide,
    Span,
    TextBlock,
    wrap_text,
)
from agentdesk.pdf.layout import ACCENT, CONTENT_WIDTH, MARGIN_LEFT, MUTED, RULE, top
from agentdesk.pdf.text import TextWriter

__all__ = ["render_offer_letter"]

_SUBJECT_HEIGHT = 9 * mm
_BODY_SIZE = 9
_BODY_LEADING = 12.4


def render_offer_letter(doc: OfferLetterDocument) -> bytes:
    """Render the offer letter to PDF bytes (one page unless the terms are unusually long)."""
    register_fonts()
    buffer = io.BytesIO()
    template = _LetterTemplate(buffer, doc)
    template.build(_body(doc), canvasmaker=layout.canvas_maker(doc.letter_date, number_single_pages=False))
    return buffer.getvalue()


def subject_line(doc: OfferLetterDocument) -> str:
    return "Your personal offer to stay with us"


class _LetterTemplate(BaseDocTemplate):
    def __init__(self, buffer: io.BytesIO, doc: OfferLetterDocument) -> None:
        super().__init__(
            buffer,
            pagesize=layout.A4,
            leftMargin=MARGIN_LEFT,
            rightMargin=layout.MARGIN_RIGHT,
            topMargin=layout.LATER_BODY_TOP,
            bottomMargin=layout.BODY_BOTTOM,
            title=f"{subject_line(doc)} ({doc.ticket_number})",
            author=doc.company.party.name,
            subject=f"Retention offer for {doc.customer.name}",
            creator="AgentDesk",
            invariant=1,
            initialFontName=FONTS.regular,
        )
        self.letter = doc

        self.addPageTemplates(
            [
                PageTemplate(
                    id="first",
                    frames=[layout.body_frame("first-body", layout.FIRST_BODY_TOP + _SUBJECT_HEIGHT)],
                    onPage=self._first_page,
                    autoNextPageTemplate="later",
                ),
                PageTemplate(id="later", frames=[layout.body_frame("later-body", layout.LATER_BODY_TOP)], onPage=self._later),
            ]
        )

    def _first_page(self, canvas: Canvas, _template: BaseDocTemplate) -> None:
        doc = self.letter
        canvas.saveState()
        layout.draw_letterhead(canvas, doc.company)
        layout.draw_address_window(canvas, doc.company.party, doc.customer)
        rows = [
            ("Date", fmt.day(doc.letter_date)),
            ("Our reference", doc.ticket_number),
        ]
        if doc.customer_account_number:
            rows.append(("Customer no.", doc.customer_account_number))
        rows += [
            ("Acceptance ref.", doc.acceptance_reference),
            ("Offer valid until", fmt.day(doc.expiry_date)),
            ("Phone", doc.company.phone),
        ]
        layout.draw_info_block(canvas, rows)
        layout.draw_fold_marks(canvas)
        out = TextWriter(canvas)
        out.text(MARGIN_LEFT, top(layout.FIRST_BODY_TOP) - 5.5 * mm, subject_line(doc), FONTS.bold, 13, ACCENT)
        out.flush()
        layout.draw_footer(canvas, doc.company)
        canvas.restoreState()

    def _later(self, canvas: Canvas, _template: BaseDocTemplate) -> None:
        doc = self.letter
        canvas.saveState()
        caption = f"{subject_line(doc)} · {doc.ticket_number} · continued"
        layout.draw_continuation_header(canvas, doc.company, caption)
        layout.draw_footer(canvas, doc.company)
        canvas.restoreState()


def _paragraph(spans: list[Span]) -> TextBlock:
    return TextBlock(spans, _BODY_SIZE, CONTENT_WIDTH, leading=_BODY_LEADING)


def _heading(text: str) -> TextBlock:
    return TextBlock([Span(text, FONTS.bold, ACCENT)], 10, CONTENT_WIDTH, leading=14)


def _cost_table(doc: OfferLetterDocument, width: float) -> Grid:
    cur = doc.currency
    regular, bold = FONTS.regular, FONTS.bold
    pairs = [
        ("Your monthly cost today", fmt.money(doc.monthly_cost_before, cur), regular),
        ("Your monthly cost with this offer", fmt.money(doc.monthly_cost_after, cur), bold),
        ("You save every month", fmt.money(doc.monthly_saving, cur), regular),
    ]
    rows = [Row(cells=([Line(label, font, 9.5)], [Line(value, font, 9.5)])) for label, value, font in pairs]
    rows.append(
        Row(
            cells=(
                [Line("Your total saving", bold, 10.5, layout.SAVING_TEXT)],
                [Line(fmt.money(doc.total_saving, cur), bold, 10.5, layout.SAVING_TEXT)],
            ),
            rule_above=(0.8, layout.SAVING_EDGE),
            extra_top=2.0,
        )
    )
    return Grid(rows, (width - 32 * mm, 32 * mm), (Align.LEFT, Align.RIGHT), GridStyle(pad_top=1.6, pad_bottom=1.8, pad_left=0))


def _terms(doc: OfferLetterDocument) -> Grid:
    text_width = CONTENT_WIDTH - 6 * mm
    rows = [
        Row(
            cells=(
                [Line("•", FONTS.regular, 9, ACCENT)],
                wrap_text(term, FONTS.regular, 9, text_width - 6),
            )
        )
        for term in doc.terms_lines
    ]
    return Grid(rows, (6 * mm, text_width), (Align.LEFT, Align.LEFT), GridStyle(pad_top=0.6, pad_bottom=1.0,
                                                                                 pad_left=0, line_spacing=1.28))


def _acceptance_box(doc: OfferLetterDocument) -> TextBlock:
    spans = [
        Span("Your acceptance reference", FONTS.regular, MUTED),
        Span(BREAK, FONTS.regular),
        Span(doc.acceptance_reference, FONTS.bold, ACCENT, nobreak=True),
    ]
    return TextBlock(spans, 13, 70 * mm, leading=17, fill=layout.OFFER_FILL, edge=layout.OFFER_EDGE,
                     pad_x=10, pad_y=7)


def _slip(doc: OfferLetterDocument) -> list[Flowable]:
    """A tear-off acceptance slip the customer can sign and post back."""
    regular, bold = FONTS.regular, FONTS.bold
    spans = [
        Span("Acceptance:", bold),
        Span(f"I, {doc.customer.name}, accept the offer of {fmt.day(doc.letter_date)} described above "
             "(reference", regular),
        Span(doc.acceptance_reference + ",", bold, nobreak=True),
        Span(f"ticket {doc.ticket_number}).", regular),
    ]
    blanks = Grid(
        [
            Row(
                cells=(
                    [Line("Date", regular, 8, MUTED)],
                    [Line("Signature", regular, 8, MUTED)],
                ),
                rule_above=(0.5, MUTED),
            )
        ],
        (60 * mm, CONTENT_WIDTH - 60 * mm),
        (Align.LEFT, Align.LEFT),
        GridStyle(pad_left=0),
    )
    return [
        _DashedRule(CONTENT_WIDTH),
        Spacer(0, 2.5 * mm),
        TextBlock(spans, 8.5, CONTENT_WIDTH, leading=11.5),
        Spacer(0, 7 * mm),
        blanks,
    ]


class _DashedRule(Flowable):
    """The cut line above the acceptance slip."""

    def __init__(self, width: float) -> None:
        super().__init__()
        self.width = width
        self.height = 4

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.setDash(3, 2)
        canvas.line(0, 2, self.width, 2)
        out = TextWriter(canvas)
        out.right(self.width, 4.5, "✂ cut here and send back", FONTS.regular, 6.5, MUTED)
        out.flush()
        canvas.restoreState()


def _body(doc: OfferLetterDocument) -> list[Flowable]:
    regular, bold = FONTS.regular, FONTS.bold
    story: list[Flowable] = [
        _paragraph([Span(f"Dear {doc.customer.name},", regular)]),
        Spacer(0, 2.5 * mm),
        _paragraph([
            Span("Thank you for talking to us about your contract. As promised on the phone, here is the offer "
                 "we prepared for you (reference", regular),
            Span(doc.ticket_number + ").", regular, nobreak=True),
        ]),
        Spacer(0, 2.5 * mm),
        _paragraph([Span(doc.offer_description, bold)]),
        Spacer(0, 4 * mm),
    ]
    left_width = CONTENT_WIDTH - 70 * mm - 8 * mm
    story.append(SideBySide([_cost_table(doc, left_width)], [_acceptance_box(doc)], left_width, 70 * mm))
    if doc.terms_lines:
        story += [Spacer(0, 4 * mm), _heading("Terms of the offer"), Spacer(0, 0.5 * mm), _terms(doc)]
    story += [
        Spacer(0, 3 * mm),
        _heading("How to accept"),
        Spacer(0, 0.5 * mm),
        _paragraph([Span(doc.how_to_accept, regular)]),
        Spacer(0, 1 * mm),
        _paragraph([
            Span("Please quote your acceptance reference", regular),
            Span(doc.acceptance_reference + ".", bold, nobreak=True),
            Span("This offer is valid until", regular),
            Span(fmt.day(doc.expiry_date) + ";", bold),
            Span("if you do not accept it by then, it lapses.", regular),
        ]),
        Spacer(0, 3 * mm),
        _paragraph([Span("Kind regards,", regular)]),
        Spacer(0, 2 * mm),
        _paragraph([Span(doc.signatory or "Your customer care team", regular), Span(BREAK, regular),
                    Span(doc.company.party.name, bold)]),
        Spacer(0, 4 * mm),
        KeepTogether(_slip(doc)),
    ]
    return story
