"""one current profile image per owner: the pointer, and the row locked per owner"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "profile_image",
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("media_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("owner_id"),
    )


def downgrade() -> None:
    op.drop_table("profile_image")
