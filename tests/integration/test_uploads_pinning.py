"""Completion pins the content it verified: its ETag (and VersionId on a versioned bucket) go
into the job, and a later PUT to the same presigned URL cannot swap what a pinned read gets."""

from __future__ import annotations

import pytest
import requests

from media_grpc.adapters.blob_storage import BlobNotFound
from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from tests.integration.uploading import (
    Auth,
    Stub,
    another_server,
    complete,
    create_session,
    outbox_payloads,
    put_single,
)
from tests.samples import image_bytes

FIRST = image_bytes("PNG", (32, 32))
SECOND = image_bytes("PNG", (33, 32))


def test_a_later_put_to_the_same_url_cannot_swap_the_pinned_content(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    session = create_session(stub, auth, unique_user, FIRST)
    put_single(session, FIRST)
    media = complete(stub, auth, unique_user, session.media_id)
    [job] = outbox_payloads(app, session.media_id)
    pinned = str(job["etag"])
    assert pinned == app.storage.head(media.storage_key).etag

    other = SECOND[: len(FIRST)].ljust(len(FIRST), b"\0")  # the signed length, other bytes
    swap = requests.put(
        session.single_put.url, data=other, headers=dict(session.single_put.headers), timeout=10
    )
    assert swap.status_code == 200  # the URL is still valid: storage takes the new bytes

    with pytest.raises(BlobNotFound):
        app.storage.read_range(media.storage_key, 0, 15, etag=pinned)
    assert app.storage.head(media.storage_key).etag != pinned


def test_version_id_is_pinned_on_a_versioned_bucket(
    settings: Settings, auth: Auth, unique_user: str, app: Application, own_bucket: str
) -> None:
    bucket = own_bucket
    app.s3_client.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    with another_server(settings, bucket) as versioned_stub:
        session = create_session(versioned_stub, auth, unique_user, FIRST)
        put_single(session, FIRST)
        media = complete(versioned_stub, auth, unique_user, session.media_id)
    [job] = outbox_payloads(app, session.media_id)
    head = app.s3_client.head_object(Bucket=bucket, Key=media.storage_key)
    assert head["VersionId"]
    assert job["version_id"] == head["VersionId"]
    assert job["etag"] == head["ETag"]
