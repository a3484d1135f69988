"""What a document says, per kind and language (golden text), and that every file is archivable PDF/A-3u: tagged,
fonts embedded, the same bytes for the same input.

Golden files live in tests/golden/documents/; after a deliberate change of wording or layout, regenerate them with
`UPDATE_GOLDEN=1 pytest tests/test_documents_render.py` and read the diff before committing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from documents.render import render_pdf
from tests.documents_fixtures import (
    MEDICAL_SECRETS,
    assert_archivable,
    every_kind,
    fit_to_travel,
    normalised,
    page_count,
    pdf_text,
    rendered,
    travel_pack,
)

GOLDEN = Path(__file__).resolve().parent / "golden" / "documents"
KINDS = ["travel_pack", "flight_itinerary", "fit_to_travel", "medical_summary", "arrival_manifest"]
# The papers a family carries are bilingual (theirs and the destination's language); the others never are.
BILINGUAL = ["travel_pack", "flight_itinerary", "fit_to_travel"]
CASES = [(kind, case) for case in ("en", "fr", "ar", "prs") for kind in KINDS] + [(k, "prs+en") for k in BILINGUAL]


@pytest.mark.parametrize(("kind", "case"), CASES)
def test_each_document_reads_as_its_golden_text(kind: str, case: str) -> None:
    text = normalised(pdf_text(rendered(kind, case)))
    golden = GOLDEN / f"{kind}.{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden text for {kind} in {case}: run with UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(("kind", "case"), [(k, "en") for k in KINDS] + [(k, "prs+en") for k in BILINGUAL]
                         + [("arrival_manifest", "ar")])
def test_every_kind_is_tagged_pdf_a_3u_with_its_fonts_embedded(kind: str, case: str) -> None:
    document = every_kind(["prs", "en"] if case == "prs+en" else [case])[kind]
    assert_archivable(rendered(kind, case), document)


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_document_renders_to_the_same_bytes(kind: str) -> None:
    # An activity retried after its answer was lost stores the very same file.
    again = render_pdf(every_kind(["en"])[kind])
    assert again == rendered(kind, "en")


def test_every_document_prints_its_issuer_reference_version_date_and_verification_address() -> None:
    for kind, document in every_kind(["en"]).items():
        text = " ".join(pdf_text(rendered(kind, "en")).split())
        header = document.header
        assert header.issuer.name in text
        assert header.reference in text
        assert f"Version {header.version}" in text
        assert "Issued on March 2, 2026" in text
        assert header.verify_url.removeprefix("https://") in text.replace(" ", ""), kind


def test_papers_outside_the_medical_file_never_print_findings_or_the_tb_class() -> None:
    summary = normalised(pdf_text(rendered("medical_summary", "en")))
    for secret in MEDICAL_SECRETS:
        assert secret in summary
    assert "TB class" in summary and "class B1" in summary
    for kind in ("fit_to_travel", "travel_pack", "flight_itinerary", "arrival_manifest"):
        for case in ("en", "prs+en"):
            if (kind, case) not in CASES:
                continue
            text = normalised(pdf_text(rendered(kind, case)))
            leaked = [s for s in (*MEDICAL_SECRETS, "TB class", "Findings", "SpO2") if s in text]
            assert not leaked, f"{kind} ({case}) prints {leaked}"
    # What non-medical papers may say about health: the needs for the journey.
    assert "oxygen on board" in normalised(pdf_text(rendered("fit_to_travel", "en")))


def test_a_bilingual_pack_keeps_each_part_on_one_page() -> None:
    # Cover, a letter per traveller, checklist, orientation certificate: a letter handed to an official is one sheet.
    for pdf in (rendered("travel_pack", "prs+en"), render_pdf(travel_pack(["fr", "ar"]))):
        assert page_count(pdf) == 3 + 5


def test_a_certificate_that_says_unfit_says_so_in_both_languages() -> None:
    text = normalised(pdf_text(render_pdf(fit_to_travel(["en", "prs"], fit=False))))
    assert "Not fit to travel on this flight" in text and "توانایی سفر با این پرواز را ندارد" in text
    assert "Fit to travel" not in text.replace("Not fit to travel", "")
