"""Sample documents of every kind, fixed in time, so a rendering is the same on every run and every machine.

The family is an Afghan family of five resettled to Winnipeg through Istanbul: a transit, an escort, a wheelchair,
a TB class B1 traveller screened before the flight. Its medical file holds findings and a TB class, which only the
medical summary may print (see MEDICAL_SECRETS)."""

from __future__ import annotations

import io
import subprocess
import tempfile
from datetime import UTC, date, datetime
from functools import cache

import pikepdf

from domain.case import FunctionalNeed, Relationship, Sex
from domain.documents import (
    ChangeKind,
    ChecklistItem,
    DocumentHeader,
    DocumentKind,
    DocumentToRender,
    Escort,
    EscortKind,
    FitnessCertificateContent,
    FlightLeg,
    Issuer,
    ItineraryContent,
    Journey,
    ManifestChange,
    ManifestContent,
    ManifestPassenger,
    MedicalSummaryContent,
    OrientationRecord,
    Traveller,
    TravelPackContent,
    document_reference,
    document_subject,
    movement_id,
)
from domain.medical import (
    AssessmentResult,
    FitnessResult,
    MedicalFile,
    ScreeningResult,
    TbClass,
)
from domain.steps import Step, StepState

ISSUED_AT = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
ISSUER = Issuer(organisation_id="org_iom_kabul", name="IOM Resettlement Office Islamabad")
CASE_ID = "case_5f2a9c0d1e3b4a67"
CASE_REFERENCE = "ISB-2026-0417"
# What the medical summary prints and no other document may.
FINDING = "Healed pulmonary scar, sputum culture negative"
MEDICAL_SECRETS = (FINDING, "B1", "culture")

LEGS = [
    FlightLeg(flight_number="TK711", origin="ISB", destination="IST",
              departs_at=datetime(2026, 3, 10, 4, 5, tzinfo=UTC), arrives_at=datetime(2026, 3, 10, 9, 50, tzinfo=UTC)),
    FlightLeg(flight_number="TK17", origin="IST", destination="YYZ",
              departs_at=datetime(2026, 3, 10, 11, 40, tzinfo=UTC),
              arrives_at=datetime(2026, 3, 10, 22, 35, tzinfo=UTC)),
]

PEOPLE = [
    ("per_01a", "Mariam", "Haidari", date(1986, 3, 14), Sex.FEMALE, Relationship.PRINCIPAL, "P4410273", []),
    ("per_02b", "Ahmad", "Haidari", date(1983, 11, 2), Sex.MALE, Relationship.SPOUSE, "P4410274",
     [FunctionalNeed.WHEELCHAIR]),
    ("per_03c", "Zahra", "Haidari", date(2015, 6, 1), Sex.FEMALE, Relationship.CHILD, None, []),
    ("per_04d", "Omid", "Haidari", date(2017, 9, 23), Sex.MALE, Relationship.CHILD, "P4410276", []),
    ("per_05e", "Gul", "Rahimi", date(1950, 1, 1), Sex.FEMALE, Relationship.PARENT, "P4410277",
     [FunctionalNeed.OXYGEN, FunctionalNeed.FOLLOW_UP]),
]


def travellers(count: int = 5) -> list[Traveller]:
    return [Traveller(person_id=pid, given_name=given, family_name=family, date_of_birth=born, sex=sex,
                      nationality="AFG", relationship=relationship, travel_document_number=document,
                      functional_needs=needs)
            for pid, given, family, born, sex, relationship, document, needs in PEOPLE[:count]]


def journey(legs: list[FlightLeg] | None = None) -> Journey:
    return Journey(booking_ref="BK7Q2M", legs=legs or LEGS,
                   escorts=[Escort(kind=EscortKind.OPERATIONAL),
                            Escort(kind=EscortKind.MEDICAL, for_person_id="per_05e")],
                   special_service_requests=["WCHR", "MEDA"])


def header(kind: DocumentKind, languages: list[str], subject: str, version: int = 1) -> DocumentHeader:
    reference = document_reference(subject, version)
    return DocumentHeader(reference=reference, kind=kind, version=version, issued_at=ISSUED_AT, issuer=ISSUER,
                          verify_url=f"https://documents.example.org/verify/{reference}", languages=languages)


def medical_files() -> list[MedicalFile]:
    grandmother = "per_05e"
    return [
        MedicalFile(person_id=grandmother,
                    assessment=AssessmentResult(person_id=grandmother, exam_date=date(2026, 1, 20), tb_class=TbClass.B1,
                                                findings=FINDING, functional_needs=[FunctionalNeed.OXYGEN],
                                                examined_by="panel_physician_17"),
                    screening=ScreeningResult(person_id=grandmother, screened_on=date(2026, 2, 24), cleared=True,
                                              findings="Chest X-ray stable", examined_by="panel_physician_17"),
                    fitness=FitnessResult(person_id=grandmother, checked_at=datetime(2026, 3, 8, 10, 0, tzinfo=UTC),
                                          fit=True, functional_needs=[FunctionalNeed.OXYGEN],
                                          findings="SpO2 91% at rest", examined_by="clinic_isb")),
        MedicalFile(person_id="per_01a",
                    assessment=AssessmentResult(person_id="per_01a", exam_date=date(2026, 1, 20), tb_class=TbClass.NONE,
                                                examined_by="panel_physician_17")),
    ]


def travel_pack(languages: list[str], people: int = 5) -> DocumentToRender:
    checklist = [ChecklistItem(step=Step.EXIT_PERMIT, state=StepState.DONE, valid_until=date(2026, 6, 30)),
                 *[ChecklistItem(step=Step.TRAVEL_DOCUMENT, person_id=t.person_id, state=StepState.DONE,
                                 valid_until=date(2027, 3, 1)) for t in travellers(people)],
                 ChecklistItem(step=Step.ORIENTATION, state=StepState.DONE, valid_until=date(2026, 3, 28)),
                 ChecklistItem(step=Step.FITNESS_TO_TRAVEL, person_id="per_02b", state=StepState.SCHEDULED),
                 ChecklistItem(step=Step.FLIGHT_BOOKING, state=StepState.DONE)]
    content = TravelPackContent(case_id=CASE_ID, case_reference=CASE_REFERENCE, destination_country="CA",
                                destination_city="Winnipeg", travellers=travellers(people), journey=journey(),
                                checklist=checklist,
                                orientation=OrientationRecord(completed_on=date(2026, 2, 26), reference="PDO-ISB-0226",
                                                              language="fa"))
    subject = document_subject(DocumentKind.TRAVEL_PACK, case_id=CASE_ID)
    return DocumentToRender(header=header(DocumentKind.TRAVEL_PACK, languages, subject), content=content)


def itinerary(languages: list[str]) -> DocumentToRender:
    content = ItineraryContent(case_id=CASE_ID, case_reference=CASE_REFERENCE, travellers=travellers(),
                               journey=journey())
    subject = document_subject(DocumentKind.FLIGHT_ITINERARY, case_id=CASE_ID)
    return DocumentToRender(header=header(DocumentKind.FLIGHT_ITINERARY, languages, subject), content=content)


def fit_to_travel(languages: list[str], index: int = 4, fit: bool = True) -> DocumentToRender:
    traveller = travellers()[index]
    content = FitnessCertificateContent(case_id=CASE_ID, traveller=traveller, flight=LEGS[0], fit=fit,
                                        checked_at=datetime(2026, 3, 8, 10, 0, tzinfo=UTC), examined_by="clinic_isb")
    subject = document_subject(DocumentKind.FIT_TO_TRAVEL, case_id=CASE_ID, person_id=traveller.person_id)
    return DocumentToRender(header=header(DocumentKind.FIT_TO_TRAVEL, languages, subject), content=content)


def medical_summary(languages: list[str]) -> DocumentToRender:
    content = MedicalSummaryContent(case_id=CASE_ID, case_reference=CASE_REFERENCE, travellers=travellers(),
                                    files=medical_files())
    subject = document_subject(DocumentKind.MEDICAL_SUMMARY, case_id=CASE_ID)
    return DocumentToRender(header=header(DocumentKind.MEDICAL_SUMMARY, languages, subject), content=content)


GIVEN = ["Mariam", "Ahmad", "Zahra", "Omid", "Gul", "Farid", "Layla", "Yusuf", "Nadia", "Karim", "Samira", "Bilal"]
FAMILY = ["Haidari", "Rahimi", "Sultani", "Noori", "Karimi", "Azizi", "Ahmadzai", "Popal", "Wardak", "Safi"]
SHAPE = [Relationship.PRINCIPAL, Relationship.SPOUSE, Relationship.CHILD, Relationship.CHILD, Relationship.PARENT]


def passengers(count: int) -> list[ManifestPassenger]:
    """`count` passengers in families of up to five, ordered by case, as a roster lists them."""
    found = []
    for n in range(count):
        family, member = divmod(n, len(SHAPE))
        needs = [FunctionalNeed.WHEELCHAIR] if n % 17 == 4 else ([FunctionalNeed.FOLLOW_UP] if n % 23 == 1 else [])
        found.append(ManifestPassenger(
            case_id=f"case_{family:016x}", case_reference=f"ISB-2026-{family + 1000:04d}", person_id=f"per_{n:016x}",
            given_name=GIVEN[n % len(GIVEN)], family_name=FAMILY[family % len(FAMILY)],
            date_of_birth=date(1950 + n % 60, 1 + n % 12, 1 + n % 28), sex=Sex.FEMALE if n % 2 == 0 else Sex.MALE,
            nationality="AFG", relationship=SHAPE[member], functional_needs=needs))
    return found


def manifest(languages: list[str], count: int = 12, version: int = 1, final: bool = False) -> DocumentToRender:
    flight = LEGS[-1]
    movement = movement_id(flight.flight_number, flight.departs_at.date())
    people = passengers(count)
    changes = [] if version == 1 else [
        ManifestChange(change=ChangeKind.ADDED, case_id=people[-1].case_id, person_id=people[-1].person_id),
        ManifestChange(change=ChangeKind.CHANGED, case_id=people[0].case_id, person_id=people[0].person_id,
                       fields=["date_of_birth", "functional_needs"]),
        ManifestChange(change=ChangeKind.REMOVED, case_id="case_00000000000000ff", person_id="per_00000000000000ff"),
    ]
    content = ManifestContent(movement_id=movement, organisation_id="org_reception_mb", flight=flight,
                              destination_city="Winnipeg", passengers=people, changes=changes, final=final)
    subject = document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=movement, organisation_id="org_reception_mb")
    return DocumentToRender(header=header(DocumentKind.ARRIVAL_MANIFEST, languages, subject, version), content=content)


def every_kind(languages: list[str]) -> dict[str, DocumentToRender]:
    return {"travel_pack": travel_pack(languages), "flight_itinerary": itinerary(languages),
            "fit_to_travel": fit_to_travel(languages), "medical_summary": medical_summary(languages),
            "arrival_manifest": manifest(languages, version=2, final=True)}


# -- rendering once per test session, and reading the PDFs back -------------------------------------------------

LANGUAGE_CASES = {"en": ["en"], "fr": ["fr"], "ar": ["ar"], "prs": ["prs"], "prs+en": ["prs", "en"]}
# Bidirectional controls pdftotext inserts around right-to-left runs; they are not text anyone reads.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


@cache
def rendered(kind: str, case: str) -> bytes:
    """Each sample rendered once per session, whichever test file asks first."""
    from documents.render import render_pdf

    return render_pdf(every_kind(LANGUAGE_CASES[case])[kind])


def pdf_text(pdf: bytes, first: int | None = None, last: int | None = None) -> str:
    """What pdftotext reads, in layout mode: a table row stays one line."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
        done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", *pages, file.name, "-"],
                              capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def normalised(text: str) -> str:
    """Lines with their words single-spaced and no bidi controls: what the golden files hold."""
    lines = (" ".join(line.translate(BIDI_CONTROLS).split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line) + "\n"


def page_count(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return len(opened.pages)


def fonts_of(resources: pikepdf.Dictionary) -> list[pikepdf.Dictionary]:
    """Every font a page uses, including those inside its form XObjects and descendant CID fonts."""
    found = []
    for font in resources.get("/Font", {}).values():
        found.append(font)
        found.extend(font.get("/DescendantFonts", []))
    for xobject in resources.get("/XObject", {}).values():
        if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
            found.extend(fonts_of(xobject.Resources))
    return found


def assert_archivable(pdf_bytes: bytes, document: DocumentToRender) -> None:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        with pdf.open_metadata() as xmp:
            assert xmp["pdfaid:part"] == "3" and xmp["pdfaid:conformance"] == "U"
            assert xmp["xmp:CreateDate"] == ISSUED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")  # the header's date, no clock
            assert document.header.reference in xmp["dc:title"]
        intents = pdf.Root.OutputIntents
        assert any(i.S == "/GTS_PDFA1" and isinstance(i.DestOutputProfile, pikepdf.Stream) for i in intents)
        assert "/StructTreeRoot" in pdf.Root and pdf.Root.MarkInfo.Marked is True
        assert str(pdf.Root.Lang) == document.header.languages[0]
        fonts = [font for page in pdf.pages for font in fonts_of(page.Resources)]
        assert fonts
        for font in fonts:
            if font.Subtype == "/Type0":
                continue  # its glyphs are in the descendant font, checked on its own
            files = {"/FontFile", "/FontFile2", "/FontFile3"} & set(font.FontDescriptor.keys())
            assert files, f"{font.get('/BaseFont')} is not embedded"
