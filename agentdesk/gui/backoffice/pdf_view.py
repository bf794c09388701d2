"""Showing, printing and saving PDF bytes inside the desktop.

`PdfPane` shows a document (QPdfDocument loaded from a QBuffer, shown by a QPdfView) with zoom controls.
`print_pdf` draws each page with QPdfDocument.render into a QPainter on a QPrinter, so any printer the
system's print dialog offers works (and a PDF printer in tests). `ask_printer` shows that dialog.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRectF, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument, QPdfDocumentRenderOptions
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from agentdesk.domain.errors import AgentDeskError

MAX_PRINT_DPI = 300  # enough for text; more only makes huge spool files


class PrintFailed(AgentDeskError):
    """The document could not be printed (the message says why)."""


def load_document(data: bytes, parent: QObject | None = None) -> tuple[QPdfDocument, QBuffer]:
    """A QPdfDocument over `data`. Keep the returned buffer alive as long as the document."""
    document = QPdfDocument(parent)  # type: ignore[arg-type]  # parent may be None (owned by the caller)
    buffer = QBuffer(parent)
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready:
        raise PrintFailed(f"The PDF could not be read ({document.error().name})")
    return document, buffer


def print_pdf(document: QPdfDocument, printer: QPrinter) -> int:
    """Print every page of `document` on `printer`, each fitted to the printable area; returns the page count."""
    pages = document.pageCount()
    if pages < 1:
        raise PrintFailed("The document has no pages to print")
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintFailed("The printer could not be started: check that it is connected and ready")
    try:
        dpi = min(printer.resolution(), MAX_PRINT_DPI)
        for index in range(pages):
            if index:
                printer.newPage()
            points = document.pagePointSize(index)
            target = QRectF(printer.pageLayout().paintRectPixels(printer.resolution()))
            target.moveTo(0, 0)
            # Scale the page into the printable rectangle, keeping its proportions.
            scale = min(target.width() / points.width(), target.height() / points.height())
            width, height = points.width() * scale, points.height() * scale
            pixels = QSize(int(points.width() * dpi / 72), int(points.height() * dpi / 72))
            image = document.render(index, pixels, QPdfDocumentRenderOptions())
            painter.drawImage(QRectF(0, 0, width, height), image)
    finally:
        painter.end()
    return pages


def ask_printer(parent: QWidget | None, title: str) -> QPrinter | None:
    """The system's print dialog; None if the user cancelled. Tests replace this function."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(title)
    return printer if dialog.exec() == QDialog.DialogCode.Accepted else None


def ask_save_path(parent: QWidget | None, title: str, suggested: str) -> Path | None:
    """Where to save a PDF; None if the user cancelled. Tests replace this function."""
    name, _filter = QFileDialog.getSaveFileName(parent, title, str(Path.home() / suggested), "PDF files (*.pdf)")
    if not name:
        return None
    path = Path(name)
    return path if path.suffix.lower() == ".pdf" else path.with_suffix(".pdf")


def save_pdf(data: bytes, path: Path) -> None:
    """Write the bytes under a temporary name first, so a failed save never leaves half a file."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


class PdfPane(QWidget):
    """A PDF shown inside the app, with zoom buttons and a page count."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QPdfView(self)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.document: QPdfDocument | None = None
        self._buffer: QBuffer | None = None
        self.data: bytes | None = None
        self.caption = QLabel()
        self.caption.setProperty("role", "hint")
        self.fit_button = QPushButton("Fit width")
        self.fit_button.clicked.connect(lambda: self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth))
        self.page_button = QPushButton("Whole page")
        self.page_button.clicked.connect(lambda: self.view.setZoomMode(QPdfView.ZoomMode.FitInView))
        self.placeholder = QLabel("Select an invoice to see it here.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setProperty("role", "hint")
        self.placeholder.setStyleSheet("border:1px dashed rgba(128, 128, 128, 0.5);")
        bar = QHBoxLayout()
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.page_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.placeholder, 1)
        self.clear("Select an invoice to see it here.")

    def show_pdf(self, data: bytes, caption: str) -> None:
        old = self.document, self._buffer
        self.document, self._buffer = load_document(data, self)
        self.data = data
        self.view.setDocument(self.document)
        for item in old:
            if item is not None:
                item.deleteLater()
        pages = self.document.pageCount()
        self.caption.setText(f"{caption} · {pages} page{'s' if pages != 1 else ''}")
        self.placeholder.hide()
        self.view.show()
        self.fit_button.setEnabled(True)
        self.page_button.setEnabled(True)

    def clear(self, message: str) -> None:
        self.view.setDocument(None)  # type: ignore[arg-type]
        for item in (self.document, self._buffer):
            if item is not None:
                item.deleteLater()
        self.document = None
        self._buffer = None
        self.data = None
        self.caption.setText("")
        self.placeholder.setText(message)
        self.placeholder.show()
        self.view.hide()
        self.fit_button.setEnabled(False)
        self.page_button.setEnabled(False)


__all__ = ["PdfPane", "PrintFailed", "ask_printer", "ask_save_path", "load_document", "print_pdf", "save_pdf"]
