"""Reception teams acknowledge the manifest versions they read on the web pages.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in store.types / store.acknowledgement_models.
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "manifest_acknowledgements",
        sa.Column("movement_id", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document_reference", sa.String(64), nullable=False),
        sa.Column("acknowledged_by", sa.String(128), nullable=False),
        sa.Column("acknowledged_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("movement_id", "organisation_id", "version", name="pk_manifest_acknowledgements"),
    )


def downgrade() -> None:
    op.drop_table("manifest_acknowledgements")
