"""late-PUT sweep of completed media: media.upload_swept_at and its partial index

Media completed before this revision kept their original at the upload key (no frozen copy
under ``originals/``): they are marked swept, so that the sweep never deletes their original.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from media_grpc.migrations.partial_index import create_partial_index


revision = "0005"
down_revision = "0004"

UNSWEPT = "etag IS NOT NULL AND upload_swept_at IS NULL"


def upgrade() -> None:
    op.add_column("media", sa.Column("upload_swept_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE media SET upload_swept_at = updated_at "
        "WHERE etag IS NOT NULL AND status IN ('READY', 'FAILED', 'DELETED')"
    )
    create_partial_index("ix_media_unswept_uploads", "media", ["expires_at"], UNSWEPT)


def downgrade() -> None:
    op.drop_index("ix_media_unswept_uploads", table_name="media")
    with op.batch_alter_table("media") as batch:
        batch.drop_column("upload_swept_at")
