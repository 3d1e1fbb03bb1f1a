"""Alembic environment: the URL comes from the caller's config, the metadata from orm.py."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from media_grpc.adapters.orm import Base


def run_migrations(connection: Connection) -> None:
    """Migrate over ``connection``; SQLite alters tables in batch (copy and move)."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    run_migrations(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        run_migrations(conn)
