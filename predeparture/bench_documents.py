"""Section `documents` of `predeparture bench`: what our PDF rendering costs against plain WeasyPrint.

Two measurements, in one run, each in alternating rounds (ours, then bare, then bare, then ours...) so whatever else
the machine does lands on both; each side's figure is its median round:
- `pack_speedup_vs_bare`: a five-person travel pack in Dari and English (what an Afghan family resettled to Canada
  carries). Bare renders each part (cover, five letters, checklist, orientation certificate) as a document of its
  own, one after the other, with `weasyprint.HTML(string=...).write_pdf()` and so a fresh font configuration each
  time: what a naive renderer does. Ours renders the pack as one document through `documents.render.render_pdf`,
  whose font configuration and stylesheet live as long as the process, and which also writes PDF/A-3u with tags,
  work the bare side skips. The ratio is bare time over ours; the target is at least 3.
- `manifest_vs_bare`: a 500-passenger arrival manifest. Bare lays out the very HTML page ours lays out
  (`documents.html.document_html`, stylesheet inline), with plain WeasyPrint; ours is `render_pdf`. The ratio is ours
  over bare; the target is at most 1.1, so PDF/A and tagging cost little on the longest document we print.

Both sides run in this process, on one thread, after one unmeasured round each. Each round is timed in CPU seconds
of that thread (`time.thread_time`): rendering is single-threaded CPU work, and other load on the machine stretches
wall time far more than it does the work done. The size comes from the environment:
  PREDEPARTURE_BENCH_DOCUMENTS_ROUNDS      rounds of each measurement  (5)
  PREDEPARTURE_BENCH_DOCUMENTS_PASSENGERS  passengers on the manifest  (500)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from domain.case import FunctionalNeed, Relationship, Sex
from domain.documents import (
    ChecklistItem,
    DocumentHeader,
    DocumentKind,
    DocumentToRender,
    Escort,
    EscortKind,
    FlightLeg,
    Issuer,
    Journey,
    ManifestContent,
    ManifestPassenger,
    OrientationRecord,
    Traveller,
    TravelPackContent,
    document_reference,
)
from domain.steps import Step, StepState
from predeparture.bench import (
    BenchContext,
    BenchFailed,
    SectionResult,
    Target,
    bench_section,
)

PACK_TARGET = 3.0
MANIFEST_TARGET = 1.1
FAMILY = 5  # people in the travel pack
PER_CASE = 5  # people per family on the manifest
ISSUED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEGS = [FlightLeg(flight_number="TK711", origin="ISB", destination="IST",
                  departs_at=datetime(2026, 3, 10, 4, 5, tzinfo=UTC),
                  arrives_at=datetime(2026, 3, 10, 9, 50, tzinfo=UTC)),
        FlightLeg(flight_number="TK17", origin="IST", destination="YYZ",
                  departs_at=datetime(2026, 3, 10, 11, 40, tzinfo=UTC),
                  arrives_at=datetime(2026, 3, 10, 22, 35, tzinfo=UTC))]
ROLES = [Relationship.PRINCIPAL, Relationship.SPOUSE, Relationship.CHILD, Relationship.CHILD, Relationship.PARENT]


@dataclass(frozen=True)
class DocumentsBenchSize:
    rounds: int = 5
    passengers: int = 500

    @classmethod
    def from_environment(cls) -> DocumentsBenchSize:
        values = {}
        for field, default in (("rounds", cls.rounds), ("passengers", cls.passengers)):
            name = f"PREDEPARTURE_BENCH_DOCUMENTS_{field.upper()}"
            raw = os.environ.get(name, str(default))
            if not raw.isdigit() or int(raw) < 1:
                raise BenchFailed(f"{name} must be a positive whole number, not {raw!r}")
            values[field] = int(raw)
        return cls(**values)


def header(kind: DocumentKind, languages: list[str], subject: str) -> DocumentHeader:
    reference = document_reference(subject, 1)
    return DocumentHeader(reference=reference, kind=kind, version=1, issued_at=ISSUED,
                          issuer=Issuer(organisation_id="org_bench", name="Resettlement Office Islamabad"),
                          verify_url=f"https://documents.example.org/verify/{reference}", languages=languages)


def traveller(n: int) -> Traveller:
    return Traveller(person_id=f"per_bench_{n:05d}", given_name=["Mariam", "Ahmad", "Zahra", "Omid", "Gul"][n % 5],
                     family_name=["Haidari", "Rahimi", "Sultani", "Noori"][n // 5 % 4],
                     date_of_birth=date(1950 + n % 60, 1 + n % 12, 1 + n % 28), sex=Sex.FEMALE if n % 2 else Sex.MALE,
                     nationality="AFG", relationship=ROLES[n % 5], travel_document_number=f"P{4410000 + n}",
                     functional_needs=[FunctionalNeed.WHEELCHAIR] if n % 7 == 4 else [])


def travel_pack() -> DocumentToRender:
    people = [traveller(n) for n in range(FAMILY)]
    checklist = [ChecklistItem(step=Step.EXIT_PERMIT, state=StepState.DONE, valid_until=date(2026, 6, 30)),
                 *[ChecklistItem(step=Step.TRAVEL_DOCUMENT, person_id=p.person_id, state=StepState.DONE,
                                 valid_until=date(2027, 3, 1)) for p in people],
                 ChecklistItem(step=Step.ORIENTATION, state=StepState.DONE, valid_until=date(2026, 3, 28))]
    journey = Journey(booking_ref="BK7Q2M", legs=LEGS, escorts=[Escort(kind=EscortKind.OPERATIONAL)],
                      special_service_requests=["WCHR"])
    content = TravelPackContent(case_id="case_bench", case_reference="ISB-2026-0417", destination_country="CA",
                                destination_city="Winnipeg", travellers=people, journey=journey, checklist=checklist,
                                orientation=OrientationRecord(completed_on=date(2026, 2, 26), language="fa"))
    return DocumentToRender(header=header(DocumentKind.TRAVEL_PACK, ["prs", "en"], "bench:pack"), content=content)


def arrival_manifest(passengers: int) -> DocumentToRender:
    people = [ManifestPassenger(case_id=f"case_bench_{n // PER_CASE:04d}",
                                case_reference=f"ISB-2026-{n // PER_CASE:04d}",
                                **traveller(n).model_dump(exclude={"travel_document_number"}))
              for n in range(passengers)]
    content = ManifestContent(movement_id="mov_bench", organisation_id="org_reception_mb", flight=LEGS[-1],
                              destination_city="Winnipeg", passengers=people)
    return DocumentToRender(header=header(DocumentKind.ARRIVAL_MANIFEST, ["en"], "bench:manifest"), content=content)


def alternating(ours: Callable[[], object], bare: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median CPU seconds of each, after one unmeasured round of each; the order flips every round."""
    ours(), bare()
    timed: dict[str, list[float]] = {"ours": [], "bare": []}
    for index in range(rounds):
        order = [("ours", ours), ("bare", bare)] if index % 2 == 0 else [("bare", bare), ("ours", ours)]
        for name, run in order:
            started = time.thread_time()
            run()
            timed[name].append(time.thread_time() - started)
    return statistics.median(timed["ours"]), statistics.median(timed["bare"])


def measure(size: DocumentsBenchSize) -> SectionResult:
    # Imported here: loading WeasyPrint and building our font configuration would slow every other section's start.
    import weasyprint

    from documents.html import document_html, part_pages
    from documents.render import render_pdf

    pack = travel_pack()
    parts = part_pages(pack)

    def bare_pack() -> None:
        for part in parts:
            weasyprint.HTML(string=part).write_pdf()

    pack_ours, pack_bare = alternating(lambda: render_pdf(pack), bare_pack, size.rounds)

    manifest = arrival_manifest(size.passengers)
    page = document_html(manifest)
    manifest_ours, manifest_bare = alternating(lambda: render_pdf(manifest),
                                               lambda: weasyprint.HTML(string=page).write_pdf(), size.rounds)
    return {
        "cases": -(-size.passengers // PER_CASE),  # the families on the manifest
        "rounds": size.rounds,
        "passengers": size.passengers,
        "pack_parts": len(parts),
        "pack_languages": "+".join(pack.header.languages),
        "seconds": {"pack_ours": pack_ours, "pack_bare": pack_bare,
                    "manifest_ours": manifest_ours, "manifest_bare": manifest_bare},
        "pack_ours_ms": pack_ours * 1000,
        "pack_bare_ms": pack_bare * 1000,
        "manifest_ours_ms": manifest_ours * 1000,
        "manifest_bare_ms": manifest_bare * 1000,
        "rates": {"travel_packs": 1 / pack_ours, "bare_travel_packs": 1 / pack_bare,
                  "manifests": 1 / manifest_ours, "bare_manifests": 1 / manifest_bare},
        "ratios": {"pack_speedup_vs_bare": pack_bare / pack_ours, "manifest_vs_bare": manifest_ours / manifest_bare},
    }


@bench_section("documents", "PDF rendering against plain WeasyPrint",
               targets={"pack_speedup_vs_bare": Target(at_least=PACK_TARGET),
                        "manifest_vs_bare": Target(at_most=MANIFEST_TARGET)},
               rate_unit="documents/s")
async def documents_section(context: BenchContext) -> SectionResult:
    size = DocumentsBenchSize.from_environment()
    context.progress.print(f"[dim]documents: a travel pack and a {size.passengers}-passenger manifest, "
                           f"{size.rounds} rounds each against plain WeasyPrint[/]")
    return await asyncio.to_thread(measure, size)
