"""The bucket as `storage init` writes it, proven on the strict S3: anonymous reads only of what
a worker made (variants/, transcoded/), never of an original; no anonymous write anywhere; CORS
for the configured browser origin only, ETag exposed (docs/security.md, docs/operations.md)."""

from __future__ import annotations

import io

import requests
from media.v1 import media_pb2 as pb
from PIL import Image

from media_grpc.domain.keys import ORIGINALS_PREFIX, UPLOADS_PREFIX
from tests.strict_s3.service import ALLOWED_ORIGIN, RunningService
from tests.strict_s3.uploads import png_bytes, put, ready_media, session

OTHER_ORIGIN = "https://attacker.strict-s3.test"


def object_url(service: RunningService, key: str) -> str:
    return f"{service.app.settings.s3_endpoint_url}/{service.bucket}/{key}"


def test_storage_init_wrote_the_cors_rule_and_the_derivatives_only_policy(
    service: RunningService,
) -> None:
    cors, policy = service.init_lines[1], service.init_lines[3]
    assert cors == f"CORS: browser PUT from {ALLOWED_ORIGIN}, exposing ETag, set"
    assert policy == "bucket policy: anonymous GET of variants/*, transcoded/* only, set"


def test_variants_are_read_anonymously_and_the_original_is_not(
    service: RunningService, unique_user: str
) -> None:
    media = ready_media(service, unique_user)
    frozen = ORIGINALS_PREFIX + media.storage_key.removeprefix(UPLOADS_PREFIX)
    assert service.s3.head_object(Bucket=service.bucket, Key=frozen)["ContentLength"] > 0

    variant = requests.get(media.variants[0].url, timeout=10)
    original = requests.get(object_url(service, frozen), timeout=10)

    assert variant.status_code == 200
    assert Image.open(io.BytesIO(variant.content)).size[0] > 0
    assert original.status_code == 403
    assert "AccessDenied" in original.text


def test_the_owner_reads_the_original_through_its_presigned_url_only(
    service: RunningService, unique_user: str
) -> None:
    media = ready_media(service, unique_user)
    owner_view = service.stub.GetMedia(
        pb.GetMediaRequest(media_id=media.id), metadata=service.auth(unique_user)
    ).media

    answer = requests.get(owner_view.original_url, timeout=10)

    assert answer.status_code == 200
    assert Image.open(io.BytesIO(answer.content)).size == (640, 480)
    assert owner_view.original_url.split("?")[0].startswith(media.cdn_url)


def test_an_upload_not_yet_completed_is_not_read_anonymously(
    service: RunningService, unique_user: str
) -> None:
    data = png_bytes()
    created = session(service, unique_user, data)
    put(created.single_put.url, data, dict(created.single_put.headers)).raise_for_status()

    answer = requests.get(created.single_put.url.split("?")[0], timeout=10)

    assert answer.status_code == 403


def test_an_anonymous_put_over_a_public_variant_is_refused_and_leaves_it_as_it_was(
    service: RunningService, unique_user: str
) -> None:
    media = ready_media(service, unique_user)
    url = media.variants[0].url
    before = requests.get(url, timeout=10).content

    answer = put(url, b"<script>alert(1)</script>", {"Content-Type": "text/html"})

    assert answer.status_code == 403
    after = requests.get(url, timeout=10)
    assert after.content == before
    assert after.headers["Content-Type"].startswith("image/")


def preflight(service: RunningService, key: str, origin: str) -> requests.Response:
    return requests.options(
        object_url(service, key),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )


def test_a_preflight_from_the_allowed_origin_gets_the_rule_with_etag_exposed(
    service: RunningService, unique_user: str
) -> None:
    data = png_bytes()
    created = session(service, unique_user, data)
    key = created.single_put.url.split("?")[0].removeprefix(object_url(service, ""))

    answer = preflight(service, key, ALLOWED_ORIGIN)

    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "PUT" in answer.headers["Access-Control-Allow-Methods"]
    assert "etag" in answer.headers["Access-Control-Expose-Headers"].lower()
    assert answer.headers["Access-Control-Max-Age"] == "3600"
    browser_put = put(
        created.single_put.url, data, {**created.single_put.headers, "Origin": ALLOWED_ORIGIN}
    )
    assert browser_put.status_code == 200
    assert browser_put.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "etag" in browser_put.headers["Access-Control-Expose-Headers"].lower()
    assert browser_put.headers["ETag"]


def test_a_preflight_from_another_origin_is_refused_without_allow_headers(
    service: RunningService, unique_user: str
) -> None:
    created = session(service, unique_user, png_bytes())
    key = created.single_put.url.split("?")[0].removeprefix(object_url(service, ""))

    answer = preflight(service, key, OTHER_ORIGIN)

    assert answer.status_code == 403
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert "Access-Control-Allow-Methods" not in answer.headers
