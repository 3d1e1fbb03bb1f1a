"""Fixtures of the unit tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# A job handler on fakes, for the use case's tests (service/) and the transport's (workers/).
from tests.unit.job_handlers import flaky_job, make_handler, real_stages

__all__ = ["flaky_job", "make_handler", "real_stages", "restored_logging"]


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
