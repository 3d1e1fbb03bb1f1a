"""The audit benchmark's table: medians per setting and the on/off verdict drawn from them."""

from __future__ import annotations

from bench.bench_audit import Rounds, report


def test_the_verdict_is_the_ratio_of_medians_against_the_target() -> None:
    found = {
        ("on", "CreateUploadSession"): Rounds([900.0, 950.0, 10.0], [2.0, 2.2, 2.4]),
        ("off", "CreateUploadSession"): Rounds([1000.0, 1000.0, 1000.0], [2.0, 2.0, 2.0]),
        ("on", "CompleteUpload"): Rounds([300.0, 310.0, 320.0], [8.0, 8.0, 8.0]),
        ("off", "CompleteUpload"): Rounds([400.0, 400.0, 400.0], [6.0, 6.0, 6.0]),
    }

    rows = report(found).splitlines()

    assert rows[2].startswith("| CreateUploadSession | 900 | 1,000 | 0.90 (met) |")
    assert rows[3].startswith("| CompleteUpload | 310 | 400 | 0.78 (**missed**) |")


def test_each_round_s_own_ratio_and_the_cpu_per_call_stand_beside_the_verdict() -> None:
    found = {
        ("on", "CreateUploadSession"): Rounds([900.0, 500.0, 100.0], [2.2, 2.2, 2.2]),
        ("off", "CreateUploadSession"): Rounds([1000.0, 100.0, 1000.0], [2.0, 2.0, 2.0]),
        ("on", "CompleteUpload"): Rounds([300.0, 300.0, 300.0], [8.0, 8.0, 8.0]),
        ("off", "CompleteUpload"): Rounds([300.0, 300.0, 300.0], [8.0, 8.0, 8.0]),
    }

    create = report(found).splitlines()[2]

    # Rounds' own ratios 0.90, 5.00 and 0.10: their median 0.90; CPU 2.2 ms on, 2.0 off.
    assert create.endswith("| 0.90 | 2.20 | 2.00 | 0.91 |")
