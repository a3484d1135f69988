"""Which parts a document is made of, each a template and what it needs beyond the header and content.

Each part starts on a new page under its own header band, so a page handed to one official (a traveller's letter)
still says who issued it and how to verify it."""

from __future__ import annotations

from typing import Any

from documents.i18n import Language
from domain.documents import (
    DocumentToRender,
    FitnessCertificateContent,
    ItineraryContent,
    ManifestContent,
    MedicalSummaryContent,
    Traveller,
    TravelPackContent,
)

Part = tuple[str, dict[str, Any]]


def names(travellers: list[Traveller]) -> dict[str, str]:
    """Names as given, in Latin script, for the lines that point at a person (escorts, checklist)."""
    return {t.person_id: f"{t.given_name} {t.family_name}" for t in travellers}


def travel_pack(content: TravelPackContent) -> list[Part]:
    named = names(content.travellers)
    shared = {"names": named, "transit": len(content.journey.legs) > 1}
    letters: list[Part] = [("travel_pack/letter.html", {**shared, "traveller": t}) for t in content.travellers]
    return [("travel_pack/cover.html", shared), *letters,
            ("travel_pack/checklist.html", shared), ("travel_pack/orientation.html", shared)]


def medical_summary(content: MedicalSummaryContent) -> list[Part]:
    files = {f.person_id: f for f in content.files}
    return [("medical_summary.html", {"entries": [(t, files.get(t.person_id)) for t in content.travellers]})]


def manifest(content: ManifestContent) -> list[Part]:
    names_by_person = {p.person_id: f"{p.given_name} {p.family_name}" for p in content.passengers}
    references = {p.case_id: p.case_reference for p in content.passengers}
    return [("arrival_manifest.html", {"names": names_by_person, "references": references})]


def parts_of(document: DocumentToRender) -> list[Part]:
    content = document.content
    if isinstance(content, TravelPackContent):
        return travel_pack(content)
    if isinstance(content, ItineraryContent):
        return [("flight_itinerary.html",
                 {"transit": len(content.journey.legs) > 1, "names": names(content.travellers)})]
    if isinstance(content, FitnessCertificateContent):
        return [("fit_to_travel.html", {})]
    if isinstance(content, MedicalSummaryContent):
        return medical_summary(content)
    if isinstance(content, ManifestContent):
        return manifest(content)
    raise TypeError(f"no layout for {type(content).__name__}")


def css_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def page_of_pages_css(language: Language) -> str:
    """`page X of Y` in the page's footer, in the document's language: the translated sentence is cut at its two
    placeholders, which become the page counters."""
    marker = "\x00"
    sentence = language.gettext("Page %(page)s of %(pages)s", page=f"{marker}page{marker}",
                                pages=f"{marker}pages{marker}")
    content = []
    for index, piece in enumerate(sentence.split(marker)):
        if index % 2:
            content.append(f"counter({piece})")
        elif piece:
            content.append(css_string(piece))
    direction = language.direction
    return (f"@page {{ @bottom-center {{ content: {' '.join(content)}; direction: {direction}; }} }}\n"
            f"@page {{ @top-center {{ content: element(manifest-header); }} }}")
