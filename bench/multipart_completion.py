"""Ours' CompleteUpload of a multipart upload set against the storage calls it makes: one
round's figures, and the report drawn from them (every figure in its text is computed)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.multipart_reference import COMPLETION_CALLS


@dataclass(frozen=True)
class Ours:
    """Seconds of one upload through our client, and the media it made."""

    media_id: str
    whole: float
    #: Before the first part byte (the session).
    before: float
    #: First part byte sent to last part answered.
    parts: float
    #: Last part answered to the upload returned (CompleteUpload).
    after: float
    #: Last part answered to CompleteUpload sent (the client's sha256 thread finishing).
    waited: float

    @property
    def complete_call(self) -> float:
        """The CompleteUpload call alone, sent to answered, as the client saw it."""
        return self.after - self.waited


@dataclass(frozen=True)
class Round:
    """One round's upload through ours, the server's logged CompleteUpload (seconds) and the
    storage calls of a completion sent alone (seconds by COMPLETION_CALLS name)."""

    ours: Ours
    server: float
    calls: dict[str, float]

    @property
    def calls_sum(self) -> float:
        return sum(self.calls.values())

    @property
    def beyond(self) -> float:
        """What ours' completion takes beyond the storage calls."""
        return self.ours.after - self.calls_sum


def completion_report(done: list[Round], small: list[float]) -> str:
    """The storage calls' table, ours' completion against their sum round by round, and what
    that difference is made of, in words drawn from the figures."""
    median = statistics.median

    def seconds(values: list[float]) -> str:
        return " / ".join(f"{v:.2f}" for v in values)

    calls = [
        f"| {name} | {median([r.calls[name] for r in done]):.3f} | "
        f"{seconds([r.calls[name] for r in done])} |"
        for name in COMPLETION_CALLS
    ]
    of_medians = sum(median([r.calls[name] for r in done]) for name in COMPLETION_CALLS)
    lines = [
        f"| {n + 1} | {r.ours.after:.2f} | {r.calls_sum:.2f} | {r.beyond:+.2f} | "
        f"{(r.ours.after - r.server) * 1000:.0f} | {r.server - r.calls_sum:+.2f} |"
        for n, r in enumerate(done)
    ]
    beyond = median([r.beyond for r in done])
    outside = median([r.ours.after - r.server for r in done])
    inside = median([r.server - r.calls_sum for r in done])
    assemblies = [r.calls["CompleteMultipartUpload"] for r in done]
    spread = max(assemblies) - min(assemblies)
    resolved = (
        f"That is within this endpoint's own round-to-round spread of CompleteMultipartUpload "
        f"alone ({min(assemblies):.2f} to {max(assemblies):.2f} s, {spread:.2f} s apart). Beyond "
        "the storage calls, ours adds less than these rounds resolve; what is measured "
        f"around the server's call ({outside * 1000:.0f} ms) is all that is seen of it."
        if abs(beyond) <= spread
        else f"That is more than this endpoint's own round-to-round spread of "
        f"CompleteMultipartUpload alone ({min(assemblies):.2f} to {max(assemblies):.2f} s, "
        f"{spread:.2f} s apart): ours adds time beyond the storage calls, "
        f"{outside * 1000:.0f} ms of it outside the server's call and {inside:+.2f} s inside."
    )
    return f"""CompleteUpload's storage calls, each sent alone with boto3 to the same endpoint in
the same rounds (seconds):

| storage call | median | per round |
|---|---:|---|
{chr(10).join(calls)}
| sum (of the medians; per round) | {of_medians:.3f} | {seconds([r.calls_sum for r in done])} |

Ours' completion against that sum, round by round: "outside" is what the client and gRPC add
around the server's call (ours' completion minus the duration_ms of the server's own `rpc` log
line for it). "Inside" is the server's logged call minus the storage calls' sum (its
PostgreSQL statements, and its storage calls against the ones sent alone).

| round | ours' completion s | storage calls s | difference s | outside ms | inside s |
|---|---:|---:|---:|---:|---:|
{chr(10).join(lines)}

What ours adds beyond the storage calls: {beyond * 1000:+.0f} ms, median of the per-round
differences ({(median([r.ours.after for r in done]) - of_medians) * 1000:+.0f} ms as ours'
median completion minus the sum of the calls' medians). Outside the server's call
{outside * 1000:.0f} ms (median), of which {median([r.ours.waited for r in done]) * 1000:.0f} ms
between the last part's answer and sending CompleteUpload (the client waits there for its
sha256 thread). Inside it {inside * 1000:+.0f} ms (median), where the server's own work is
bounded by the whole 1 KiB completion ({median(small) * 1000:.1f} ms median, its 64 KiB GET
included). {resolved}"""


def p99(seconds: list[float]) -> float:
    """The 99th percentile (nearest rank); of fewer than 100 values, close to the largest."""
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def completion_verdict(big: list[float], small: list[float], target: float, mib: float) -> str:
    """CompleteUpload of the big file (each call alone, sha256 declared) against that of a
    1 KiB object: p99 against p99, Met when the ratio is at most ``target``."""
    ratio = p99(big) / p99(small)
    verdict = "Met" if ratio <= target else "Missed"
    return (
        f"CompleteUpload with a declared sha256, the call alone (sent to answered): the {mib:.0f} "
        f"MiB multipart file, p99 of {len(big)} (the slowest; assembly included) "
        f"{p99(big) * 1000:.0f} ms; a 1 KiB single PUT, p99 of {len(small)} interleaved calls "
        f"{p99(small) * 1000:.1f} ms (median {statistics.median(small) * 1000:.1f} ms). Ratio "
        f"{ratio:.1f}x; target <= {target:g}x. **{verdict}.**"
    )


def parts_verdict(whole: float, ours_parts: float, raw_parts: float, raw_put: float) -> str:
    """Where the whole upload's gap to one raw PUT lies (seconds, medians): in the store's own
    multipart (the same parts sent raw against one PUT), or in our client (ours' parts against
    the same parts sent raw)."""
    store = raw_put / raw_parts
    client = raw_parts / ours_parts
    return (
        f"Where the gap lies: the same parts sent raw ({raw_parts:.2f} s) reach {store:.2f}x one "
        f"raw PUT ({raw_put:.2f} s): that is the store's own price of a multipart upload in "
        f"parts of this size at this parallelism. Ours' part transfers ({ours_parts:.2f} s) reach "
        f"{client:.2f}x the same parts sent raw: that is our client's price (each part read from "
        f"the file into a buffer of its thread and sent in 1 MiB blocks, with progress per "
        f"block, while a thread hashes the file). Beyond the parts, the session and completion add "
        f"{whole - ours_parts:.2f} s. " + _larger_share(store, client)
    )


def _larger_share(store: float, client: float) -> str:
    if abs(store - client) < 0.05:
        return "The store and our client cost about as much as each other."
    return (
        "Most of the gap is the store's." if store < client else "Most of the gap is our client's."
    )
