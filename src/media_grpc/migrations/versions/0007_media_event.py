"""the audit trail: one row per change to a media, kept past the media"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "media_event",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("media_id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(128), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("on_behalf_of", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.create_index("ix_media_event_media", "media_event", ["media_id", "sequence"])
    op.create_index("ix_media_event_owner", "media_event", ["owner_id", "sequence"])
    op.create_index("ix_media_event_occurred", "media_event", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_media_event_occurred", table_name="media_event")
    op.drop_index("ix_media_event_owner", table_name="media_event")
    op.drop_index("ix_media_event_media", table_name="media_event")
    op.drop_table("media_event")
