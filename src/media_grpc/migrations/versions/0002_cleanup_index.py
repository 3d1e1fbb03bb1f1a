"""index for the lifecycle cleanup's sweeps by status and age

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:55:00
"""

from __future__ import annotations

from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_media_status_updated", "media", ["status", "updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_media_status_updated", table_name="media")
