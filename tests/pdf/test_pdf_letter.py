"""The printed retention offer letter."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import pypdf

from agentdesk.pdf.letter import render_offer_letter
from agentdesk.pdf.samples import sample_offer_letter

Pages = Callable[[bytes], list[str]]


def test_letter_is_one_page_with_offer_terms_and_acceptance_reference(pdf_pages: Pages) -> None:
    doc = sample_offer_letter()
    [text] = pdf_pages(render_offer_letter(doc))
    assert "Your personal offer to stay with us" in text
    assert "Dear Zoë Müller-Łukasiewicz," in text
    assert "Zoë Müller-Łukasiewicz Kastanienallee 7 3. OG links 10435 Berlin" in text  # window address
    assert doc.offer_description in text
    for term in doc.terms_lines:
        assert term in text
    assert "Your monthly cost today €79.88" in text
    assert "Your monthly cost with this offer €59.88" in text
    assert "You save every month €20.00" in text
    assert "Your total saving €240.00" in text
    assert "Your acceptance reference ACC-7Q4M-2KXP" in text
    assert "valid until 11 Feb 2026" in text
    assert doc.how_to_accept in text
    assert "Our reference T-2026-004711" in text
    assert "Acceptance: I, Zoë Müller-Łukasiewicz, accept the offer" in text
    assert "Page 1 of" not in text  # a one-page letter is not numbered


def test_letter_is_deterministic() -> None:
    doc = sample_offer_letter()
    data = render_offer_letter(doc)
    assert data == render_offer_letter(doc)
    metadata = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert metadata is not None
    assert str(metadata["/CreationDate"]).startswith("D:20260112")


def test_very_long_terms_flow_onto_a_numbered_second_page(pdf_pages: Pages) -> None:
    terms = tuple(f"Condition {n}: the discount applies only while the contract stays active." for n in range(40))
    pages = pdf_pages(render_offer_letter(dataclasses.replace(sample_offer_letter(), terms_lines=terms)))
    assert len(pages) == 2
    assert "Page 1 of 2" in pages[0] and "Page 2 of 2" in pages[1]
    assert all(f"Condition {n}:" in pages[0] + pages[1] for n in range(40))
