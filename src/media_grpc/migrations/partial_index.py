"""A partial index, the same on PostgreSQL and SQLite, for the revisions in versions/."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_partial_index(name: str, table: str, columns: list[str], where: str) -> None:
    """``CREATE INDEX name ON table (columns) WHERE where`` on either database."""
    op.create_index(
        name,
        table,
        columns,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )
