"""dedupe: media.verified_sha256 (computed by the job), media.source_key (shared objects)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 18:40:00

Media READY before this revision have no verified sha256: they are never a dedupe match
(the job never hashed them), and their objects are their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

DEDUPE_CANDIDATES = "status = 'READY'"
SHARING = "source_key IS NOT NULL"


def upgrade() -> None:
    op.add_column("media", sa.Column("verified_sha256", sa.String(64)))
    op.add_column("media", sa.Column("source_key", sa.String(512)))
    op.create_index(
        "ix_media_dedupe",
        "media",
        ["owner_id", "purpose", "verified_sha256"],
        postgresql_where=sa.text(DEDUPE_CANDIDATES),
        sqlite_where=sa.text(DEDUPE_CANDIDATES),
    )
    op.create_index(
        "ix_media_source_key",
        "media",
        ["source_key"],
        postgresql_where=sa.text(SHARING),
        sqlite_where=sa.text(SHARING),
    )


def downgrade() -> None:
    op.drop_index("ix_media_source_key", table_name="media")
    op.drop_index("ix_media_dedupe", table_name="media")
    with op.batch_alter_table("media") as batch:
        batch.drop_column("source_key")
        batch.drop_column("verified_sha256")
