"""Versioned documents with their PDFs, and the movement each booking belongs to.

The `documents` table of 0001 was never written to (nothing rendered documents before this revision), so it is
replaced rather than altered: versions now share a subject, keep the content they were rendered from, and point at
their PDF by SHA-256 in `document_contents`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in store.types, so this revision never changes under it.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def _movement_id(flight_number: str, departs_on: str) -> str:
    """A frozen copy of domain.documents.movement_id."""
    digest = hashlib.sha256(f"{flight_number.upper()}|{departs_on}".encode()).hexdigest()[:16]
    return f"mov_{digest}"


def upgrade() -> None:
    op.drop_index("ix_documents_case_id", table_name="documents")
    op.drop_table("documents")
    op.create_table(
        "documents",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("movement_id", sa.String(64), nullable=True),
        sa.Column("organisation_id", sa.String(64), nullable=True),
        sa.Column("languages", Json, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("content", Json, nullable=False),
        sa.Column("issued_at", Timestamp, nullable=False),
        sa.Column("generated_by", sa.String(128), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("superseded_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("document_id", name="pk_documents"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"], name="fk_documents_case_id_cases",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("subject", "version", name="uq_documents_subject_version"),
    )
    op.create_index("ix_documents_subject", "documents", ["subject"])
    op.create_index("ix_documents_case_id", "documents", ["case_id"])
    op.create_index("ix_documents_movement_id", "documents", ["movement_id"])
    op.create_index("ix_documents_organisation_id", "documents", ["organisation_id"])
    op.create_table(
        "document_contents",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_document_contents"),
    )

    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("movement_id", sa.String(64), nullable=True))
        batch.create_index("ix_bookings_movement_id", ["movement_id"])
    bookings = sa.table("bookings", sa.column("id", sa.Integer), sa.column("flight_number", sa.String),
                        sa.column("departs_at", Timestamp), sa.column("movement_id", sa.String))
    connection = op.get_bind()
    for row in connection.execute(sa.select(bookings.c.id, bookings.c.flight_number, bookings.c.departs_at)).all():
        departs_on = row.departs_at.date().isoformat() if hasattr(row.departs_at, "date") else str(row.departs_at)[:10]
        connection.execute(bookings.update().where(bookings.c.id == row.id)
                           .values(movement_id=_movement_id(row.flight_number, departs_on)))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_index("ix_bookings_movement_id")
        batch.drop_column("movement_id")
    op.drop_table("document_contents")
    for index in ("ix_documents_organisation_id", "ix_documents_movement_id", "ix_documents_case_id",
                  "ix_documents_subject"):
        op.drop_index(index, table_name="documents")
    op.drop_table("documents")
    op.create_table(
        "documents",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_path", sa.Text(), nullable=False),
        sa.Column("generated_by", sa.String(128), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("superseded_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("document_id", name="pk_documents"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"], name="fk_documents_case_id_cases",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_documents_case_id", "documents", ["case_id"])
