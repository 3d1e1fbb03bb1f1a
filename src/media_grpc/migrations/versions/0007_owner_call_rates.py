"""per-owner token buckets of GetUploadPartUrls, CompleteUpload and RetryProcessing, shared by
every server process

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owner_call_rate",
        sa.Column("owner_id", sa.String(128), primary_key=True),
        sa.Column("call", sa.String(32), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
        sa.Column("admitted", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("owner_call_rate")
