"""index for the lifecycle cleanup's sweeps by status and age"""

from __future__ import annotations

from alembic import op


revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_index("ix_media_status_updated", "media", ["status", "updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_media_status_updated", table_name="media")
