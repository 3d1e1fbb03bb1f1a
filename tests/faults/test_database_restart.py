"""PostgreSQL connections lost under load: the server recovers by itself (pool pre-ping) and
runs the calls in flight at the moment of the loss again (api/transaction_retry.py), so that
callers see no error: CreateUploadSession with an idempotency key is safe to run again even
when its commit may have gone through.

The restart test restarts a PostgreSQL server of its own (``restartable_database``,
tests/faults/private_postgres.py): it runs anywhere PostgreSQL's server programs are
installed and never touches the machine's shared server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import grpc
import pytest
from media.v1 import media_pb2 as pb
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.config.auth import AuthSettings
from media_grpc.domain.model import Status
from tests.faults.conftest import Served
from tests.faults.load import Callers, Outcome, wait_for
from tests.faults.private_postgres import PrivatePostgres
from tests.faults.report import FaultReport
from tests.faults.uploads import (
    UploadTraffic,
    seconds_to_final,
    seconds_to_first_final,
    settle,
)
from tests.integration.pipeline.conftest import png_bytes
from tests.waiting import eventually

pytestmark = pytest.mark.faults

CALLERS = 8

Window = tuple[float, float]


def terminate_backends(database_url: str) -> tuple[int, Window]:
    """What a database restart does to this database's connections.

    Returns how many were cut and the window from the request until every one of those
    backends is gone (a terminated backend exits asynchronously).
    """
    # Autocommit: pg_stat_activity is a snapshot that holds for a whole transaction.
    engine = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    started = time.monotonic()
    with engine.connect() as conn:
        pids = list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) pid"), {"pids": pids}
        )
        eventually(
            lambda: (
                not conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                    {"pids": pids},
                ).scalar_one()
            ),
            "the terminated backends to end",
        )
    engine.dispose()
    return len(pids), (started, time.monotonic())


def in_flight(outcome: Outcome, windows: list[Window]) -> bool:
    return any(outcome.started <= end and start <= outcome.ended for start, end in windows)


def describe(outcomes: list[Outcome]) -> str:
    codes: dict[str, int] = {}
    for o in outcomes:
        codes[o.code.name] = codes.get(o.code.name, 0) + 1
    return ", ".join(f"{n} {code}" for code, n in sorted(codes.items())) or "none"


def keyed_create(served: Served, user: str) -> Callable[[int], object]:
    """CreateUploadSession with a fresh idempotency key per session."""
    return lambda _i: served.create(user, timeout=15, idempotency_key=uuid.uuid4().hex)


def test_lost_database_connections_are_invisible_to_callers_and_server_recovers(
    serve: Callable[..., Served], fault_database: str, unique_user: str
) -> None:
    served = serve()
    with Callers(CALLERS, keyed_create(served, unique_user)) as callers:
        wait_for(
            lambda: callers.succeeded() >= 50,
            30,
            "50 sessions before the fault",
            callers.codes,
        )
        cuts: list[Window] = []
        killed = 0
        for _ in range(3):
            count, window = terminate_backends(fault_database)
            killed += count
            cuts.append(window)
            wait_for(
                lambda end=window[1]: sum(o.ok and o.started > end for o in callers.outcomes) >= 10,
                30,
                "10 sessions after a cut",
                callers.codes,
            )
        recovered_from = time.monotonic()
        wait_for(
            lambda: sum(o.ok and o.started > recovered_from for o in callers.outcomes) >= 50,
            30,
            "50 sessions after the last fault",
            callers.codes,
        )
    outcomes = callers.outcomes
    failed = [o for o in outcomes if not o.ok]
    stray = [o for o in failed if not in_flight(o, cuts)]
    after = [o for o in outcomes if o.started > recovered_from]

    assert killed >= 3, f"only {killed} backends were terminated over 3 cuts"
    assert not failed, (
        f"{len(failed)}/{len(outcomes)} calls failed across 3 cuts ({describe(failed)}); "
        "the server should have run them again"
    )
    assert not stray, (
        f"{len(stray)}/{len(failed)} failed calls were not in flight at any of the 3 cuts "
        f"({describe(stray)})"
    )
    assert len(failed) <= CALLERS * len(cuts), (
        f"{len(failed)} calls failed, more than the {CALLERS * len(cuts)} that can be in flight"
    )
    assert all(o.code is grpc.StatusCode.UNAVAILABLE for o in failed), (
        f"failed calls must be UNAVAILABLE (retryable): {describe(failed)}"
    )
    assert all(o.ok for o in after), (
        f"after recovery {sum(o.ok for o in after)}/{len(after)} calls succeeded"
    )
    assert served.process.poll() is None, "the server exited: " + "".join(served.output[-20:])
    print(
        f"{len(outcomes) - len(failed)}/{len(outcomes)} calls succeeded across 3 cuts of "
        f"{killed} connections; {len(failed)} failed in flight ({describe(failed)}); "
        f"{len(after)}/{len(after)} after recovery"
    )


#: Uploads completed across the restart.
UPLOADS = 60
#: A restart shorter than this must be invisible to clients.
INVISIBLE_BELOW_S = 5.0
#: How long the server stays down: issue #23 measured a 2.6 s restart of the shared server.
DOWN_FOR_S = 2.5
#: Seconds after PostgreSQL's return by which jobs flow again (the first upload accepted until
#: then is READY): what the reconnects decide.
FLOWING_S = 5.0
#: Seconds after PostgreSQL's return by which every upload accepted until then is READY
#: (issue #23's target): jobs that met the database gone ran again in place, none waited out a
#: retry delay, and the backlog drained at the in-process worker's pace.
RECOVERY_S = 10.0


def status_of(served: Served, user: str) -> Callable[[str], Status]:
    def read(media_id: str) -> Status:
        answer = served.stub.GetMedia(
            pb.GetMediaRequest(media_id=media_id), metadata=served.auth(user), timeout=15
        )
        return Status[pb.Status.Name(answer.media.status).removeprefix("STATUS_")]

    return read


def test_database_restart_during_uploads_is_invisible_to_clients(
    serve: Callable[..., Served],
    restartable_database: tuple[PrivatePostgres, str],
    fault_report: FaultReport,
    unique_user: str,
) -> None:
    postgres, database_url = restartable_database
    served = serve(env={"MEDIA_DATABASE_URL": database_url})
    token = issue_token(AuthSettings(), unique_user)
    read = status_of(served, unique_user)
    with UploadTraffic(served.address, token, png_bytes(), UPLOADS) as traffic:
        traffic.wait_accepted(UPLOADS // 3, 120)
        outage_started = time.monotonic()
        postgres.restart(down_for=DOWN_FOR_S)
        returned_at = time.monotonic()
        in_flight = traffic.snapshot()
        flowing = seconds_to_first_final(in_flight, read, returned_at, 60)
        recovered = seconds_to_final(in_flight, read, returned_at, 60)
        traffic.wait_accepted(UPLOADS, 120)
    outage = returned_at - outage_started
    counts = settle(
        f"PostgreSQL restart ({outage:.1f} s)", traffic, read, returned_at, 60, recovered, flowing
    )
    fault_report.record(counts)
    retried = "".join(line for line in served.output if "failed (" in line) or "none\n"
    assert counts.lost == 0, f"{counts.lost}/{counts.accepted} accepted uploads never finished"
    assert counts.ready == UPLOADS, f"{counts.ready}/{UPLOADS} READY ({counts.failed} FAILED)"
    if outage < INVISIBLE_BELOW_S:
        assert counts.client_errors == 0, (
            f"a {outage:.1f} s restart was visible to clients: {traffic.client_errors}"
        )
    assert flowing is not None and flowing <= FLOWING_S, (
        f"the first upload accepted before PostgreSQL's return took {flowing} s to finish; "
        f"jobs retried after a delay:\n{retried}"
    )
    assert recovered is not None and recovered <= RECOVERY_S, (
        f"the uploads accepted before PostgreSQL's return took {recovered} s to finish; "
        f"jobs retried after a delay:\n{retried}"
    )
    assert served.process.poll() is None, "the server exited: " + "".join(served.output[-20:])
