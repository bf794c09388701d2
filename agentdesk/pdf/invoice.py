"""Render invoices and credit notes (:class:`InvoiceDocument`) to A4 PDF bytes.

Page one carries the letterhead, the recipient in the envelope window, the document's numbers and dates
and its title; following pages get a short running header. The line table repeats its header row on every
page and every page says "Page i of n". Below the lines come the VAT summary per rate, the totals, the
saving box, any prompt-payment (term) discount and the payment instructions.

All the content an EU VAT invoice must carry is printed: issue date, sequential number, seller's and
buyer's names, addresses and VAT ids, what was supplied and for which period, taxable amount per rate,
discounts, VAT rate and amount, and the totals.

Output is deterministic: ReportLab runs in invariant mode with the issue date as creation date, so the
same document always gives the same bytes (an archived invoice can be re-rendered and compared).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    HRFlowable,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Spacer,
)

from agentdesk.pdf import formatting as fmt
from agentdesk.pdf import layout
from agentdesk.pdf.documents import InvoiceDocument, InvoiceLine
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
from agentdesk.pdf.layout import ACCENT, CONTENT_WIDTH, MARGIN_LEFT, MUTED, RULE, ZEBRA, top
from agentdesk.pdf.text import TextWriter, text_width

__all__ = ["document_title", "render_invoice", "render_invoices_combined"]

# Line table: Service, Period, Frequency, Amount, Discount, Net, VAT (sum = CONTENT_WIDTH = 170 mm).
_COLUMNS = (52 * mm, 29 * mm, 17 * mm, 19 * mm, 24 * mm, 19 * mm, 10 * mm)
_ALIGNS = (Align.LEFT, Align.LEFT, Align.LEFT, Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT)
_HEADER = ("Service", "Period", "Frequency", "Amount", "Discount", "Net", "VAT")
_CELL_SIZE = 7.5
_NOTE_SIZE = 6.8
_LINE_STYLE = GridStyle(pad_top=1.6, pad_bottom=1.8, rule_below=(0.8, ACCENT))
_SMALL_STYLE = GridStyle(pad_top=1.2, pad_bottom=1.4)
_NOTE_COLOR = layout.SAVING_TEXT

_TITLE_HEIGHT = 9 * mm  # the title drawn at the top of page one's body
_RIGHT_COLUMN = 78 * mm
_COLUMN_GAP = 6 * mm


def document_title(doc: InvoiceDocument) -> str:
    """``"Invoice INV-2026-000123"`` or ``"Credit note CN-2026-000007"``."""
    return f"{'Credit note' if doc.is_credit_note else 'Invoice'} {doc.number}"


def render_invoice(doc: InvoiceDocument) -> bytes:
    """Render one invoice or credit note to PDF bytes."""
    return _render([doc])


def render_invoices_combined(docs: Sequence[InvoiceDocument]) -> bytes:
    """Render several documents into one PDF for batch printing.

    Each document starts on a new page and numbers its own pages ("Page 1 of 2" restarts per document).
    """
    if not docs:
        raise ValueError("render_invoices_combined needs at least one document")
    return _render(list(docs))


class _InvoiceTemplate(BaseDocTemplate):
    """Doc template that knows which invoice each page belongs to (for its header and page numbers)."""

    def __init__(self, buffer: io.BytesIO, docs: list[InvoiceDocument]) -> None:
        first = docs[0]
        single = len(docs) == 1
        super().__init__(
            buffer,
            pagesize=layout.A4,
            leftMargin=MARGIN_LEFT,
            rightMargin=layout.MARGIN_RIGHT,
            topMargin=layout.LATER_BODY_TOP,
            bottomMargin=layout.BODY_BOTTOM,
            title=document_title(first) if single else f"{len(docs)} billing documents",
            author=first.seller.party.name,
            subject=f"{document_title(first)} for {first.buyer.name}" if single else "Billing batch",
            creator="AgentDesk",
            invariant=1,
            initialFontName=FONTS.regular,
        )
        self.invoices = docs
        self._documents_started = 0
        self.addPageTemplates(
            [
                PageTemplate(
                    id="first",
                    frames=[layout.body_frame("first-body", layout.FIRST_BODY_TOP + _TITLE_HEIGHT)],
                    onPage=self._first_page,
                    autoNextPageTemplate="later",
                ),
                PageTemplate(
                    id="later", frames=[layout.body_frame("later-body", layout.LATER_BODY_TOP)], onPage=self._later_page
                ),
            ]
        )

    def _current(self, canvas: Canvas) -> InvoiceDocument:
        return self.invoices[layout.current_group(canvas)]

    def _first_page(self, canvas: Canvas, _template: BaseDocTemplate) -> None:
        # Every document has exactly one "first" page, in story order: the n-th one starts document n.
        layout.set_group(canvas, self._documents_started)
        self._documents_started += 1
        doc = self._current(canvas)
        canvas.saveState()
        layout.draw_letterhead(canvas, doc.seller)
        layout.draw_address_window(canvas, doc.seller.party, doc.buyer)
        layout.draw_info_block(canvas, _info_rows(doc))
        layout.draw_fold_marks(canvas)
        _draw_title(canvas, doc)
        layout.draw_footer(canvas, doc.seller)
        canvas.restoreState()

    def _later_page(self, canvas: Canvas, _template: BaseDocTemplate) -> None:
        doc = self._current(canvas)
        canvas.saveState()
        caption = f"{document_title(doc)} · Customer {doc.customer_account_number} · continued"
        layout.draw_continuation_header(canvas, doc.seller, caption)
        layout.draw_footer(canvas, doc.seller)
        canvas.restoreState()


def _render(docs: list[InvoiceDocument]) -> bytes:
    register_fonts()
    story: list[Flowable] = []
    for index, doc in enumerate(docs):
        if index:
            story += [NextPageTemplate("first"), PageBreak()]
        story += _body(doc)
    buffer = io.BytesIO()
    template = _InvoiceTemplate(buffer, docs)
    template.build(story, canvasmaker=layout.canvas_maker(docs[0].issue_date))
    return buffer.getvalue()


def _draw_title(canvas: Canvas, doc: InvoiceDocument) -> None:
    baseline = top(layout.FIRST_BODY_TOP) - 5.5 * mm
    out = TextWriter(canvas)
    out.text(MARGIN_LEFT, baseline, document_title(doc), FONTS.bold, 14, ACCENT)
    out.right(layout.CONTENT_RIGHT, baseline, f"Amounts in {doc.currency}", FONTS.regular, 7.5, MUTED)
    out.flush()


def _info_rows(doc: InvoiceDocument) -> list[tuple[str, str]]:
    rows = [
        ("Credit note no." if doc.is_credit_note else "Invoice no.", doc.number),
        ("Issue date", fmt.day(doc.issue_date)),
    ]
    if doc.is_credit_note:
        rows.append(("Credits invoice", doc.credited_invoice_number or ""))
    else:
        rows.append(("Due date", fmt.day(doc.due_date)))
    rows += [
        ("Service period", fmt.period(doc.period_start, doc.period_end)),
        ("Customer no.", doc.customer_account_number),
    ]
    if doc.buyer.vat_id:
        rows.append(("Your VAT ID", doc.buyer.vat_id))
    rows.append(("Our VAT ID", doc.seller.party.vat_id or ""))
    rows.append(("Payment ref.", doc.reference))
    return rows


def _body(doc: InvoiceDocument) -> list[Flowable]:
    story: list[Flowable] = []
    if doc.is_credit_note:
        spans = [
            Span("This credit note refers to invoice", FONTS.regular),
            Span(doc.credited_invoice_number or "", FONTS.bold),
            Span(f"of customer account {doc.customer_account_number}.", FONTS.regular),
        ]
        story += [TextBlock(spans, 9, CONTENT_WIDTH), Spacer(0, 2 * mm)]
    story += [_line_table(doc), Spacer(0, 3.5 * mm)]
    closing: list[Flowable] = [
        _closing_block(doc),
        Spacer(0, 3 * mm),
        HRFlowable(width="100%", thickness=0.6, color=RULE, spaceBefore=0, spaceAfter=2 * mm),
        _payment_text(doc),
    ]
    # Totals, saving and payment details belong together: never split them across pages.
    story.append(KeepTogether(closing))
    for note in doc.notes:
        story += [Spacer(0, 1.5 * mm), TextBlock([Span(note, FONTS.regular, MUTED)], 7.5, CONTENT_WIDTH)]
    return story


def _discount_text(line: InvoiceLine) -> list[str]:
    if not line.has_discount:
        return ["–"]
    text = f"-{fmt.amount(line.discount_amount)} ({fmt.percent(line.discount_percent)})"
    if text_width(text, FONTS.regular, _CELL_SIZE) <= _COLUMNS[4] - 6:
        return [text]
    return [f"-{fmt.amount(line.discount_amount)}", f"({fmt.percent(line.discount_percent)})"]


def _line_row(line: InvoiceLine, currency: str, background: colors.Color | None) -> Row:
    regular = FONTS.regular
    service = wrap_text(line.description, regular, _CELL_SIZE, _COLUMNS[0] - 6)
    if line.quantity != 1:
        service.append(
            Line(f"{fmt.quantity(line.quantity)} × {fmt.money(line.unit_price, currency)}", regular, _NOTE_SIZE, MUTED)
        )
    if line.discount_label:
        service += wrap_text(line.discount_label, regular, _NOTE_SIZE, _COLUMNS[0] - 6, _NOTE_COLOR)
    return Row(
        cells=(
            service,
            wrap_text(line.period_text, regular, _CELL_SIZE, _COLUMNS[1] - 6),
            wrap_text(line.frequency_text, regular, _CELL_SIZE, _COLUMNS[2] - 6),
            [Line(fmt.amount(line.gross), regular, _CELL_SIZE)],
            [Line(text, regular, _CELL_SIZE) for text in _discount_text(line)],
            [Line(fmt.amount(line.net), regular, _CELL_SIZE)],
            [Line(fmt.percent(line.tax_rate), regular, _CELL_SIZE)],
        ),
        background=background,
    )


def _line_table(doc: InvoiceDocument) -> Grid:
    header = Row(
        cells=[[Line(label, FONTS.bold, 7.2, colors.white)] for label in _HEADER],
        background=ACCENT,
    )
    rows = [
        _line_row(line, doc.currency, ZEBRA if index % 2 else None) for index, line in enumerate(doc.lines)
    ]
    return Grid(rows, _COLUMNS, _ALIGNS, _LINE_STYLE, header=header)


def _vat_summary(doc: InvoiceDocument) -> Grid:
    cur = doc.currency
    regular = FONTS.regular
    header = Row(
        cells=[[Line(label, FONTS.bold, 7, MUTED)] for label in ("VAT rate", "Taxable amount", "VAT")],
    )
    rows = [
        Row(
            cells=(
                [Line(fmt.percent(row.rate), regular, 8)],
                [Line(fmt.money(row.taxable, cur), regular, 8)],
                [Line(fmt.money(row.tax, cur), regular, 8)],
            ),
            rule_above=(0.6, RULE) if index == 0 else None,
        )
        for index, row in enumerate(doc.tax_summary)
    ]
    return Grid(rows, (18 * mm, 30 * mm, 24 * mm), (Align.RIGHT,) * 3, _SMALL_STYLE, header=header)


def _totals(doc: InvoiceDocument) -> Grid:
    cur = doc.currency
    pairs: list[tuple[str, str]] = []
    if doc.discount_total:
        pairs.append(("Services before discounts", fmt.money(doc.gross_before_discount, cur)))
        pairs.append(("Discounts", fmt.money(-doc.discount_total, cur)))
    pairs.append(("Net amount (excl. VAT)", fmt.money(doc.net_total, cur)))
    pairs.append(("VAT", fmt.money(doc.tax_total, cur)))
    rows = [Row(cells=([Line(label, FONTS.regular, 8.5)], [Line(value, FONTS.regular, 8.5)])) for label, value in pairs]
    final = "Total credited" if doc.is_credit_note else "Total due"
    rows.append(
        Row(
            cells=(
                [Line(final, FONTS.bold, 10.5, ACCENT)],
                [Line(fmt.money(doc.gross_total, cur), FONTS.bold, 10.5, ACCENT)],
            ),
            rule_above=(0.9, ACCENT),
            extra_top=2.0,
        )
    )
    return Grid(rows, (_RIGHT_COLUMN - 30 * mm, 30 * mm), (Align.LEFT, Align.RIGHT), _SMALL_STYLE)


def _closing_block(doc: InvoiceDocument) -> SideBySide:
    """Left: VAT summary per rate, the prompt-payment offer and payment terms. Right: totals and saving."""
    left_width = CONTENT_WIDTH - _RIGHT_COLUMN - _COLUMN_GAP
    left: list[Flowable] = [
        TextBlock([Span("VAT summary", FONTS.bold, ACCENT)], 9.5, left_width),
        Spacer(0, 1 * mm),
        _vat_summary(doc),
    ]
    offer = doc.term_discount
    if offer is not None and not doc.is_credit_note:
        cur = doc.currency
        bold, regular = FONTS.bold, FONTS.regular
        spans = [
            Span("Prompt payment discount", bold),
            Span(BREAK, regular),
            Span(f"Total {fmt.money(doc.gross_total, cur)}, less {fmt.money(offer.amount, cur)} if paid by", regular),
            Span(fmt.day(offer.pay_by) + ":", bold),
            Span("you then transfer only", regular),
            Span(fmt.money(doc.gross_total - offer.amount, cur) + ".", bold),
        ]
        left += [
            Spacer(0, 3 * mm),
            TextBlock(spans, 8, left_width, leading=10.5, fill=layout.OFFER_FILL, edge=layout.OFFER_EDGE,
                      pad_x=7, pad_y=4),
        ]
    if doc.seller.payment_terms_text and not doc.is_credit_note:
        left += [
            Spacer(0, 2 * mm),
            TextBlock([Span(doc.seller.payment_terms_text, FONTS.regular, MUTED)], 7.2, left_width, leading=9.2),
        ]
    right: list[Flowable] = [_totals(doc)]
    if doc.discount_total > 0 and not doc.is_credit_note:
        saved = f"You saved {fmt.money(doc.discount_total, doc.currency)} on this invoice"
        right += [
            Spacer(0, 3 * mm),
            TextBlock([Span(saved, FONTS.bold, layout.SAVING_TEXT)], 10, _RIGHT_COLUMN,
                      fill=layout.SAVING_FILL, edge=layout.SAVING_EDGE, pad_x=8, pad_y=5),
        ]
    return SideBySide(left, right, left_width, _RIGHT_COLUMN)


def _payment_text(doc: InvoiceDocument) -> TextBlock:
    seller = doc.seller
    cur = doc.currency
    bold, regular = FONTS.bold, FONTS.regular
    if doc.is_credit_note:
        spans = [
            Span("Refund:", bold),
            Span("we will refund", regular),
            Span(fmt.money(abs(doc.gross_total), cur), bold),
            Span("to you or set it off against your next invoice. Please quote", regular),
            Span(doc.reference, bold),
            Span("if you contact us about it.", regular),
        ]
    else:
        spans = [
            Span("How to pay:", bold),
            Span("please transfer", regular),
            Span(fmt.money(doc.gross_total, cur), bold),
            Span("by", regular),
            Span(fmt.day(doc.due_date), bold),
            Span(f"to {seller.party.name}, IBAN", regular),
            Span(fmt.iban(seller.iban) + ",", bold, nobreak=True),
            Span(f"BIC {seller.bic}, quoting the payment reference", regular),
            Span(doc.reference + ".", bold, nobreak=True),
        ]
    return TextBlock(spans, 8.5, CONTENT_WIDTH, leading=11.5)
