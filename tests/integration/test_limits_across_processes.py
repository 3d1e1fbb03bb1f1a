"""Per-owner limits (CreateUploadSession's rate and PENDING cap, the rates of CompleteUpload
and GetUploadPartUrls) with more than one server process against one PostgreSQL database:
`media-grpc serve` processes as a user starts them, real channels."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.adapters.database import scratch_database
from media_grpc.bootstrap import Application
from tests.child_env import clean_env, settings_env
from tests.e2e.conftest import CLI, ServedProcess, free_port, start_serve, stop
from tests.upload_sessions import create_session

Metadata = list[tuple[str, str]]
BURST, PENDING_CAP = 8, 6


@pytest.fixture(scope="module")
def limits_database(database_template: tuple[str, str]) -> Iterator[str]:
    """A migrated database of this module's own.

    Not the suite's: a `media-grpc serve` without a broker relays every pending outbox row of
    its database to its in-process queue, and queues again every media left UPLOADED or
    PROCESSING (its start-up recovery). On the suite's database that is the backlog of every
    test that ran before this module (the suite's test server runs no pipeline: its uploads
    stay UPLOADED, their jobs unpublished): the processes under test would spend the CPU on
    processing it, and log every job, while the limits are measured against 30 s deadlines."""
    server_url, template = database_template
    with scratch_database(server_url, "media_limits", template=template) as url:
        yield url


def serve_env(app: Application, database_url: str, **extra: str) -> dict[str, str]:
    env = settings_env(
        app.settings,
        MEDIA_DATABASE_URL=database_url,
        MEDIA_GRPC_LISTEN=f"127.0.0.1:{free_port()}",
        MEDIA_METRICS_PORT="0",
        MEDIA_STORAGE__CHECK_ON_STARTUP="false",
        MEDIA_LIMITS__UPLOAD_SESSIONS_PER_SECOND="0.001",
        MEDIA_LIMITS__UPLOAD_SESSION_BURST=str(BURST),
        MEDIA_LIMITS__MAX_PENDING_SESSIONS=str(PENDING_CAP),
        MEDIA_LIMITS__COMPLETIONS_PER_SECOND="0.001",
        MEDIA_LIMITS__COMPLETION_BURST=str(BURST),
        MEDIA_LIMITS__PART_URLS_PER_SECOND="0.001",
        MEDIA_LIMITS__PART_URLS_BURST=str(BURST),
        # These buckets take BURST / 0.001 s to refill: keep their rows at least that long.
        MEDIA_LIFECYCLE__RATE_BUCKET_RETENTION_SECONDS="86400",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def two_servers(
    app: Application, limits_database: str
) -> Iterator[list[media_pb2_grpc.MediaServiceStub]]:
    """Two `media-grpc serve` processes on two ports, one database; a stub to each."""
    served: list[ServedProcess] = []
    channels: list[grpc.Channel] = []
    try:
        for _ in range(2):
            served.append(start_serve(serve_env(app, limits_database)))
            _lines(served[-1].process)  # read, so that a full pipe never stops its logging
            channels.append(grpc.insecure_channel(served[-1].address))
        yield [media_pb2_grpc.MediaServiceStub(c) for c in channels]
    finally:
        for channel in channels:
            channel.close()
        for process in served:
            stop(process.process)


def new_session(
    stub: media_pb2_grpc.MediaServiceStub, metadata: Metadata
) -> pb.CreateUploadSessionResponse:
    return create_session(stub, metadata, bytes(100), file_name="cat.png", timeout=30)


def create(stub: media_pb2_grpc.MediaServiceStub, metadata: Metadata) -> grpc.StatusCode:
    try:
        new_session(stub, metadata)
    except grpc.RpcError as e:
        assert e.code() is grpc.StatusCode.RESOURCE_EXHAUSTED, e.details()
        return e.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def create_and_abort(stub: media_pb2_grpc.MediaServiceStub, metadata: Metadata) -> None:
    answer = new_session(stub, metadata)
    stub.AbortUpload(pb.AbortUploadRequest(media_id=answer.media_id), metadata=metadata)


def test_the_rate_limit_holds_across_two_server_processes(
    two_servers: list[media_pb2_grpc.MediaServiceStub],
    auth: Callable[..., Metadata],
    unique_user: str,
) -> None:
    metadata = auth(unique_user)
    for n in range(BURST):  # aborted at once: never near the PENDING cap
        create_and_abort(two_servers[n % 2], metadata)
    for stub in two_servers:
        with pytest.raises(grpc.RpcError) as refused:
            create_and_abort(stub, metadata)
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "faster than" in str(refused.value.details())


@pytest.mark.parametrize("rpc", ["CompleteUpload", "GetUploadPartUrls"])
def test_the_call_rates_hold_across_two_server_processes(
    rpc: str,
    two_servers: list[media_pb2_grpc.MediaServiceStub],
    auth: Callable[..., Metadata],
    unique_user: str,
) -> None:
    metadata = auth(unique_user)

    def call(stub: media_pb2_grpc.MediaServiceStub) -> grpc.RpcError:
        """A media nobody has: NOT_FOUND once admitted, which takes a token all the same."""
        media_id = str(uuid.uuid4())
        with pytest.raises(grpc.RpcError) as refused:
            if rpc == "CompleteUpload":
                stub.CompleteUpload(
                    pb.CompleteUploadRequest(media_id=media_id), metadata=metadata, timeout=30
                )
            else:
                stub.GetUploadPartUrls(
                    pb.GetUploadPartUrlsRequest(media_id=media_id, part_numbers=[1]),
                    metadata=metadata,
                    timeout=30,
                )
        return refused.value

    codes = [call(two_servers[n % 2]).code() for n in range(BURST)]
    assert codes == [grpc.StatusCode.NOT_FOUND] * BURST  # half through each server
    for stub in two_servers:
        refused = call(stub)
        assert refused.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"{rpc} is limited to 0.001 calls per second per owner" in str(refused.details())
        status = rpc_status.from_call(refused)  # type: ignore[arg-type]
        assert status is not None
        retry = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry)
        assert retry.retry_delay.ToTimedelta().total_seconds() > 0


def test_the_pending_cap_holds_across_two_server_processes(
    two_servers: list[media_pb2_grpc.MediaServiceStub],
    auth: Callable[..., Metadata],
    unique_user: str,
) -> None:
    metadata = auth(unique_user)
    codes = [create(two_servers[n % 2], metadata) for n in range(PENDING_CAP + 1)]
    assert codes == [grpc.StatusCode.OK] * PENDING_CAP + [grpc.StatusCode.RESOURCE_EXHAUSTED]
    with pytest.raises(grpc.RpcError) as refused:
        create_and_abort(two_servers[1], metadata)
    assert "upload sessions pending" in str(refused.value.details())


def test_the_pending_cap_is_exact_under_concurrent_calls_to_two_processes(
    two_servers: list[media_pb2_grpc.MediaServiceStub],
    auth: Callable[..., Metadata],
    unique_user: str,
) -> None:
    metadata = auth(unique_user)
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda n: create(two_servers[n % 2], metadata), range(16)))
    assert codes.count(grpc.StatusCode.OK) == PENDING_CAP
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 16 - PENDING_CAP


def test_serve_with_two_processes_shares_the_port_and_the_limits(
    app: Application, limits_database: str, auth: Callable[..., Metadata], unique_user: str
) -> None:
    env = serve_env(app, limits_database, MEDIA_GRPC_PROCESSES="2")
    served = start_serve(env)
    lines = _lines(served.process)
    try:
        _wait_for(lines, "media-grpc server process")
        metadata = auth(unique_user)
        codes = []
        for _ in range(PENDING_CAP + 2):  # a new connection each: the kernel spreads them
            with grpc.insecure_channel(served.address) as channel:
                codes.append(create(media_pb2_grpc.MediaServiceStub(channel), metadata))
        assert codes.count(grpc.StatusCode.OK) == PENDING_CAP
    finally:
        stop(served.process)
    assert served.process.returncode == 0


def test_serve_refuses_more_processes_with_the_embedded_database(tmp_path: object) -> None:
    env = clean_env(MEDIA_GRPC_PROCESSES="2", MEDIA_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [CLI, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "MEDIA_GRPC_PROCESSES=2 needs MEDIA_DATABASE_URL" in done.stderr


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            found.put(line)

    threading.Thread(target=read, daemon=True).start()
    return found


def _wait_for(lines: queue.Queue[str], text: str, deadline_seconds: float = 60) -> None:
    deadline = time.monotonic() + deadline_seconds
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if text in line:
            return
    pytest.fail(f"{text!r} never printed:\n{''.join(seen)}")
