"""Fifty CompleteUpload calls at once for one media: one UPLOADED transition, one job."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from media.v1 import media_pb2 as pb

from media_grpc.bootstrap import Application
from tests.integration.uploading import (
    Auth,
    PartSender,
    Stub,
    complete,
    create_session,
    outbox_jobs,
    put_single,
)
from tests.samples import image_bytes, mp4_like

CALLS = 50


def complete_all_at_once(
    stub: Stub, auth: Auth, user: str, media_id: str, etags: dict[int, str] | None = None
) -> list[pb.Media]:
    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        futures = [pool.submit(complete, stub, auth, user, media_id, etags) for _ in range(CALLS)]
        return [f.result() for f in futures]


def test_fifty_concurrent_completions_of_a_single_put_make_one_transition_and_one_job(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    data = image_bytes("PNG", (256, 256))
    session = create_session(stub, auth, unique_user, data)
    put_single(session, data)

    results = complete_all_at_once(stub, auth, unique_user, session.media_id)

    assert {m.status for m in results} == {pb.STATUS_UPLOADED}
    assert len({(m.updated_at.ToNanoseconds(), m.storage_key) for m in results}) == 1
    assert outbox_jobs(app, session.media_id) == 1


def test_fifty_concurrent_completions_of_a_multipart_upload_make_one_transition_and_one_job(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    data = mp4_like(11 * 1024 * 1024)
    session = create_session(
        stub, auth, unique_user, data, purpose=pb.PURPOSE_POST_VIDEO, content_type="video/mp4"
    )
    etags = PartSender(data, session.multipart.part_size).send(session.multipart.part_urls)

    results = complete_all_at_once(stub, auth, unique_user, session.media_id, etags)

    assert {m.status for m in results} == {pb.STATUS_UPLOADED}
    assert len({m.updated_at.ToNanoseconds() for m in results}) == 1
    assert outbox_jobs(app, session.media_id) == 1
