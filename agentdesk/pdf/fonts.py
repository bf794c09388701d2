"""Locate AgentDesk's bundled TrueType fonts, register them with ReportLab and keep subsetting cheap.

ReportLab's built-in Helvetica is not embedded and has no Latin Extended-A letters (ł, ő, ş), so every
document embeds DejaVu Sans from ``resources/fonts``. The folder is found next to the installed
``agentdesk`` package (``<repository>/resources``) unless ``AGENTDESK_RESOURCES`` names another resources
folder. Fonts are parsed once per process; later calls only compare the folder path.

Embedding a TrueType font means building a subset font program for every document, which costs more than
laying out a whole invoice. Three measures make it nearly free in a billing batch:

* :func:`prime_subsets` assigns the first subset of each font a fixed repertoire (ASCII, Latin-1, the
  common Latin Extended-A letters, €, dashes and quotes) before anything is drawn, so almost every
  document ends up with byte-identical subsets; rarer characters spill into a small second subset.
* text made only of seeded characters encodes to the same subset bytes in every primed document, so
  :func:`show_ops` can memoise its text-showing operators across documents;
* the font memoises, per subset, the compressed font program, the width array and the ToUnicode map,
  so a repeated subset costs a few dictionary look-ups instead of a subsetting run and three deflates.

The two overridden methods (``TTFontFace.addSubsetObjects``, ``TTFont.addObjects``) mirror ReportLab's own
(checked against ReportLab 5.1); tests/pdf checks that fonts stay embedded and text stays extractable.
"""

from __future__ import annotations

import os
import threading
import weakref
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib.fonts import addMapping
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    TTFontFace,
    makeToUnicodeCMap,
)

import agentdesk

RESOURCES_ENV = "AGENTDESK_RESOURCES"


class FontMissingError(Exception):
    """A font file the PDF layer needs is not where AgentDesk looks for it."""


@dataclass(frozen=True, slots=True)
class FontSet:
    """ReportLab names of the registered faces (use these in styles and ``canvas.setFont``)."""

    regular: str
    bold: str


FONTS = FontSet(regular="AgentDeskSans", bold="AgentDeskSans-Bold")
_FILES: dict[str, str] = {FONTS.regular: "DejaVuSans.ttf", FONTS.bold: "DejaVuSans-Bold.ttf"}

_lock = threading.Lock()
_subset_lock = threading.Lock()
_registered_from: Path | None = None

# Characters every document's first subset is seeded with, most useful first. Whatever does not fit in
# the first subset's free slots is simply left to normal on-demand assignment.
_PUNCTUATION = "€–—‘’‚“”„•…−‰™№"
_LATIN_1 = "".join(chr(c) for c in range(0xA1, 0x100) if c != 0xAD)
_LATIN_EXT_A = (
    "ąćęłńśźżĄĆĘŁŃŚŹŻčďěňřšťůžČĎĚŇŘŠŤŮŽőűŐŰşţșțğıİŞŢȘȚĞăĂđĐāēīūĀĒĪŪėįųĖĮŲļķņģĻĶŅĢĺľŕĹĽŔœŒ"
)
_SEED_CANDIDATES = _PUNCTUATION + _LATIN_1 + _LATIN_EXT_A
_SUBSET_CACHE_SIZE = 32
_ENCODING_CACHE_SIZE = 20_000
_ASCII = frozenset(chr(code) for code in range(32, 127))

_primed_documents: weakref.WeakSet[Any] = weakref.WeakSet()


class _SubsetCachingFace(TTFontFace):
    """A TrueType face that remembers the subset font programs it has built (compressed and not)."""

    _subset_cache: dict[tuple[tuple[int, ...], bool], tuple[bytes, int]]

    def addSubsetObjects(self, doc: Any, fontname: str, subset: Sequence[int]) -> Any:  # noqa: N802
        compress = bool(doc.compression)
        key = (tuple(subset), compress)
        cached = self._subset_cache.get(key)
        if cached is None:
            with _subset_lock:  # makeSubset reads the font through a shared file position
                program = self.makeSubset(subset)
            cached = (zlib.compress(program) if compress else program, len(program))
            if len(self._subset_cache) >= _SUBSET_CACHE_SIZE:
                self._subset_cache.pop(next(iter(self._subset_cache)))
            self._subset_cache[key] = cached
        content, length = cached
        font_file = pdfdoc.PDFStream(content=content)
        font_file.dictionary["Length1"] = length
        if compress:
            # Already deflated: naming the filter stops ReportLab from compressing it again.
            font_file.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        font_file_ref = doc.Reference(font_file, f"fontFile:{self.filename}({fontname})")
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "Ascent": self.ascent,
                "CapHeight": self.capHeight,
                "Descent": self.descent,
                "Flags": (self.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                "FontBBox": pdfdoc.PDFArray(self.bbox),
                "FontName": pdfdoc.PDFName(fontname),
                "ItalicAngle": self.italicAngle,
                "StemV": self.stemV,
                "FontFile2": font_file_ref,
                "MissingWidth": self.defaultWidth,
            }
        )
        return doc.Reference(descriptor, "fontDescriptor:" + fontname)


class _Probe:
    """A weak-referenceable stand-in for a PDF document (TTFont keeps per-document state weakly)."""


class _BundledFont(TTFont):
    """A TTFont with a subset-caching face and a fixed seed repertoire for its first subset."""

    seed: str

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self.face.__class__ = _SubsetCachingFace
        self.face._subset_cache = {}
        self._parts_cache: dict[tuple[tuple[int, ...], str, bool], tuple[bytes, bytes]] = {}
        self.seed = self._first_subset_repertoire()
        self.seeded = _ASCII | frozenset(self.seed)
        self._encodings: dict[str, list[tuple[int, str]]] = {}

    def show_ops_seeded(self, text: str, doc: Any) -> list[tuple[int, str]]:
        """:func:`show_ops` for a primed document, memoised when every character of ``text`` is seeded.

        Seeded characters have the same subset codes in every primed document, so their encoding can be
        shared; text with any other character is encoded for this document alone.
        """
        cached = self._encodings.get(text)
        if cached is not None:
            return cached
        ops = [(subset, f"({escapePDF(chunk)}) Tj") for subset, chunk in self.splitString(text, doc)]
        if self.seeded.issuperset(text):
            if len(self._encodings) >= _ENCODING_CACHE_SIZE:
                self._encodings.clear()
            self._encodings[text] = ops
        return ops

    def _subset_parts(self, subset: tuple[int, ...], base_name: str, compress: bool) -> tuple[bytes, bytes]:
        """The formatted /Widths array and the (maybe deflated) ToUnicode CMap of one subset."""
        key = (subset, base_name, compress)
        parts = self._parts_cache.get(key)
        if parts is None:
            widths = b"[" + b" ".join(fp_str(self.face.getCharWidth(c)).encode() for c in subset) + b"]"
            cmap = makeToUnicodeCMap(base_name, list(subset)).encode("latin-1")
            parts = (widths, zlib.compress(cmap) if compress else cmap)
            if len(self._parts_cache) >= _SUBSET_CACHE_SIZE:
                self._parts_cache.pop(next(iter(self._parts_cache)))
            self._parts_cache[key] = parts
        return parts

    def addObjects(self, doc: Any) -> None:  # noqa: N802 - ReportLab's name
        """Emit the PDF font objects of every subset used in ``doc`` (ReportLab's logic plus caching)."""
        state = self.state.get(doc)
        if state is None:
            state = self.state[doc] = TTFont.State(self._asciiReadable)
        state.frozen = 1
        compress = bool(doc.compression)
        for index, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(index, doc)[1:]
            base_name = b"".join((SUBSETN(index), b"+", self.face.name, self.face.subfontNameX)).decode("pdfdoc")
            widths, cmap = self._subset_parts(tuple(subset), base_name, compress)
            pdf_font = pdfdoc.PDFTrueTypeFont()
            pdf_font.Name = internal_name
            pdf_font.BaseFont = base_name
            pdf_font.FirstChar = 0
            pdf_font.LastChar = len(subset) - 1
            pdf_font.Widths = widths  # preformatted bytes are written as they are
            cmap_stream = pdfdoc.PDFStream(content=cmap)
            if compress:
                cmap_stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
            pdf_font.ToUnicode = doc.Reference(cmap_stream, "toUnicodeCMap:" + base_name)
            pdf_font.FontDescriptor = self.face.addSubsetObjects(doc, base_name, subset)
            doc.Reference(pdf_font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = pdf_font
        del self.state[doc]

    def _first_subset_repertoire(self) -> str:
        # Probe with a throwaway document key: keep the candidates that still land in subset 0.
        probe = _Probe()
        kept = []
        try:
            for char in _SEED_CANDIDATES:
                if ord(char) not in self.face.charToGlyph:
                    continue
                if self.splitString(char, probe)[0][0] != 0:
                    break
                kept.append(char)
        finally:
            self.state.pop(probe, None)
        return "".join(kept)


def prime_subsets(doc: Any) -> None:
    """Seed the first subset of both fonts for a new PDF document (``canvas._doc``) so that subsets repeat."""
    for name in (FONTS.regular, FONTS.bold):
        font = pdfmetrics.getFont(name)
        if isinstance(font, _BundledFont):
            font.splitString(font.seed, doc)
    _primed_documents.add(doc)


def is_primed(doc: Any) -> bool:
    """Whether :func:`prime_subsets` ran for this PDF document."""
    return doc in _primed_documents


def show_ops(font: Any, text: str, doc: Any, primed: bool) -> list[tuple[int, str]]:
    """``text`` as (subset, ``"(…) Tj"`` operator) pairs for ``doc``, sharing work across primed documents."""
    if primed and isinstance(font, _BundledFont):
        return font.show_ops_seeded(text, doc)
    return [(subset, f"({escapePDF(chunk)}) Tj") for subset, chunk in font.splitString(text, doc)]


def resources_dir() -> Path:
    """The resources folder: ``$AGENTDESK_RESOURCES`` if set, else ``resources/`` beside the package."""
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return Path(agentdesk.__file__).resolve().parent.parent / "resources"


def fonts_dir() -> Path:
    return resources_dir() / "fonts"


def register_fonts() -> FontSet:
    """Register the bundled fonts with ReportLab (once per folder) and return their names.

    Raises :class:`FontMissingError` when a font file is missing or unreadable.
    """
    global _registered_from
    folder = fonts_dir()
    if folder == _registered_from:
        return FONTS
    with _lock:
        if folder == _registered_from:
            return FONTS
        faces: dict[str, _BundledFont] = {}
        for name, filename in _FILES.items():
            path = folder / filename
            if not path.is_file():
                raise FontMissingError(
                    f"Font file {path} is missing: reinstall AgentDesk or set {RESOURCES_ENV} to a folder"
                    f" whose fonts/ subfolder contains {filename}"
                )
            try:
                faces[name] = _BundledFont(name, str(path))
            except Exception as exc:  # ReportLab raises TTFError and plain OSError/struct errors
                raise FontMissingError(f"Font file {path} cannot be read as TrueType ({exc})") from exc
        for face in faces.values():
            pdfmetrics.registerFont(face)
        # Map <b>/<i> in paragraphs to our faces; there is no italic face, so italic falls back upright.
        for family in (FONTS.regular, FONTS.bold):
            addMapping(family, 0, 0, FONTS.regular if family == FONTS.regular else FONTS.bold)
            addMapping(family, 1, 0, FONTS.bold)
            addMapping(family, 0, 1, FONTS.regular if family == FONTS.regular else FONTS.bold)
            addMapping(family, 1, 1, FONTS.bold)
        _registered_from = folder
    return FONTS
