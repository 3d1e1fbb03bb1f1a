"""The Alembic migrations build exactly the schema orm.py declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from media_grpc.adapters.database import build_engine
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.orm import Base


def test_migrated_postgres_schema_matches_the_orm(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"orm.py and the migrations differ; add a migration: {diff}"


def test_upgrading_an_up_to_date_database_changes_nothing(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        upgrade_to_head(engine)
        upgrade_to_head(engine)
    finally:
        engine.dispose()
