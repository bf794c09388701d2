"""Locating, registering and subsetting the bundled fonts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agentdesk.pdf import fonts
from agentdesk.pdf.fonts import RESOURCES_ENV, FontMissingError, register_fonts
from agentdesk.pdf.invoice import render_invoice
from agentdesk.pdf.letter import render_offer_letter
from agentdesk.pdf.samples import sample_invoice, sample_offer_letter


def test_fonts_ship_with_their_licence() -> None:
    folder = fonts.fonts_dir()
    assert folder == Path(fonts.agentdesk.__file__).resolve().parent.parent / "resources" / "fonts"
    assert (folder / "DejaVuSans.ttf").is_file()
    assert (folder / "DejaVuSans-Bold.ttf").is_file()
    assert "Bitstream" in (folder / "DejaVu-LICENSE.txt").read_text(encoding="utf-8")


def test_missing_font_gives_a_clear_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fonts").mkdir()
    monkeypatch.setenv(RESOURCES_ENV, str(tmp_path))
    with pytest.raises(FontMissingError) as caught:
        register_fonts()
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "fonts" / "DejaVuSans.ttf") in message
    assert RESOURCES_ENV in message
    # The renderers surface the same error rather than silently falling back to a font without €.
    with pytest.raises(FontMissingError):
        render_invoice(sample_invoice(2))
    with pytest.raises(FontMissingError):
        render_offer_letter(sample_offer_letter())


def test_unreadable_font_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "DejaVuSans.ttf").write_bytes(b"not a font")
    shutil.copy(fonts.fonts_dir() / "DejaVuSans-Bold.ttf", tmp_path / "fonts")
    monkeypatch.setenv(RESOURCES_ENV, str(tmp_path))
    with pytest.raises(FontMissingError, match="cannot be read as TrueType"):
        register_fonts()


def test_resources_override_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(fonts.fonts_dir(), tmp_path / "fonts")
    monkeypatch.setenv(RESOURCES_ENV, str(tmp_path))
    assert fonts.fonts_dir() == tmp_path.resolve() / "fonts"
    register_fonts()
    assert render_invoice(sample_invoice(2)).startswith(b"%PDF-")


def test_seed_fills_the_first_subset_with_euro_and_accents() -> None:
    from reportlab.pdfbase.pdfmetrics import getFont

    names = register_fonts()
    for name in (names.regular, names.bold):
        font = getFont(name)
        seed = font.seed  # type: ignore[attr-defined]
        assert "€" in seed and "ë" in seed and "ł" in seed and "Ł" in seed
        # 256 codes minus the 96 ASCII-readable ones and the .notdef slot.
        assert len(seed) == 159
