"""Documents in English, French, Arabic and Dari: every message translated, right-to-left laid out on the right,
dates as each language writes them, and no character the fonts cannot draw (no empty boxes on paper)."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import unicodedata
from functools import cache
from pathlib import Path

import pikepdf
import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from documents.catalogs import read_catalog, used_messages
from documents.html import document_html
from domain.documents import SUPPORTED_LANGUAGES
from tests.documents_fixtures import (
    LANGUAGE_CASES,
    every_kind,
    normalised,
    pdf_text,
    rendered,
)

KINDS = ["travel_pack", "flight_itinerary", "fit_to_travel", "medical_summary", "arrival_manifest"]
FONT_STACK = ["Noto Sans", "Noto Sans:bold", "Noto Naskh Arabic", "Noto Naskh Arabic:bold", "Noto Sans Arabic"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_every_message_the_templates_use_is_in_each_catalog_with_its_placeholders(code: str) -> None:
    catalog = read_catalog(code)
    for message, places in used_messages().items():
        entry = catalog.get(message)
        assert entry is not None, f"{code} lacks {message!r} (used at {places[0]}): run python -m documents.catalogs"
        if code == "en":
            continue  # the message id is the English text
        assert entry.string, f"{code} has no translation of {message!r}"
        assert sorted(PLACEHOLDER.findall(entry.string)) == sorted(PLACEHOLDER.findall(message)), message


def test_catalogs_are_kept_as_po_sources_only() -> None:
    locale = Path(__file__).resolve().parents[1] / "documents" / "locale"
    catalogues = locale.glob("*/LC_MESSAGES/documents.po")
    assert sorted(p.parent.parent.name for p in catalogues) == sorted(SUPPORTED_LANGUAGES)
    assert not list(locale.rglob("*.mo"))


def test_each_language_block_says_its_language_and_direction() -> None:
    html = document_html(every_kind(["prs", "en"])["travel_pack"])
    blocks = re.findall(r'<section class="block[^"]*" lang="(\w+)" dir="(\w+)"', html)
    assert blocks and set(blocks) == {("prs", "rtl"), ("en", "ltr")}
    assert blocks[0] == ("prs", "rtl")  # the family's language comes first
    assert re.search(r'<div class="document bilingual" lang="prs" dir="rtl"', html)


@pytest.mark.parametrize(("case", "issued", "flight"), [
    ("en", "Issued on March 2, 2026", "March 10, 2026, 04:05 UTC"),
    ("fr", "Délivré le 2 mars 2026", "10 mars 2026, 04:05 UTC"),
    ("ar", "صدر في 2 مارس 2026", "مارس"),
    ("prs", "تاریخ صدور", "مارچ"),  # Afghan month names (مارچ), not the Arabic or Iranian ones
])
def test_dates_are_written_the_way_each_language_writes_them(case: str, issued: str, flight: str) -> None:
    html = document_html(every_kind(LANGUAGE_CASES[case])["fit_to_travel"])
    assert issued in html and flight in html
    if case == "prs":
        assert "مارس" not in html


@cache
def font_cmaps() -> list[set[int]]:
    maps = []
    for family in FONT_STACK:
        path = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True, text=True,
                              check=True).stdout
        assert "Noto" in Path(path).name, f"fontconfig found no {family} (run make install): {path}"
        maps.append(set(TTFont(path, lazy=True).getBestCmap()))
    return maps


def drawn(text: str) -> set[str]:
    """The characters that need a glyph: not spaces, not invisible formatting (joiners, bidi marks)."""
    return {c for c in text if not c.isspace() and unicodedata.category(c) != "Cf"}


@pytest.mark.parametrize("case", list(LANGUAGE_CASES))
def test_every_character_printed_is_in_one_of_the_fonts_we_ship(case: str) -> None:
    cmaps = font_cmaps()
    for kind in KINDS:
        missing = {c for c in drawn(pdf_text(rendered(kind, case))) if not any(ord(c) in m for m in cmaps)}
        assert not missing, f"{kind} in {case}: no font draws {sorted(missing)}"


def glyph_ids(pdf: pikepdf.Pdf) -> set[int]:
    """The glyph ids every text-showing operator draws (two-byte Identity-H codes, WeasyPrint's only encoding)."""
    found: set[int] = set()
    for page in pdf.pages:
        for operands, operator in pikepdf.parse_content_stream(page):
            strings = operands[0] if str(operator) == "TJ" else operands if str(operator) == "Tj" else []
            for item in strings:
                if isinstance(item, pikepdf.String):
                    raw = bytes(item)
                    found.update(int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2))
    return found


@pytest.mark.parametrize("case", list(LANGUAGE_CASES))
def test_no_page_draws_the_missing_glyph_box(case: str) -> None:
    for kind in KINDS:
        with pikepdf.open(io.BytesIO(rendered(kind, case))) as pdf:
            fonts = [f for p in pdf.pages for f in p.Resources.Font.values()]
            assert all(f.Subtype == "/Type0" and f.Encoding == "/Identity-H" for f in fonts)
            ids = glyph_ids(pdf)
            assert ids and 0 not in ids, f"{kind} in {case} draws .notdef"


def first_page_png(pdf: bytes, directory: Path) -> Image.Image:
    source = directory / "document.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", "-gray", str(source),
                    str(directory / "page")], check=True)
    png = next(directory.glob("page*.png"))
    return Image.open(png).convert("L")


def first_line_halves(image: Image.Image) -> tuple[int, int]:
    """Dark pixels in the left and right halves of the first line of text under the header band's rule."""
    width, height = image.size
    pixels = image.load()

    def dark(y: int, xs: range) -> int:
        return sum(1 for x in xs if pixels[x, y] < 128)

    margin = range(width // 20, width - width // 20)
    rule = next(y for y in range(height) if sum(1 for x in margin if pixels[x, y] < 200) > 0.8 * len(margin))
    start = next(y for y in range(rule + 2, height) if dark(y, margin) > 0)
    end = next(y for y in range(start, height) if dark(y, margin) == 0)
    left = sum(dark(y, range(width // 2)) for y in range(start, end))
    right = sum(dark(y, range(width // 2, width)) for y in range(start, end))
    return left, right


@pytest.mark.parametrize(("kind", "case", "side"), [
    ("fit_to_travel", "ar", "right"), ("travel_pack", "prs", "right"), ("fit_to_travel", "en", "left")])
def test_right_to_left_pages_start_their_text_on_the_right(kind: str, case: str, side: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        image = first_page_png(rendered(kind, case), Path(directory))
    assert image.getextrema()[0] < 64, "the page is blank"
    left, right = first_line_halves(image)
    assert (right > 3 * left) if side == "right" else (left > 3 * right), (left, right)


def test_a_bilingual_document_holds_both_languages_in_full() -> None:
    text = normalised(pdf_text(rendered("fit_to_travel", "prs+en")))
    assert "Fit-to-travel certificate" in text and "توانایی سفر را دارد" in text
    assert "This certificate says only whether the traveller may fly" in text
