"""Log fields from requests are cut and escaped by the formatters, whatever the call site."""

from __future__ import annotations

import json
import logging

from media_grpc.observability.logs import (
    FIELD_CHARS,
    BoundFieldsFilter,
    JsonFormatter,
    TextFormatter,
    bound,
    clip,
)


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("media_grpc.rpc", logging.INFO, __file__, 1, message, args, None)
    entry.__dict__.update(extra)
    BoundFieldsFilter().filter(entry)
    return entry


def test_clip_cuts_long_values_and_escapes_control_characters() -> None:
    assert clip("a\nb\rc\x00d\u2028") == "a\\nb\\rc\\x00d\\u2028"
    assert clip("U" * 1000) == "U" * FIELD_CHARS + f"...(+{1000 - FIELD_CHARS} chars)"


def test_text_lines_cannot_be_forged_by_bound_or_extra_fields_or_messages() -> None:
    with bound(media_id="m\nFAKE LINE", request_id="r" * 10_000):
        line = TextFormatter().format(record("got %s", "x\ny", code="OK\nFAKE"))
    assert "\n" not in line
    assert len(line) < 1000
    assert "media_id=m\\nFAKE LINE" in line and "got x\\ny" in line


def test_json_fields_are_cut_and_numbers_stay_numbers() -> None:
    with bound(media_id="U" * 4_000_000):
        entry = json.loads(JsonFormatter().format(record("rpc", duration_ms=1.5, code="OK")))
    assert len(entry["media_id"]) < FIELD_CHARS + 40
    assert entry["duration_ms"] == 1.5


def test_an_exception_trace_keeps_its_lines_in_text_format() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        entry = record("failed")
        entry.exc_info = sys.exc_info()
    text = TextFormatter().format(entry)
    assert text.splitlines()[0].endswith("failed")
    assert "ValueError: boom" in text
