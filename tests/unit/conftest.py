"""Fixtures of the unit tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.migrations import upgrade_to_head

# A job handler on fakes, for the use case's tests (service/) and the transport's (workers/).
from tests.unit.job_handlers import flaky_job, make_handler, real_stages

__all__ = ["flaky_job", "make_handler", "real_stages", "restored_logging"]


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions of a migrated SQLite database of the test's own (a file under ``tmp_path``)."""
    engine = build_engine(f"sqlite:///{tmp_path / 'unit.db'}")
    upgrade_to_head(engine)
    yield build_session_factory(engine)
    engine.dispose()


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    logging.captureWarnings(False)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
