"""ImportMedia and ResolveLegacyUrl through a real channel: a legacy host on 127.0.0.1 (listed
explicitly, as the import policy allows for tests), PostgreSQL and the strict S3."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.config.imports import ImportSettings
from tests.integration.uploading import (
    error_reason,
    outbox_jobs,
    rpc_error,
)
from tests.legacy_host import (
    LegacyHost,
    body,
    dripping,
    dripping_headers,
    endless,
    legacy_host,
    redirect,
)
from tests.media_factory import make_jpeg

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub
MiB = 1024 * 1024
#: The start of an MP4 (ftyp box, isom brand): enough for the sniffer, not for a decoder.
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


@pytest.fixture(scope="module")
def host() -> Iterator[LegacyHost]:
    with legacy_host() as running:
        yield running


@pytest.fixture(scope="module")
def importer(settings: Settings, host: LegacyHost) -> Iterator[Application]:
    """A server whose import policy lists 127.0.0.1 (exactly) and ``.localhost`` (a suffix), both
    at the legacy host's port only."""
    configured = settings.model_copy(
        update={
            "import_": ImportSettings(
                allowed_hosts=[f"127.0.0.1:{host.port}", f".localhost:{host.port}"],
                allow_http=True,
                max_redirects=3,
                total_timeout_seconds=3,
                read_timeout_seconds=2,
            ),
            "uploads": settings.uploads.model_copy(
                update={
                    "profile_image": settings.uploads.profile_image.model_copy(
                        update={"max_bytes": 1 * MiB}
                    )
                }
            ),
            "s3_bucket": f"media-import-{uuid.uuid4().hex[:8]}",
        }
    )
    application = build_application(configured, migrate=False)
    application.s3_client.create_bucket(Bucket=configured.s3_bucket)
    yield application
    application.close()


@pytest.fixture(scope="module")
def istub(importer: Application) -> Iterator[Stub]:
    running = importer.serve("127.0.0.1:0")
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield media_pb2_grpc.MediaServiceStub(channel)
    running.stop(1)


def jpeg_bytes(tmp_path: Path) -> bytes:
    return make_jpeg(tmp_path / "photo.jpg", (320, 240)).read_bytes()


def route(host: LegacyHost, name: str, handler: object) -> str:
    """A path of this test's own on the legacy host; returns its URL."""
    path = f"/{uuid.uuid4().hex[:8]}/{name}"
    host.routes[path] = handler  # type: ignore[assignment]
    return host.url(path)


def import_media(
    stub: Stub, auth: Auth, url: str, *, owner: str = "", **fields: object
) -> pb.ImportMediaResponse:
    request = pb.ImportMediaRequest(
        url=url,
        owner_id=owner or f"u-{uuid.uuid4().hex[:8]}",
        purpose=fields.pop("purpose", pb.PURPOSE_POST_IMAGE),  # type: ignore[arg-type]
    )
    for name, value in fields.items():
        setattr(request, name, value)
    response: pb.ImportMediaResponse = stub.ImportMedia(
        request, metadata=auth("post-service", role="service"), timeout=30
    )
    return response


def refused(stub: Stub, auth: Auth, url: str, **fields: object) -> tuple[grpc.StatusCode, str]:
    error = rpc_error(lambda: import_media(stub, auth, url, **fields))
    return error.code(), error_reason(error)


def test_import_stores_an_image_and_queues_its_processing(
    istub: Stub, auth: Auth, host: LegacyHost, importer: Application, tmp_path: Path
) -> None:
    data = jpeg_bytes(tmp_path)
    url = route(host, "photo.jpg", body(data, "image/jpeg"))

    answer = import_media(istub, auth, url, owner="alice-import")

    media = answer.media
    assert answer.created
    assert media.status == pb.STATUS_UPLOADED
    assert (media.owner_id, media.mime_type, media.size_bytes) == (
        "alice-import",
        "image/jpeg",
        len(data),
    )
    assert media.file_name == "photo.jpg"
    stored = importer.s3_client.get_object(
        Bucket=importer.settings.s3_bucket, Key=media.storage_key
    )
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "image/jpeg"
    assert outbox_jobs(importer, media.id) == 1


def test_importing_the_same_url_again_fetches_nothing_and_returns_the_same_media(
    istub: Stub, auth: Auth, host: LegacyHost, importer: Application, tmp_path: Path
) -> None:
    url = route(host, "again.jpg", body(jpeg_bytes(tmp_path), "image/jpeg"))
    first = import_media(istub, auth, url, owner="bob-import")

    second = import_media(istub, auth, url, owner="bob-import")

    assert (second.created, second.media.id) == (False, first.media.id)
    assert host.hits[url.split(str(host.port), 1)[1]] == 1
    assert outbox_jobs(importer, first.media.id) == 1


def test_an_idempotency_key_reused_for_another_url_is_refused(
    istub: Stub, auth: Auth, host: LegacyHost, tmp_path: Path
) -> None:
    data = jpeg_bytes(tmp_path)
    key = f"legacy-{uuid.uuid4().hex}"
    import_media(
        istub, auth, route(host, "a.jpg", body(data, "image/jpeg")), owner="k", idempotency_key=key
    )

    error = rpc_error(
        lambda: import_media(
            istub,
            auth,
            route(host, "b.jpg", body(data, "image/jpeg")),
            owner="k",
            idempotency_key=key,
        )
    )

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


def test_import_follows_a_redirect_on_a_listed_host(
    istub: Stub, auth: Auth, host: LegacyHost, tmp_path: Path
) -> None:
    target = route(host, "moved.jpg", body(jpeg_bytes(tmp_path), "image/jpeg"))
    url = route(host, "old.jpg", redirect(target, 301))

    media = import_media(istub, auth, url).media

    assert media.status == pb.STATUS_UPLOADED
    assert media.file_name == "moved.jpg"


def test_import_of_a_large_file_streams_it_into_storage_in_parts(
    istub: Stub, auth: Auth, host: LegacyHost, importer: Application
) -> None:
    data = MP4_HEAD + bytes(12 * MiB)
    url = route(host, "long.mp4", body(data, "video/mp4"))

    media = import_media(istub, auth, url, purpose=pb.PURPOSE_POST_VIDEO).media

    assert (media.status, media.size_bytes, media.mime_type) == (
        pb.STATUS_UPLOADED,
        len(data),
        "video/mp4",
    )
    head = importer.s3_client.head_object(Bucket=importer.settings.s3_bucket, Key=media.storage_key)
    assert head["ETag"].strip('"').endswith("-2"), "8 MiB parts: a two-part upload"


def test_a_file_over_the_purpose_limit_is_refused_while_streaming_without_content_length(
    istub: Stub, auth: Auth, host: LegacyHost, importer: Application
) -> None:
    owner = f"big-{uuid.uuid4().hex[:8]}"
    png_head = b"\x89PNG\r\n\x1a\n" + bytes(24)
    url = route(host, "huge.png", endless(png_head))

    code, reason = refused(istub, auth, url, owner=owner, purpose=pb.PURPOSE_PROFILE_IMAGE)

    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TOO_LARGE")
    assert [k for k in importer.storage.list_keys("") if f"/{owner}/" in k] == []
    uploads = importer.s3_client.list_multipart_uploads(Bucket=importer.settings.s3_bucket)
    assert [u for u in uploads.get("Uploads", []) if f"/{owner}/" in u["Key"]] == []


def test_a_redirect_to_a_host_not_on_the_allowlist_is_refused(
    istub: Stub, auth: Auth, host: LegacyHost
) -> None:
    url = route(host, "away.jpg", redirect("http://media.not-listed.example/photo.jpg"))

    assert refused(istub, auth, url) == (grpc.StatusCode.FAILED_PRECONDITION, "HOST_NOT_ALLOWED")


def test_a_redirect_to_the_cloud_metadata_address_is_refused(
    istub: Stub, auth: Auth, host: LegacyHost
) -> None:
    url = route(host, "meta.jpg", redirect("http://169.254.169.254/latest/meta-data/"))

    assert refused(istub, auth, url) == (grpc.StatusCode.FAILED_PRECONDITION, "HOST_NOT_ALLOWED")


def test_a_host_allowed_by_suffix_that_resolves_to_loopback_is_refused(
    istub: Stub, auth: Auth, host: LegacyHost, tmp_path: Path
) -> None:
    path = route(host, "local.jpg", body(jpeg_bytes(tmp_path), "image/jpeg")).split(
        str(host.port), 1
    )[1]

    code, reason = refused(istub, auth, f"http://localhost:{host.port}{path}")

    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ADDRESS_NOT_ALLOWED")
    assert host.hits[path] == 0


def test_a_slow_body_is_cut_at_the_total_time_limit_and_leaves_nothing(
    istub: Stub, auth: Auth, host: LegacyHost, importer: Application
) -> None:
    owner = f"slow-{uuid.uuid4().hex[:8]}"
    url = route(host, "slow.jpg", dripping(b"\xff\xd8\xff\xe0" + bytes(60)))

    assert refused(istub, auth, url, owner=owner) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TIMEOUT",
    )
    assert [k for k in importer.storage.list_keys("") if f"/{owner}/" in k] == []


def test_html_named_jpg_is_refused_and_nothing_is_stored(
    istub: Stub, auth: Auth, host: LegacyHost, importer: Application
) -> None:
    owner = f"html-{uuid.uuid4().hex[:8]}"
    url = route(host, "photo.jpg", body(b"<!doctype html><script>alert(1)</script>", "image/jpeg"))

    assert refused(istub, auth, url, owner=owner) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "UNSUPPORTED_FORMAT",
    )
    assert [k for k in importer.storage.list_keys("") if f"/{owner}/" in k] == []


def test_a_failed_import_is_tried_again_by_the_next_call(
    istub: Stub, auth: Auth, host: LegacyHost, tmp_path: Path
) -> None:
    path = f"/{uuid.uuid4().hex[:8]}/later.jpg"
    host.routes[path] = lambda handler: handler.send_error(503)
    url = host.url(path)
    assert refused(istub, auth, url, owner="carol") == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "HTTP_ERROR",
    )
    host.routes[path] = body(jpeg_bytes(tmp_path), "image/jpeg")

    answer = import_media(istub, auth, url, owner="carol")

    assert answer.created and answer.media.status == pb.STATUS_UPLOADED
    assert host.hits[path] == 2


def test_resolve_legacy_url_returns_the_imported_media(
    istub: Stub, auth: Auth, host: LegacyHost, tmp_path: Path
) -> None:
    url = route(host, "resolve.jpg", body(jpeg_bytes(tmp_path), "image/jpeg"))
    media = import_media(istub, auth, url).media
    service = auth("gateway", role="service")

    found = istub.ResolveLegacyUrl(pb.ResolveLegacyUrlRequest(url=url), metadata=service).media
    missing = rpc_error(
        lambda: istub.ResolveLegacyUrl(
            pb.ResolveLegacyUrlRequest(url=url + "?never"), metadata=service
        )
    )

    assert found.id == media.id
    assert missing.code() == grpc.StatusCode.NOT_FOUND


def test_import_media_is_for_services_only(istub: Stub, auth: Auth, host: LegacyHost) -> None:
    request = pb.ImportMediaRequest(
        url=host.url("/x.jpg"), owner_id="mallory", purpose=pb.PURPOSE_POST_IMAGE
    )

    error = rpc_error(lambda: istub.ImportMedia(request, metadata=auth("mallory")))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_validate_only_checks_the_policy_and_fetches_nothing(
    istub: Stub, auth: Auth, host: LegacyHost
) -> None:
    path = f"/{uuid.uuid4().hex[:8]}/dry.jpg"

    answer = import_media(istub, auth, host.url(path), validate_only=True)
    error = rpc_error(
        lambda: import_media(istub, auth, "https://elsewhere.example/x.jpg", validate_only=True)
    )

    assert not answer.HasField("media") and host.hits[path] == 0
    assert error_reason(error) == "HOST_NOT_ALLOWED"


def test_import_is_off_until_hosts_are_listed(stub: Stub, auth: Auth, host: LegacyHost) -> None:
    code, reason = refused(stub, auth, host.url("/off.jpg"))

    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "HOST_NOT_ALLOWED")


def test_an_import_for_a_post_is_attached_to_it(
    istub: Stub, auth: Auth, host: LegacyHost, tmp_path: Path
) -> None:
    post = f"post-{uuid.uuid4().hex[:8]}"
    url = route(host, "in-post.jpg", body(jpeg_bytes(tmp_path), "image/jpeg"))

    media = import_media(istub, auth, url, owner="dave", post_id=post, post_position=2).media

    assert (media.post_id, media.post_position) == (post, 2)
    error = rpc_error(
        lambda: import_media(
            istub,
            auth,
            route(host, "other.jpg", body(jpeg_bytes(tmp_path), "image/jpeg")),
            owner="eve",
            post_id=post,
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_headers_sent_a_byte_at_a_time_are_cut_at_the_total_time_limit(
    istub: Stub, auth: Auth, host: LegacyHost
) -> None:
    # Each byte comes well within the read timeout (2 s); the total (3 s) must still hold.
    url = route(host, "drip-headers.jpg", dripping_headers(every=0.3, for_at_most=30))
    started = time.monotonic()

    assert refused(istub, auth, url) == (grpc.StatusCode.FAILED_PRECONDITION, "TIMEOUT")
    assert time.monotonic() - started < 10


def test_a_redirect_to_another_port_of_an_allowed_host_is_refused(
    istub: Stub, auth: Auth, host: LegacyHost, tmp_path: Path
) -> None:
    with legacy_host() as other:
        secret = route(other, "secret.jpg", body(jpeg_bytes(tmp_path), "image/jpeg"))
        url = route(host, "to-other-port.jpg", redirect(secret))

        answer = refused(istub, auth, url)

        assert answer == (grpc.StatusCode.FAILED_PRECONDITION, "HOST_NOT_ALLOWED")
        assert sum(other.hits.values()) == 0


@pytest.mark.parametrize(
    "url",
    ["http://localhost..:{port}/a.jpg", "http://[localhost]:{port}/a.jpg", "http://x:99999/a"],
)
def test_a_malformed_url_is_invalid_argument(
    istub: Stub, auth: Auth, host: LegacyHost, url: str
) -> None:
    error = rpc_error(lambda: import_media(istub, auth, url.format(port=host.port)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()


@pytest.mark.parametrize(
    "location", ["http://localhost..:{port}/a.jpg", "http://[localhost]:{port}/a.jpg"]
)
def test_a_redirect_to_a_malformed_url_fails_the_import_and_the_next_call_tries_again(
    istub: Stub, auth: Auth, host: LegacyHost, location: str
) -> None:
    url = route(host, "to-malformed.jpg", redirect(location.format(port=host.port)))

    first = refused(istub, auth, url, owner="dave")
    second = refused(istub, auth, url, owner="dave")  # not ABORTED "in progress"

    assert first == second == (grpc.StatusCode.FAILED_PRECONDITION, "INVALID_URL")


def test_an_import_is_in_the_audit_trail_as_the_service_for_the_owner_without_the_query(
    istub: Stub, auth: Auth, host: LegacyHost, tmp_path: Path
) -> None:
    url = route(host, "signed.jpg?token=s3cr3t", body(jpeg_bytes(tmp_path), "image/jpeg"))
    owner = f"u-{uuid.uuid4().hex[:8]}"

    media = import_media(istub, auth, url, owner=owner).media
    page = istub.ListMediaEvents(
        pb.ListMediaEventsRequest(media_id=media.id), metadata=auth("auditor", role="service")
    )

    (event,) = page.events
    assert event.action == pb.MEDIA_EVENT_ACTION_IMPORTED
    assert event.actor_kind == pb.MEDIA_EVENT_ACTOR_KIND_SERVICE
    assert (event.actor, event.on_behalf_of, event.owner_id) == ("post-service", owner, owner)
    assert event.detail == f"from {url.split('?', 1)[0]}"
    assert "s3cr3t" not in str(event)
