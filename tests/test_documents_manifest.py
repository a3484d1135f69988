"""The arrival manifest as the reception team reads it: every page says which flight, from whom, which version and
which page of how many; an amendment says what changed; the CSV loads into their systems as is."""

from __future__ import annotations

import csv
import io
import re
from functools import cache

import pytest

from documents.manifest_csv import COLUMNS, NotAManifest, manifest_csv
from documents.render import render_pdf
from domain.case import FunctionalNeed
from domain.documents import ManifestContent
from tests.documents_fixtures import (
    ISSUER,
    fit_to_travel,
    manifest,
    normalised,
    page_count,
    pdf_text,
)


@cache
def long_manifest() -> bytes:
    return render_pdf(manifest(["en"], count=500, version=3, final=True))


def test_a_500_passenger_manifest_repeats_its_header_and_numbers_every_page() -> None:
    pdf = long_manifest()
    pages = page_count(pdf)
    assert pages > 1
    for number in range(1, pages + 1):
        text = " ".join(pdf_text(pdf, first=number, last=number).split())
        assert "Flight TK17, March 10, 2026" in text, number
        assert ISSUER.name in text and "Version 3 (final)" in text, number
        assert f"Page {number} of {pages}" in text, number
    assert f"Page {pages} of {pages}" in pdf_text(pdf, first=pages, last=pages)


def test_every_passenger_is_listed_once_with_functional_needs_only() -> None:
    document = manifest(["en"], count=500, version=3, final=True)
    assert isinstance(document.content, ManifestContent)
    text = normalised(pdf_text(long_manifest()))
    assert "Passengers 500" in text
    assert text.count("ISB-2026-1099") == len([p for p in document.content.passengers
                                               if p.case_reference == "ISB-2026-1099"])
    assert "wheelchair" in text and "follow-up after arrival" in text
    assert "Final: checked against who boarded" in text


def test_the_first_version_says_it_is_the_first() -> None:
    text = normalised(pdf_text(render_pdf(manifest(["en"], count=5))))
    assert "This is the first version of this manifest." in text
    assert "final" not in text.lower()


def test_an_amendment_lists_who_was_added_removed_and_changed_in_its_language() -> None:
    document = manifest(["fr"], count=60, version=2)
    assert isinstance(document.content, ManifestContent)
    added = document.content.passengers[-1]
    text = normalised(pdf_text(render_pdf(document))).replace("\u00a0", " ")
    assert "Changements depuis la version précédente" in text
    assert f"ajouté : {added.given_name} {added.family_name}" in text
    assert "modifié : Mariam Haidari (date de naissance, besoins fonctionnels)" in text
    assert "retiré : un passager de la version précédente (per_00000000000000ff" in text


def test_pages_are_numbered_in_the_manifest_language() -> None:
    pdf = render_pdf(manifest(["ar"], count=60, version=2))
    pages = page_count(pdf)
    assert pages >= 2
    last = normalised(pdf_text(pdf, first=pages, last=pages)).splitlines()[-1]
    assert re.fullmatch(rf"الصفحة\s*{pages}\s*من\s*{pages}", last), last


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_the_csv_has_a_header_row_and_one_row_per_passenger_with_the_document_it_came_from() -> None:
    document = manifest(["en"], count=500, version=3, final=True)
    data = manifest_csv(document)
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.split(b"\r\n", 1)[0].decode() == ",".join(COLUMNS)
    table = rows(data)
    assert len(table) == 500
    first = table[0]
    assert first["document_reference"] == document.header.reference and first["version"] == "3"
    assert first["final"] == "yes" and first["flight"] == "TK17" and first["departs_at"] == "2026-03-10T11:40:00Z"
    assert (first["case_reference"], first["given_name"], first["family_name"]) == (
        "ISB-2026-1000", "Mariam", "Haidari")
    assert first["date_of_birth"] == "1950-01-01" and first["sex"] == "F" and first["relationship"] == "principal"
    assert manifest_csv(document) == data


def test_several_needs_are_joined_by_semicolons_and_a_formula_never_runs() -> None:
    document = manifest(["en"], count=3)
    assert isinstance(document.content, ManifestContent)
    passenger = document.content.passengers[0]
    document.content.passengers[0] = passenger.model_copy(update={
        "given_name": "=HYPERLINK(\"http://x\")",
        "functional_needs": [FunctionalNeed.WHEELCHAIR, FunctionalNeed.OXYGEN]})
    first = rows(manifest_csv(document))[0]
    assert first["functional_needs"] == "wheelchair;oxygen"
    assert first["given_name"] == "'=HYPERLINK(\"http://x\")"


def test_only_a_manifest_has_a_csv() -> None:
    with pytest.raises(NotAManifest):
        manifest_csv(fit_to_travel(["en"]))
