"""Structured logs: one JSON object per line, carrying the request id and media id of the
RPC or job being handled (bound through contextvars, so no call site passes them along).

Fields come from requests (ids, subjects), so both formatters bound them: each field value is
cut to ``FIELD_CHARS`` characters and control characters are escaped, and in the text format
the message is escaped too, so a newline in a media id cannot forge a log line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["json", "text"]

#: Fields bound to the current RPC or job: request_id, media_id, subject, job_id, ...
_bound: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "log_fields", default=None
)

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


#: Characters kept of one field value (a request's id, subject, method, ...).
FIELD_CHARS = 128
#: Characters kept of a message (a message that names a request's value stays bounded).
MESSAGE_CHARS = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def clip(value: object, limit: int = FIELD_CHARS) -> str:
    """``value`` as one bounded line: control characters escaped (``\\n``), cut to ``limit``
    characters with a note of how many were left out."""
    text = str(value)
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit]
    text = _CONTROL.sub(_escape, text)
    return f"{text}...(+{cut} chars)" if cut > 0 else text


def _bounded(value: Any) -> Any:
    """Numbers and booleans as they are; anything else clipped."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return clip(value)


@contextmanager
def bound(**fields: str) -> Iterator[dict[str, str]]:
    """Bind ``fields`` to every log record emitted inside the block (and in what it calls).

    Yields the bound dict: code inside may add fields (``bind()``) that stay until the block ends.
    """
    merged = {**(_bound.get() or {}), **{k: v for k, v in fields.items() if v}}
    token = _bound.set(merged)
    try:
        yield merged
    finally:
        _bound.reset(token)


def bind(**fields: str) -> None:
    """Add fields to the innermost ``bound()`` block (e.g. the subject once it is known)."""
    current = _bound.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v})


def current_fields() -> dict[str, str]:
    return dict(_bound.get() or {})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The bound fields, then whatever the call passed in ``extra=``."""
    fields: dict[str, Any] = dict(getattr(record, "bound", None) or {})
    for key, value in record.__dict__.items():
        if key not in _RECORD_ATTRIBUTES and key != "bound":
            fields[key] = value
    return {clip(key, 64): _bounded(value) for key, value in fields.items()}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...bound fields, ...extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": clip(record.getMessage(), MESSAGE_CHARS),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the bound and extra fields appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = clip(record.message, MESSAGE_CHARS)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        line, _, trace = super().format(record).partition("\n")
        extra = "".join(f" {k}={v}" for k, v in _fields(record).items())
        return line + extra + ("\n" + trace if trace else "")


class BoundFieldsFilter(logging.Filter):
    """Copies the bound fields onto each record (as ``record.bound``) for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.bound = current_fields()
        return True


def configure_logging(level: str = "INFO", fmt: LogFormat = "text") -> None:
    """Log to stderr in ``fmt``; replaces whatever handlers the root logger had."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(BoundFieldsFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Library warnings (Pillow's UserWarnings on broken EXIF or a malformed MPO, ...) become
    # records of the ``py.warnings`` logger, so a JSON log holds only JSON lines. Hooked again
    # each time, in case something replaced ``warnings.showwarning`` since the last call.
    logging.captureWarnings(False)
    logging.captureWarnings(True)


def logging_setup() -> tuple[str, LogFormat] | None:
    """(level, format) of the logging ``configure_logging`` set up here, None when it did not.

    Child processes (the stage pool's) pass it to ``configure_logging`` to log the same way.
    """
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter | TextFormatter):
            fmt: LogFormat = "json" if isinstance(handler.formatter, JsonFormatter) else "text"
            return logging.getLevelName(root.level), fmt
    return None
