"""The dedupe benchmark's table: medians, the ratio to CreateUploadSession and the verdict."""

from __future__ import annotations

from bench.bench_dedupe import Timings, report


def test_the_verdict_needs_the_ratio_of_medians_within_target_and_no_byte_sent() -> None:
    found = {
        "fast": Timings(create=[0.010, 0.011, 0.5], hit=[0.020, 0.025, 0.030]),
        "slow": Timings(create=[0.010, 0.010, 0.010], hit=[0.040, 0.040, 0.040]),
        "sent": Timings(create=[0.010], hit=[0.012], sent=256),
    }

    rows = report(found).splitlines()

    assert rows[2] == "| fast | 11.0 | 25.0 | 2.27 (met) | 0 |"
    assert rows[3] == "| slow | 10.0 | 40.0 | 4.00 (**missed**) | 0 |"
    assert rows[4] == "| sent | 10.0 | 12.0 | 1.20 (**missed**) | 256 |"
