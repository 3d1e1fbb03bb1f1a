"""The fault suite's figures: each fault test records its counts here, and the suite prints
them as one table at the end of the run (``pytest_terminal_summary`` in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultCounts:
    """What became of the uploads accepted while one fault happened.

    ``lost`` counts accepted uploads neither READY nor FAILED once the suite stopped waiting;
    ``client_errors`` the calls that failed as a client saw them (after the client library's
    own retries); ``flowing_s`` the seconds from the dependency's return until the first
    upload waiting then was done (jobs flow again); ``recovered_s`` until every upload
    accepted by then was done (a backlog's length adds to it).
    """

    fault: str
    accepted: int
    ready: int
    failed: int
    lost: int
    client_errors: int
    recovered_s: float | None = None
    flowing_s: float | None = None

    def row(self) -> str:
        return (
            f"| {self.fault} | {self.accepted} | {self.ready} | {self.failed} | {self.lost} "
            f"| {self.client_errors} | {_seconds(self.flowing_s)} | {_seconds(self.recovered_s)} |"
        )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


HEADER = (
    "| fault | accepted | READY | FAILED | lost | client-visible errors "
    "| first job done after return (s) | all done after return (s) |\n"
    "|---|---|---|---|---|---|---|---|"
)


class FaultReport:
    """The session's collector."""

    def __init__(self) -> None:
        self.counts: list[FaultCounts] = []

    def record(self, counts: FaultCounts) -> None:
        self.counts.append(counts)
        print(f"\n{HEADER}\n{counts.row()}")

    def table(self) -> str:
        return "\n".join([HEADER, *(c.row() for c in self.counts)])


#: One per test session.
REPORT = FaultReport()
