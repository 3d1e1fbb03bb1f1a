"""dedupe: media.verified_sha256 (computed by the job), media.source_key (shared objects)

Media READY before this revision have no verified sha256: they are never a dedupe match
(the job never hashed them), and their objects are their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from media_grpc.migrations.partial_index import create_partial_index

revision = "0008"
down_revision = "0007"

DEDUPE_CANDIDATES = "status = 'READY'"
SHARING = "source_key IS NOT NULL"


def upgrade() -> None:
    op.add_column("media", sa.Column("verified_sha256", sa.String(64)))
    op.add_column("media", sa.Column("source_key", sa.String(512)))
    create_partial_index(
        "ix_media_dedupe", "media", ["owner_id", "purpose", "verified_sha256"], DEDUPE_CANDIDATES
    )
    create_partial_index("ix_media_source_key", "media", ["source_key"], SHARING)


def downgrade() -> None:
    op.drop_index("ix_media_source_key", table_name="media")
    op.drop_index("ix_media_dedupe", table_name="media")
    with op.batch_alter_table("media") as batch:
        batch.drop_column("source_key")
        batch.drop_column("verified_sha256")
