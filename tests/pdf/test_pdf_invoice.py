"""Invoices and credit notes rendered to PDF: content, layout across pages, determinism, batching."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal

import pypdf

from agentdesk.pdf import formatting as fmt
from agentdesk.pdf.documents import DocumentKind, InvoiceDocument, Party
from agentdesk.pdf.invoice import render_invoice, render_invoices_combined
from agentdesk.pdf.samples import BUYER, invoice_from_lines, sample_lines

Pages = Callable[[bytes], list[str]]


def test_invoice_shows_reduced_amount_discount_line_and_saving(one_page_invoice: InvoiceDocument,
                                                               pdf_pages: Pages) -> None:
    doc = one_page_invoice
    [text] = pdf_pages(render_invoice(doc))
    # The reduced amount due: gross before discounts minus discounts, plus VAT.
    assert doc.gross_total == Decimal("418.25")
    assert "Total due €418.25" in text
    assert "Services before discounts €365.47" in text
    assert "Discounts -€14.00" in text
    # The discounted line carries its label and the discount amount with its percentage.
    assert "Fibre Internet 250 Mbit/s" in text
    assert "Retention discount 10.00/month" in text
    assert "-10.00 (20%)" in text
    assert "You saved €14.00 on this invoice" in text


def test_no_saving_box_without_discount(pdf_pages: Pages) -> None:
    doc = invoice_from_lines(sample_lines(3, discount_every=0), term_discount=False)
    [text] = pdf_pages(render_invoice(doc))
    assert "You saved" not in text
    assert "Discounts" not in text
    assert "Prompt payment discount" not in text
    assert f"Total due {fmt.money(doc.gross_total, 'EUR')}" in text


def test_term_discount_is_printed_as_less_x_if_paid_by_date(one_page_invoice: InvoiceDocument,
                                                             pdf_pages: Pages) -> None:
    offer = one_page_invoice.term_discount
    assert offer is not None
    [text] = pdf_pages(render_invoice(one_page_invoice))
    assert f"less {fmt.money(offer.amount, 'EUR')} if paid by {fmt.day(offer.pay_by)}" in text
    assert "less €8.37 if paid by 11 Feb 2026" in text
    assert "you then transfer only €409.88" in text


def test_eu_vat_invoice_mandatory_content(one_page_invoice: InvoiceDocument, pdf_pages: Pages) -> None:
    doc = one_page_invoice
    [text] = pdf_pages(render_invoice(doc))
    seller = doc.seller.party
    for expected in [
        "Invoice INV-2026-000123",  # sequential number
        "Issue date 1 Feb 2026",
        "Due date 15 Feb 2026",
        "Service period 1–31 Jan 2026",
        "Customer no. 100234",
        seller.name, "Hafenstraße 12", "20457 Hamburg",
        "Zoë Müller-Łukasiewicz", "Kastanienallee 7", "10435 Berlin",
        "Our VAT ID DE812345678", "VAT ID DE812345678",  # info block and footer
        "Your VAT ID DE298765432",
        "VAT rate Taxable amount VAT 19% €351.47 €66.78",  # taxable amount and VAT per rate
        "Net amount (excl. VAT) €351.47",
        "VAT €66.78",
        "IBAN DE89 3704 0044 0532 0130 00",
        "payment reference INV-2026-000123 / 100234",
        "Page 1 of 1",
    ]:
        assert expected in text, expected


def test_one_summary_row_per_vat_rate(pdf_pages: Pages) -> None:
    lines = sample_lines(4, discount_every=0) + sample_lines(2, discount_every=0, tax_rate=Decimal("7"))
    doc = invoice_from_lines(lines)
    assert [row.rate for row in doc.tax_summary] == [Decimal("7"), Decimal("19")]
    [text] = pdf_pages(render_invoice(doc))
    for row in doc.tax_summary:
        assert f"{fmt.percent(row.rate)} {fmt.money(row.taxable, 'EUR')} {fmt.money(row.tax, 'EUR')}" in text


def test_sixty_lines_break_onto_two_numbered_pages_with_repeated_header(long_invoice: InvoiceDocument,
                                                                         pdf_pages: Pages) -> None:
    first, second = pdf_pages(render_invoice(long_invoice))
    header = "Service Period Frequency Amount Discount Net VAT"
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second
    assert header in first
    assert header in second  # the table header is repeated on the continuation page
    assert "Invoice INV-2026-000999 · Customer 100234 · continued" in second
    assert "Fibre Internet 250 Mbit/s" in first and "Router rental (line 60)" in second
    assert "Total due" not in first and "Total due" in second
    # Every line appears exactly once across the two pages.
    both = first + second
    for number in range(9, 61):
        assert both.count(f"(line {number})") == 1, number


def test_euro_sign_and_accented_names_survive(pdf_pages: Pages) -> None:
    buyer = dataclasses.replace(
        BUYER, name="Zoë Müller-Łukasiewicz", address_lines=("Øster Allé 3", "Étage 2, Çarşı Sokağı")
    )
    doc = invoice_from_lines(sample_lines(2), buyer=buyer)
    [text] = pdf_pages(render_invoice(doc))
    assert "Zoë Müller-Łukasiewicz" in text
    assert "Øster Allé 3" in text
    assert "Étage 2, Çarşı Sokağı" in text
    assert "€" in text


def test_characters_outside_the_seeded_subset(pdf_pages: Pages) -> None:
    # Greek and Cyrillic are not in the pre-seeded first font subset: they go to a second subset.
    buyer = dataclasses.replace(BUYER, name="Παναγιώτης Жуков", address_lines=("Οδός Ερμού 5",))
    rare = invoice_from_lines(sample_lines(2), buyer=buyer)
    plain = invoice_from_lines(sample_lines(2))
    before = render_invoice(plain)
    [text] = pdf_pages(render_invoice(rare))
    assert "Παναγιώτης Жуков" in text
    assert "Οδός Ερμού 5" in text
    # Rendering the unusual document must not disturb later, ordinary ones (shared subset caches).
    assert render_invoice(plain) == before


def test_all_fonts_are_embedded() -> None:
    data = render_invoice(invoice_from_lines(sample_lines(3)))
    reader = pypdf.PdfReader(io.BytesIO(data))
    resources = reader.pages[0]["/Resources"].get_object()
    assert isinstance(resources, pypdf.generic.DictionaryObject)
    fonts = resources["/Font"].get_object()
    assert isinstance(fonts, pypdf.generic.DictionaryObject) and fonts
    for ref in fonts.values():
        font = ref.get_object()
        assert font["/Subtype"] == "/TrueType", font["/BaseFont"]
        assert "/FontFile2" in font["/FontDescriptor"], font["/BaseFont"]
        assert "DejaVuSans" in font["/BaseFont"]


def test_same_document_renders_to_identical_bytes(one_page_invoice: InvoiceDocument) -> None:
    first = render_invoice(one_page_invoice)
    second = render_invoice(one_page_invoice)
    assert first == second
    metadata = pypdf.PdfReader(io.BytesIO(first)).metadata
    assert metadata is not None
    # Creation date is the issue date, not the wall clock.
    assert str(metadata["/CreationDate"]).startswith("D:20260201000000")
    assert metadata["/Title"] == "Invoice INV-2026-000123"


def test_bytes_do_not_depend_on_process_or_hash_seed(one_page_invoice: InvoiceDocument) -> None:
    script = (
        "import sys\n"
        "from agentdesk.pdf.invoice import render_invoice\n"
        "from agentdesk.pdf.samples import invoice_from_lines, sample_lines\n"
        "doc = invoice_from_lines(sample_lines(20, discount_every=10, multiple_every=0))\n"
        "sys.stdout.buffer.write(render_invoice(doc))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        env.pop("SOURCE_DATE_EPOCH", None)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, check=True)
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == render_invoice(one_page_invoice)


def test_combined_batch_numbers_each_invoice_on_its_own(long_invoice: InvoiceDocument,
                                                         one_page_invoice: InvoiceDocument,
                                                         pdf_pages: Pages) -> None:
    docs = [long_invoice, one_page_invoice, dataclasses.replace(one_page_invoice, number="INV-2026-000124",
                                                                payment_reference=None)]
    singles = [len(pypdf.PdfReader(io.BytesIO(render_invoice(doc))).pages) for doc in docs]
    assert singles == [2, 1, 1]
    pages = pdf_pages(render_invoices_combined(docs))
    assert len(pages) == sum(singles)
    assert ["Page 1 of 2" in pages[0], "Page 2 of 2" in pages[1], "Page 1 of 1" in pages[2],
            "Page 1 of 1" in pages[3]] == [True] * 4
    # Each invoice starts on its own page with its own letterhead, number and buyer block.
    assert "Invoice INV-2026-000999" in pages[0]
    assert "Invoice INV-2026-000123" in pages[2] and "INV-2026-000999" not in pages[2]
    assert "Invoice INV-2026-000124" in pages[3] and "Payment ref. INV-2026-000124" in pages[3]


def test_combined_needs_documents() -> None:
    try:
        render_invoices_combined([])
    except ValueError as exc:
        assert "at least one" in str(exc)
    else:
        raise AssertionError("an empty batch must be refused")


def test_credit_note_is_titled_and_references_the_credited_invoice(pdf_pages: Pages) -> None:
    doc = invoice_from_lines(
        sample_lines(3),
        number="CN-2026-000007",
        kind=DocumentKind.CREDIT_NOTE,
        credited_invoice_number="INV-2026-000123",
    )
    [text] = pdf_pages(render_invoice(doc))
    assert "Credit note CN-2026-000007" in text
    assert "Credit note no. CN-2026-000007" in text
    assert "Credits invoice INV-2026-000123" in text
    assert "This credit note refers to invoice INV-2026-000123" in text
    assert f"Total credited {fmt.money(doc.gross_total, 'EUR')}" in text
    assert "Invoice no." not in text and "You saved" not in text and "How to pay" not in text


def test_quantity_and_long_descriptions_are_shown(pdf_pages: Pages) -> None:
    lines = sample_lines(7, discount_every=0, multiple_every=7)  # line 6 has quantity 2
    long = dataclasses.replace(
        lines[0],
        description="Business fibre 1 Gbit/s with static IPv4 block, priority fault repair and 24/7 hotline",
    )
    doc = invoice_from_lines([long, *lines[1:]])
    [text] = pdf_pages(render_invoice(doc))
    assert "2 × €9.95" in text
    assert "Business fibre 1 Gbit/s with static IPv4 block, priority fault repair and 24/7 hotline" in text


def test_buyer_without_vat_id_and_abroad(pdf_pages: Pages) -> None:
    buyer = Party(name="Ana Peña", address_lines=("Calle Mayor 1",), postal_code="28013", city="Madrid",
                  country="Spain")
    [text] = pdf_pages(render_invoice(invoice_from_lines(sample_lines(2), buyer=buyer)))
    assert "Your VAT ID" not in text
    assert "Ana Peña Calle Mayor 1 28013 Madrid SPAIN" in text  # country line for mail abroad
