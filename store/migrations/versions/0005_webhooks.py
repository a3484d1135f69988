"""Reception teams' webhook endpoints, and the status of every manifest delivery to them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in store.types / store.webhook_models, so this revision never changes under it.
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reception_endpoints",
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_reception_endpoints"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("movement_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document_reference", sa.String(64), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", Timestamp, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.Column("acknowledged_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_movement_id", "webhook_deliveries", ["movement_id"])
    op.create_index("ix_webhook_deliveries_status", "webhook_deliveries", ["status"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_status", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_movement_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("reception_endpoints")
