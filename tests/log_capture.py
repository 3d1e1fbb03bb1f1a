"""A logger's records as the service formats them, captured in memory for a test."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from media_grpc.observability.logs import BoundFieldsFilter


@contextmanager
def captured(logger_name: str, formatter: logging.Formatter) -> Iterator[io.StringIO]:
    """What ``logger_name`` writes at INFO and above while the block runs, with the bound
    fields (request id, method, media id) that the service's handlers add."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(BoundFieldsFilter())
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
