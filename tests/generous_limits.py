"""Limits that never refuse, for tests of something else that send many requests for one
owner: the limits have tests of their own."""

from __future__ import annotations

from media_grpc.config.limits import LimitSettings

#: A rate (per second) and a burst no test reaches.
NEVER_REACHED = 10_000


def generous_limits() -> LimitSettings:
    """Every rate and burst at ``NEVER_REACHED``, and no cap on open sessions; the retries per
    media keep their default."""
    return LimitSettings(
        upload_sessions_per_second=NEVER_REACHED,
        upload_session_burst=NEVER_REACHED,
        max_pending_sessions=0,
        part_urls_per_second=NEVER_REACHED,
        part_urls_burst=NEVER_REACHED,
        completions_per_second=NEVER_REACHED,
        completion_burst=NEVER_REACHED,
        retries_per_second=NEVER_REACHED,
        retry_burst=NEVER_REACHED,
    )
