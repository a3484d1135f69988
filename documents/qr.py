"""The QR code on every document: it encodes the public verification URL, which is printed under it too."""

from __future__ import annotations

from functools import lru_cache

import segno


@lru_cache(maxsize=256)
def qr_data_uri(url: str) -> str:
    """An SVG data URI: vector, so it stays sharp at any print size, and the same URL always gives the same bytes.
    Error correction M survives a fold or a smudge on paper carried through several airports."""
    code = segno.make(url, error="m", micro=False)
    return code.svg_data_uri(scale=4, border=0, xmldecl=False, nl=False, dark="#000")
