"""Fixtures for the PDF layer tests: sample documents and text extraction with pypdf."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pypdf
import pytest

from agentdesk.pdf.documents import InvoiceDocument
from agentdesk.pdf.samples import invoice_from_lines, sample_lines


def _pages(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    # Collapse whitespace: a phrase may be wrapped or set in several runs, which pypdf joins by newlines.
    return [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]


@pytest.fixture
def pdf_pages() -> Callable[[bytes], list[str]]:
    """Function turning PDF bytes into one whitespace-normalised text string per page."""
    return _pages


@pytest.fixture
def one_page_invoice() -> InvoiceDocument:
    """20 lines, two of them with a 20 % retention discount, a prompt-payment offer: fits one page."""
    return invoice_from_lines(sample_lines(20, discount_every=10, multiple_every=0))


@pytest.fixture
def long_invoice() -> InvoiceDocument:
    """60 lines (six discounted): two pages."""
    return invoice_from_lines(sample_lines(60, discount_every=10, multiple_every=0), number="INV-2026-000999")
