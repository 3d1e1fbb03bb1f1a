"""per-owner token buckets, shared by every server process: CreateUploadSession's (owner_limit,
also the owner's lock) and those of GetUploadPartUrls, CompleteUpload and RetryProcessing
(owner_call_rate)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "owner_limit",
        sa.Column("owner_id", sa.String(128), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
    )
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
    op.drop_table("owner_limit")
