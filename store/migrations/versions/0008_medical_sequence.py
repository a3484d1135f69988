"""Each medical file remembers the progress sequence of the save that wrote it.

A save retried after its worker was killed can land after a newer one holding a later result for the same
traveller; the file is replaced only by a save at least as far along, so the newer result is not overwritten.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("medical_results", sa.Column("progress_sequence", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("medical_results") as batch:
        batch.drop_column("progress_sequence")
