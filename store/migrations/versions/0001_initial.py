"""The initial schema: cases and people, departure progress, documents, and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in store.types / store.models, so this revision never changes under it.
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

APPEND_ONLY_MESSAGE = "audit_log is append-only"


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("office_id", sa.String(64), nullable=False),
        sa.Column("medical_partner_id", sa.String(64), nullable=False),
        sa.Column("destination_country", sa.String(2), nullable=False),
        sa.Column("destination_city", sa.String(100), nullable=False),
        sa.Column("receiving_organisation", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=False),
        sa.Column("departure_phase", sa.String(32), nullable=True),
        sa.Column("departure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_cases"),
    )
    op.create_index("ix_cases_office_id", "cases", ["office_id"])
    op.create_index("ix_cases_departure_phase", "cases", ["departure_phase"])

    op.create_table(
        "people",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("nationality", sa.String(3), nullable=False),
        sa.Column("languages", Json, nullable=False),
        sa.Column("relationship", sa.String(16), nullable=False),
        sa.Column("passport_number", sa.String(20), nullable=True),
        sa.Column("passport_issuing_country", sa.String(3), nullable=True),
        sa.Column("passport_expires_on", sa.Date(), nullable=True),
        sa.Column("functional_needs", Json, nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_people"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.case_id"], name="fk_people_case_id_cases", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_people_case_id", "people", ["case_id"])

    op.create_table(
        "step_results",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("step_key", sa.String(128), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(128), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("due_by", Timestamp, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_step_results"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.case_id"], name="fk_step_results_case_id_cases", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("case_id", "step_key", name="uq_step_results_case_id_step_key"),
    )
    op.create_index("ix_step_results_state", "step_results", ["state"])

    op.create_table(
        "medical_results",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_medical_results"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.case_id"], name="fk_medical_results_case_id_cases", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("case_id", "person_id", name="uq_medical_results_case_id_person_id"),
    )

    op.create_table(
        "bookings",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("booking_ref", sa.String(64), nullable=False),
        sa.Column("flight_number", sa.String(32), nullable=False),
        sa.Column("departs_at", Timestamp, nullable=False),
        sa.Column("arrives_at", Timestamp, nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("special_service_requests", Json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bookings"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.case_id"], name="fk_bookings_case_id_cases", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_bookings_idempotency_key"),
    )
    op.create_index("ix_bookings_case_id", "bookings", ["case_id"])

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
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.case_id"], name="fk_documents_case_id_cases", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_documents_case_id", "documents", ["case_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(255), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("detail", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("event_key", name="uq_audit_log_event_key"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_object_id_at", "audit_log", ["object_id", "at"])
    _forbid_audit_changes()


def _forbid_audit_changes() -> None:
    """Whoever holds the database credentials still cannot rewrite or erase the trail from the application."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'restrict_violation';
            END;
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        # Row triggers do not see TRUNCATE, which would otherwise empty the log in one statement.
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("audit_log")
    op.drop_table("documents")
    op.drop_table("bookings")
    op.drop_table("medical_results")
    op.drop_table("step_results")
    op.drop_table("people")
    op.drop_table("cases")
