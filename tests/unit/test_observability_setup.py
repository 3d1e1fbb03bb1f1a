"""Log format defaults, warnings as log records, and the metrics endpoint's start-up."""

from __future__ import annotations

import json
import logging
import socket
import warnings
from pathlib import Path

import pytest
from PIL import Image

from media_grpc.cli import default_log_format
from media_grpc.config import Settings
from media_grpc.config.image import ImageSettings
from media_grpc.domain.model import Purpose
from media_grpc.domain.stage import StageJob
from media_grpc.observability.logs import bound, configure_logging, current_fields
from media_grpc.observability.metrics import serve_metrics
from workers.stages import generate_image_variants


def test_long_running_commands_log_json_in_production_and_text_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIA_ENVIRONMENT", "production")
    assert [default_log_format(c) for c in ("serve", "worker", "upload")] == [
        "json",
        "json",
        "text",
    ]
    monkeypatch.setenv("MEDIA_ENVIRONMENT", "development")
    assert default_log_format("serve") == "text"


def test_bound_fields_nest_and_unwind() -> None:
    with bound(request_id="r1", media_id="m1"):
        with bound(media_id="m2", job_id=""):
            assert current_fields() == {"request_id": "r1", "media_id": "m2"}
        assert current_fields() == {"request_id": "r1", "media_id": "m1"}
    assert current_fields() == {}


def test_a_taken_metrics_port_is_logged_and_the_process_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(metrics_host="127.0.0.1", metrics_port=port)
        with caplog.at_level(logging.ERROR):
            assert serve_metrics(settings) is None
    assert "metrics endpoint not started" in caplog.text
    assert serve_metrics(Settings(metrics_port=0)) is None


def test_configure_logging_replaces_the_root_handlers() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging("WARNING", "json")
        configure_logging("INFO", "text")
        assert len(root.handlers) == 1
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in before:
            root.addHandler(handler)


def test_text_lines_carry_the_bound_and_extra_fields() -> None:
    from media_grpc.observability.logs import BoundFieldsFilter, TextFormatter

    record = logging.LogRecord("media_grpc.rpc", logging.INFO, "", 0, "rpc", None, None)
    record.code = "OK"
    with bound(request_id="r9"):
        BoundFieldsFilter().filter(record)
    line = TextFormatter().format(record)
    assert line.endswith("INFO media_grpc.rpc rpc request_id=r9 code=OK")


@pytest.mark.usefixtures("restored_logging")
def test_pillow_warnings_are_json_records_in_a_json_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "broken-exif.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Testcam" * 10
    Image.new("RGB", (64, 48)).save(source, "JPEG", exif=exif.tobytes()[:-20])
    configure_logging("INFO", "json")
    work = tmp_path / "out"
    work.mkdir()
    job = StageJob("m-1", "u-1", Purpose.POST_IMAGE, "image/jpeg", "o/m-1")

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        generate_image_variants.run(job, source, work, ImageSettings())

    lines = capsys.readouterr().err.splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert [r["logger"] for r in records] == ["py.warnings"]
    assert "UserWarning: Truncated File Read" in records[0]["message"]
