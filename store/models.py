"""The tables. Names follow the domain; every table hanging off a case goes when the case goes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.types import JsonDocument, UtcDateTime

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets the wider type for long-lived logs.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

ID = 64  # opaque ids: case_, per_, organisation and office ids


def case_fk() -> ForeignKey:
    return ForeignKey("cases.case_id", ondelete="CASCADE")


# Named constraints, so later migrations (SQLite rebuilds tables to alter them) can refer to them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonDocument, list[str]: JsonDocument}


class CaseRow(Base):
    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    office_id: Mapped[str] = mapped_column(String(ID), index=True)
    medical_partner_id: Mapped[str] = mapped_column(String(ID))
    destination_country: Mapped[str] = mapped_column(String(2))
    destination_city: Mapped[str] = mapped_column(String(100))
    receiving_organisation: Mapped[str] = mapped_column(String(ID))
    priority: Mapped[int] = mapped_column(Integer)
    approved_on: Mapped[date]
    departure_phase: Mapped[str | None] = mapped_column(String(32), index=True)
    departure_reason: Mapped[str | None] = mapped_column(Text)
    # The audit sequence of the departure's last applied save: an older save, landing late, leaves the phase.
    progress_sequence: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PersonRow(Base):
    __tablename__ = "people"

    person_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    case_id: Mapped[str] = mapped_column(case_fk(), index=True)
    position: Mapped[int] = mapped_column(Integer, doc="order within the case, principal usually first")
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))
    nationality: Mapped[str] = mapped_column(String(3))
    languages: Mapped[list[str]]
    relationship: Mapped[str] = mapped_column(String(16))
    passport_number: Mapped[str | None] = mapped_column(String(20))
    passport_issuing_country: Mapped[str | None] = mapped_column(String(3))
    passport_expires_on: Mapped[date | None]
    functional_needs: Mapped[list[str]]


class StepResultRow(Base):
    __tablename__ = "step_results"
    __table_args__ = (UniqueConstraint("case_id", "step_key"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(case_fk())
    step_key: Mapped[str] = mapped_column(String(128))
    step: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str | None] = mapped_column(String(ID))
    state: Mapped[str] = mapped_column(String(32), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(128), index=True, doc="what partners' callbacks name")
    document_number: Mapped[str | None] = mapped_column(String(128))
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    due_by: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(doc="the departure's own time of the change")


class MedicalResultRow(Base):
    """Restricted: diagnoses and test results, for medical roles only. Read through Store.medical_files."""

    __tablename__ = "medical_results"
    __table_args__ = (UniqueConstraint("case_id", "person_id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(case_fk())
    person_id: Mapped[str] = mapped_column(String(ID))
    payload: Mapped[dict[str, Any]] = mapped_column(doc="a domain.medical.MedicalFile")
    # The save that wrote it (see CaseRow.progress_sequence): a late retried save cannot replace a newer result.
    progress_sequence: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class BookingRow(Base):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    case_id: Mapped[str] = mapped_column(case_fk(), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    booking_ref: Mapped[str] = mapped_column(String(64))
    flight_number: Mapped[str] = mapped_column(String(32))
    movement_id: Mapped[str | None] = mapped_column(String(ID), index=True, doc="domain.documents.movement_id")
    departs_at: Mapped[datetime]
    arrives_at: Mapped[datetime]
    origin: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(64))
    seats: Mapped[int] = mapped_column(Integer)
    special_service_requests: Mapped[list[str]]
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class DocumentRow(Base):
    """One version of a generated document. Versions of the same subject (a family's travel pack, a movement's
    manifest for one organisation) supersede each other; the PDF itself is in `document_contents`."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("subject", "version"),)

    document_id: Mapped[str] = mapped_column(String(ID), primary_key=True, doc="the reference printed on the paper")
    subject: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[str | None] = mapped_column(case_fk(), index=True, doc="empty for documents about a movement")
    person_id: Mapped[str | None] = mapped_column(String(ID))
    movement_id: Mapped[str | None] = mapped_column(String(ID), index=True)
    organisation_id: Mapped[str | None] = mapped_column(String(ID), index=True, doc="the receiving organisation")
    languages: Mapped[list[str]]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64), doc="of the content alone, so a repeat adds no version")
    content: Mapped[dict[str, Any]] = mapped_column(doc="the domain.documents.DocumentToRender it was rendered from")
    issued_at: Mapped[datetime]
    generated_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    superseded_by: Mapped[str | None] = mapped_column(String(ID))


class DocumentContentRow(Base):
    """The PDF bytes, by their SHA-256: identical renderings are stored once."""

    __tablename__ = "document_contents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)


class AuditRow(Base):
    """Append-only: the database itself refuses UPDATE and DELETE (triggers in the initial migration)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "object_id", "at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(255), unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(128))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]]


# The identity tables live in their own module; importing it here puts them in Base.metadata for the migrations.
import store.acknowledgement_models  # noqa: E402, F401
import store.identity_models  # noqa: E402, F401
import store.webhook_models  # noqa: E402, F401
