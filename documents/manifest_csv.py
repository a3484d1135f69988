"""The arrival manifest as a spreadsheet the reception team can load into its own systems.

Plain UTF-8 (no byte-order mark), comma-separated, CRLF line ends as RFC 4180 has them, every field quoted only
when it must be. The columns are fixed and named in English, whatever language the PDF is in, so a receiving
system maps them once:

    document_reference, version, movement_id, final, flight, departs_at,
    case_reference, person_id, given_name, family_name, date_of_birth, sex, nationality, relationship,
    functional_needs

The first six repeat the document's own header on every row (so a row pasted elsewhere still says which version
of which movement it came from); then one row per passenger, in the manifest's order. Dates are ISO 8601, the
departure in UTC; sex, relationship and needs are the domain's codes (`F`, `spouse`, `wheelchair`), several needs
joined by `;`. `person_id` is the opaque id amendments name, so a row can be matched across versions. Functional
needs only: a manifest never carries a diagnosis. A text field that a spreadsheet would run as a formula (it starts
with =, +, -, @, a tab or a carriage return) is written with a leading apostrophe, so opening the file runs
nothing. The same document gives the same bytes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from domain.documents import DocumentToRender, ManifestContent

COLUMNS = ("document_reference", "version", "movement_id", "final", "flight", "departs_at",
           "case_reference", "person_id", "given_name", "family_name", "date_of_birth", "sex", "nationality",
           "relationship", "functional_needs")


class NotAManifest(TypeError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"only an arrival manifest has a CSV form, not a {kind}")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _utc(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest_csv(document: DocumentToRender) -> bytes:
    content = document.content
    if not isinstance(content, ManifestContent):
        raise NotAManifest(document.header.kind.value)
    header = document.header
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    about = [header.reference, header.version, content.movement_id, "yes" if content.final else "no",
             _text(content.flight.flight_number), _utc(content.flight.departs_at)]
    for p in content.passengers:
        writer.writerow([*about, _text(p.case_reference), p.person_id, _text(p.given_name), _text(p.family_name),
                         p.date_of_birth.isoformat(), p.sex.value, _text(p.nationality), p.relationship.value,
                         ";".join(need.value for need in p.functional_needs)])
    return out.getvalue().encode("utf-8")
