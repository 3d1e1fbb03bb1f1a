"""The fuzzing budget: Hypothesis settings shared by every fuzz target.

The targets run in ``make test`` with a fixed number of examples each, about 30 s in all on a
busy 2-core machine; ``MEDIA_FUZZ_EXAMPLES`` raises it for a longer local hunt (e.g. 20000). A
failure prints the smallest input Hypothesis found: add it to ``tests/fuzz/corpus.py``, where
it stays a regression test, and fix the code.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: Examples per target (each target may scale it down for slow checks).
EXAMPLES = int(os.environ.get("MEDIA_FUZZ_EXAMPLES", "400"))


def fuzz(share: float = 1.0) -> settings:
    """Settings of one target: ``share`` of the examples, no per-example deadline (the machine
    is shared), and no example database written into the work tree."""
    return settings(
        max_examples=max(10, int(EXAMPLES * share)),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
