"""AgentDesk's PDF layer: ReportLab rendering from plain frozen dataclasses (no database, no Qt).

* :mod:`agentdesk.pdf.documents` - the input dataclasses (``InvoiceDocument``, ``OfferLetterDocument``, ...)
* :mod:`agentdesk.pdf.invoice` - ``render_invoice(doc)`` and ``render_invoices_combined(docs)``
* :mod:`agentdesk.pdf.letter` - ``render_offer_letter(doc)``
* :mod:`agentdesk.pdf.fonts` - bundled DejaVu fonts, ``FontMissingError``
* :mod:`agentdesk.pdf.samples` - consistent sample documents for previews, tests and the benchmark

Importing this package imports nothing heavy; ``documents`` does not import ReportLab.
"""
