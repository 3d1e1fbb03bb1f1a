"""The audit benchmark's table: medians per setting and the on/off verdict drawn from them."""

from __future__ import annotations

from bench.bench_audit import report


def test_the_verdict_is_the_ratio_of_medians_against_the_target() -> None:
    found = {
        ("on", "CreateUploadSession"): [900.0, 950.0, 10.0],
        ("off", "CreateUploadSession"): [1000.0, 1000.0, 1000.0],
        ("on", "CompleteUpload"): [300.0, 310.0, 320.0],
        ("off", "CompleteUpload"): [400.0, 400.0, 400.0],
    }

    rows = report(found).splitlines()

    assert rows[2] == "| CreateUploadSession | 900 | 1,000 | 0.90 (met) |"
    assert rows[3] == "| CompleteUpload | 310 | 400 | 0.78 (**missed**) |"
