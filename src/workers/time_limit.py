"""What a stage run under a wall-clock limit can end in, besides its result.

A decode stuck in C cannot be interrupted from Python (a signal handler runs only when control
returns to the interpreter), so stages run in child processes that the parent kills when time
is up: see ``stage_pool.py``. Outcomes:

- the function's return value, sent back through a pipe (it must pickle);
- ``MediaRejected`` raised in the child is raised again in the parent with its reason;
- ``TimeLimitExceeded`` when the limit passes (the child is killed; map to FAILED TIMEOUT);
- ``StageCrashed`` when the child raised anything else or died (a segfault in a decoder).
"""

from __future__ import annotations


class TimeLimitExceeded(Exception):
    """The job ran longer than its wall-clock limit and was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the job ran longer than {seconds:g} s and was stopped")
        self.seconds = seconds


class StageCrashed(Exception):
    """The child raised an unexpected error or died; ``detail`` holds its traceback or exit code."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail
