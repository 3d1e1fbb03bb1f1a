"""`media-grpc migrate`: apply the database migrations to MEDIA_DATABASE_URL."""

from __future__ import annotations

import argparse

from media_grpc.commands import Subparsers, add_command
from media_grpc.config import Settings


def register(subparsers: Subparsers) -> None:
    add_command(subparsers, "migrate", run)


def run(_args: argparse.Namespace) -> int:
    """apply database migrations"""
    from media_grpc.adapters.database import build_engine
    from media_grpc.adapters.migrations import upgrade_to_head

    settings = Settings()
    engine = build_engine(settings.resolved_database_url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
    return 0
