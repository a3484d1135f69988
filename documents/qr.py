"""The QR code on every document: it encodes the public verification URL, which is printed under it too."""

from __future__ import annotations

from functools import lru_cache

import segno


@lru_cache(maxsize=256)
def qr_data_uri(url: str) -> str:
    """A PNG of one pixel per module, drawn without smoothing (`image-rendering: pixelated`), so it prints as sharp
    squares at any size; a picture is embedded once however many pages show it, where an SVG is redrawn on each.
    Error correction M survives a fold or a smudge on paper carried through several airports."""
    code = segno.make(url, error="m", micro=False)
    return code.png_data_uri(scale=1, border=0)
