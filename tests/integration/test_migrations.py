"""The Alembic migrations build exactly the schema orm.py declares, and undo it cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, UniqueConstraint, inspect

from media_grpc.adapters.database import build_engine
from media_grpc.adapters.migrations import alembic_config, upgrade_to_head
from media_grpc.adapters.orm import Base

Index = tuple[str, tuple[str, ...], bool]
Schema = dict[str, tuple[set[str], set[Index], set[tuple[str, ...]]]]


def declared() -> Schema:
    """orm.py's tables: their columns, their indexes (name, columns, unique) and the columns of
    their unique constraints."""
    return {
        table.name: (
            {c.name for c in table.columns},
            {
                (str(i.name), tuple(c.name for c in i.columns), bool(i.unique))
                for i in table.indexes
            },
            {
                tuple(c.name for c in u.columns)
                for u in table.constraints
                if isinstance(u, UniqueConstraint)
            },
        )
        for table in Base.metadata.sorted_tables
    }


def schema(engine: Engine) -> Schema:
    """What the database holds: the same shape as ``declared()`` (without alembic_version)."""
    found = inspect(engine)
    return {
        table: (
            {c["name"] for c in found.get_columns(table)},
            {
                (str(i["name"]), tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                for i in found.get_indexes(table)
                if "duplicates_constraint" not in i  # PostgreSQL's index behind a UNIQUE
            },
            {tuple(u["column_names"]) for u in found.get_unique_constraints(table)},
        )
        for table in found.get_table_names()
        if table != "alembic_version"
    }


def migrate(engine: Engine, verb: str, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("own_database_url"))
    else:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    built = build_engine(url)
    request.addfinalizer(built.dispose)
    upgrade_to_head(built)
    return built


def test_upgraded_schema_has_the_declared_tables_columns_and_indexes(engine: Engine) -> None:
    found = schema(engine)
    assert {"media", "media_variant", "outbox", "owner_call_rate"} <= set(found)
    assert found["owner_call_rate"][0] == {"owner_id", "call", "tokens", "refilled_at", "admitted"}
    assert ("storage_key",) in found["media"][2]
    assert found == declared()
    assert ("ix_outbox_pending", ("published_at", "available_at"), False) in found["outbox"][1]
    assert ("ix_media_status_updated", ("status", "updated_at"), False) in found["media"][1]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"orm.py and the migrations differ; add a migration: {diff}"


def test_downgrade_to_base_removes_everything_and_upgrade_builds_it_again(
    engine: Engine,
) -> None:
    migrate(engine, "downgrade", "base")
    assert schema(engine) == {}

    upgrade_to_head(engine)
    assert schema(engine) == declared()


def test_each_step_down_and_up_again_returns_to_the_same_schema(engine: Engine) -> None:
    migrate(engine, "downgrade", "-1")
    assert schema(engine) != declared(), "the last migration's downgrade changed nothing"

    upgrade_to_head(engine)
    assert schema(engine) == declared()


def test_upgrading_an_up_to_date_database_changes_nothing(engine: Engine) -> None:
    before = schema(engine)
    upgrade_to_head(engine)
    assert schema(engine) == before == declared()
