"""Keep what a partner issued apart from the reference its callbacks name, and find steps by that reference.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("step_results") as batch:
        batch.add_column(sa.Column("document_number", sa.String(128), nullable=True))
        batch.create_index("ix_step_results_reference", ["reference"])


def downgrade() -> None:
    with op.batch_alter_table("step_results") as batch:
        batch.drop_index("ix_step_results_reference")
        batch.drop_column("document_number")
