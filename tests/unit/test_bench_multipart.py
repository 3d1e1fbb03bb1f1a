"""The multipart benchmark's completion analysis: the server's rpc log read back, and the
report's words chosen from the figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import profiling
from bench.multipart_completion import (
    Ours,
    Round,
    completion_report,
    completion_verdict,
    parts_verdict,
)
from bench.multipart_reference import COMPLETION_CALLS, logged_durations

LIST, ASSEMBLE, GET = COMPLETION_CALLS


def test_logged_durations_reads_text_and_json_rpc_lines_of_one_method_by_media_id(
    tmp_path: Path,
) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "2026-11-28 06:19:12,101 INFO media_grpc.rpc rpc request_id=r1 "
        "method=/media.v1.MediaService/CompleteUpload media_id=m1 subject=s code=OK "
        "duration_ms=3180.23\n"
        "2026-11-28 06:19:12,200 INFO media_grpc.rpc rpc request_id=r2 "
        "method=/media.v1.MediaService/GetMedia media_id=m1 subject=s code=OK duration_ms=2.5\n"
        + json.dumps(
            {
                "message": "rpc",
                "method": "/media.v1.MediaService/CompleteUpload",
                "media_id": "m2",
                "duration_ms": 990.2,
            }
        )
        + "\nnot a log line\n"
    )
    assert logged_durations(log, "CompleteUpload") == {
        "m1": pytest.approx(3.18023),
        "m2": pytest.approx(0.9902),
    }


def a_round(*, after: float, server: float, assemble: float, waited: float = 0.001) -> Round:
    upload = Ours("m", whole=10.0, before=0.02, parts=2.0, after=after, waited=waited)
    return Round(upload, server, {LIST: 0.03, ASSEMBLE: assemble, GET: 0.5})


def test_a_difference_within_the_endpoints_own_spread_is_reported_as_not_resolved() -> None:
    rounds = [
        a_round(after=8.54, server=8.53, assemble=8.0),
        a_round(after=9.05, server=9.04, assemble=9.0),
        a_round(after=7.06, server=7.05, assemble=6.5),
    ]
    report = completion_report(rounds, small=[0.007, 0.008])
    assert "| ListParts | 0.030 | 0.03 / 0.03 / 0.03 |" in report
    assert "| sum (of the medians; per round) | 8.530 | 8.53 / 9.53 / 7.03 |" in report
    assert "| 1 | 8.54 | 8.53 | +0.01 | 10 | +0.00 |" in report
    assert "What ours adds beyond the storage calls: +10 ms, median" in report
    assert "within this endpoint's own round-to-round spread" in report
    assert "(6.50 to 9.00 s, 2.50 s apart)" in report


def test_a_difference_beyond_the_endpoints_spread_is_reported_as_ours() -> None:
    rounds = [
        a_round(after=9.53, server=9.52, assemble=8.0),
        a_round(after=9.63, server=9.62, assemble=8.1),
        a_round(after=9.43, server=8.92, assemble=7.9, waited=0.5),
    ]
    report = completion_report(rounds, small=[0.007])
    assert "What ours adds beyond the storage calls: +1000 ms" in report
    assert "ours adds time beyond the storage calls, 10 ms of it outside" in report
    assert "+0.99 s inside" in report


def test_time_within_counts_only_the_handlers_samples_by_the_outermost_part_below_it(
    tmp_path: Path,
) -> None:
    handler = (
        "thread (0x1);run (threading.py:1);UploadCompletion.complete "
        "(media_grpc/service/completion.py:54);UploadCompletion._complete "
        "(media_grpc/service/completion.py:72)"
    )
    raw = tmp_path / "profile.txt"
    raw.write_text(
        f"{handler};S3BlobStorage.read_start (media_grpc/adapters/s3_storage.py:244);"
        "BaseClient._make_api_call (botocore/client.py:1076) 30\n"
        f"{handler};UploadCompletion._mark_uploaded (media_grpc/service/completion.py:99) 2\n"
        f"{handler};copy (copy.py:1) 1\n"
        "thread (0x2);S3BlobStorage.read_start (media_grpc/adapters/s3_storage.py:244) 50\n"
    )
    parts = (("read_start", "s3_storage.py"), ("_mark_uploaded", "service/completion.py"))
    assert profiling.time_within(raw, "service/completion.py", parts, rate=100) == {
        "read_start": pytest.approx(0.30),
        "_mark_uploaded": pytest.approx(0.02),
        "other": pytest.approx(0.01),
    }


def test_the_completion_verdict_sets_the_big_files_p99_against_the_small_ones() -> None:
    small = [0.010] * 98 + [0.020, 0.030]
    report = completion_verdict([0.030, 0.050, 0.040], small, 3.0, 1024)
    assert "the 1024 MiB multipart file, p99 of 3 (the slowest; assembly included) 50 ms" in report
    assert "a 1 KiB single PUT, p99 of 100 interleaved calls 20.0 ms (median 10.0 ms)" in report
    assert "Ratio 2.5x; target <= 3x. **Met.**" in report


def test_the_completion_verdict_is_missed_above_the_target() -> None:
    report = completion_verdict([0.100], [0.010, 0.010], 3.0, 1024)
    assert "Ratio 10.0x; target <= 3x. **Missed.**" in report


def test_the_completion_call_alone_leaves_out_the_clients_wait_for_its_hash() -> None:
    upload = Ours("m", whole=10.0, before=0.02, parts=2.0, after=0.9, waited=0.6)
    assert upload.complete_call == pytest.approx(0.3)


def test_the_parts_verdict_puts_the_gap_on_the_store_when_raw_parts_are_as_slow() -> None:
    verdict = parts_verdict(whole=14.5, ours_parts=14.2, raw_parts=13.0, raw_put=6.0)
    assert "the same parts sent raw (13.00 s) reach 0.46x one raw PUT (6.00 s)" in verdict
    assert "Ours' part transfers (14.20 s) reach 0.92x the same parts sent raw" in verdict
    assert "the session and completion add 0.30 s" in verdict
    assert verdict.endswith("Most of the gap is the store's.")


def test_the_parts_verdict_puts_the_gap_on_our_client_when_raw_parts_are_fast() -> None:
    verdict = parts_verdict(whole=14.5, ours_parts=14.2, raw_parts=6.5, raw_put=6.0)
    assert verdict.endswith("Most of the gap is our client's.")


def test_the_parts_verdict_says_when_store_and_client_cost_about_the_same() -> None:
    verdict = parts_verdict(whole=14.3, ours_parts=13.96, raw_parts=8.64, raw_put=5.43)
    assert verdict.endswith("The store and our client cost about as much as each other.")
