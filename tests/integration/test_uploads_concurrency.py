"""Forty CompleteUpload calls at once for one media: one UPLOADED transition, one job.

The calls are spread over five servers on the same database and bucket, as two replicas would
be: within one server completions of a media queue up in process, across servers only the
database row lock keeps them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from media.v1 import media_pb2 as pb

from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from tests.integration.uploading import (
    Auth,
    PartSender,
    Stub,
    another_server,
    complete,
    create_session,
    outbox_jobs,
    put_single,
    uploads_in_progress,
)
from tests.samples import image_bytes, mp4_like

#: As many as the owner's completion burst admits: the rate is one bucket for every server.
CALLS = 40
SERVERS = 5


@pytest.fixture(scope="module")
def stubs(stub: Stub, settings: Settings, app: Application) -> Iterator[list[Stub]]:
    """The session's server and four more."""
    assert settings.limits.completion_burst >= CALLS, "the rate would refuse some of the calls"
    with ExitStack() as stack:
        yield [stub] + [stack.enter_context(another_server(settings)) for _ in range(SERVERS - 1)]


def complete_all_at_once(
    stubs: list[Stub], auth: Auth, user: str, media_id: str, etags: dict[int, str] | None = None
) -> list[pb.Media]:
    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        futures = [
            pool.submit(complete, stubs[i % len(stubs)], auth, user, media_id, etags)
            for i in range(CALLS)
        ]
        return [f.result() for f in futures]


def test_forty_concurrent_completions_of_a_single_put_make_one_transition_and_one_job(
    stubs: list[Stub], auth: Auth, unique_user: str, app: Application
) -> None:
    stub = stubs[0]
    data = image_bytes("PNG", (256, 256))
    session = create_session(stub, auth, unique_user, data)
    put_single(session, data)

    results = complete_all_at_once(stubs, auth, unique_user, session.media_id)

    assert {m.status for m in results} == {pb.STATUS_UPLOADED}
    assert len({(m.updated_at.ToNanoseconds(), m.storage_key) for m in results}) == 1
    assert outbox_jobs(app, session.media_id) == 1


def test_forty_concurrent_completions_of_a_multipart_upload_make_one_transition_and_one_job(
    stubs: list[Stub], auth: Auth, unique_user: str, app: Application
) -> None:
    stub = stubs[0]
    data = mp4_like(11 * 1024 * 1024)
    session = create_session(
        stub, auth, unique_user, data, purpose=pb.PURPOSE_POST_VIDEO, content_type="video/mp4"
    )
    etags = PartSender(data, session.multipart.part_size).send(session.multipart.part_urls)

    results = complete_all_at_once(stubs, auth, unique_user, session.media_id, etags)

    assert {m.status for m in results} == {pb.STATUS_UPLOADED}
    assert len({m.updated_at.ToNanoseconds() for m in results}) == 1
    assert outbox_jobs(app, session.media_id) == 1


def test_concurrent_sessions_with_one_idempotency_key_share_one_multipart_upload(
    stubs: list[Stub], auth: Auth, unique_user: str, app: Application
) -> None:
    data_size = 20 * 1024 * 1024
    request = pb.CreateUploadSessionRequest(
        purpose=pb.PURPOSE_POST_VIDEO,
        file_name="clip.mp4",
        content_type="video/mp4",
        size_bytes=data_size,
        idempotency_key="retry-storm",
    )
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [
            pool.submit(
                stubs[i % len(stubs)].CreateUploadSession, request, metadata=auth(unique_user)
            )
            for i in range(10)
        ]
        sessions = [f.result() for f in futures]

    assert len({s.media_id for s in sessions}) == 1
    assert len({s.multipart.upload_id for s in sessions}) == 1
    assert len(uploads_in_progress(app, f"uploads/posts/{unique_user}/")) == 1
