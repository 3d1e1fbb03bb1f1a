"""The app's whole upload flow in a real browser on a strict S3: the demo page, the browser
module, the reference gateway and Ceph's RADOS Gateway, in a bucket `storage init` set up (CORS
for the page's origin, exposing ETag; variants public by bucket policy), as `make demo` runs with
``MEDIA_S3_ENDPOINT_URL`` set. The store checks each presigned PUT's signature and each CORS
preflight: an upload that ends READY passed both.

The browser's PUTs are observed as the browser saw them (tests/browser/storage_puts.py), and what
storage holds is read back from it with boto3.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from botocore.exceptions import ClientError
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from tests.browser.conftest import PART_SIZE, ROOT, Demo
from tests.browser.storage_puts import (
    StoragePuts,
    frozen_original_sha256,
    key_of,
    sha256_of_file,
)
from tests.waiting import eventually

SCREENSHOT = ROOT / "docs" / "images" / "demo-page.png"
MiB = 1024 * 1024


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 120) -> Any:
    return eventually(condition, what, seconds)


@pytest.fixture
def puts(demo: Demo, page: Any) -> StoragePuts:
    """The PUTs the test's page sends to the strict S3."""
    return StoragePuts(page, demo.s3_url)


def write_png(path: Path, size: tuple[int, int], *, noise: bool = False) -> Path:
    if noise:  # incompressible: the file is as large as its pixels
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:  # a gradient, so the screenshot shows a picture
        down = Image.linear_gradient("L").resize(size)
        across = down.transpose(Image.Transpose.ROTATE_90).resize(size)
        image = Image.merge("RGB", (down, across, Image.new("L", size, 190)))
    image.save(path, "PNG", compress_level=1)
    return path


def finished(page: Any) -> bool:
    return bool(page.evaluate("window.demo && window.demo.done"))


def test_an_image_goes_up_in_one_put_with_progress_to_100_and_its_variant_is_shown(
    demo: Demo, demo_bucket: str, s3_admin: Any, page: Any, puts: StoragePuts, tmp_path: Path
) -> None:
    picture = write_png(tmp_path / "sky.png", (640, 400))
    page.goto(demo.page_url(demo.token("alice")))
    page.set_input_files("#file", str(picture))
    wait_for(lambda: finished(page), "the upload to finish")

    progress = page.evaluate("window.demo.progress")
    assert progress[-1] == 100
    assert progress == sorted(progress)
    assert page.text_content("#status") == "Status: READY"
    [put] = puts.seen()
    assert (put.part, put.status) == (None, 200)  # one presigned PUT, signature accepted
    assert frozen_original_sha256(s3_admin, demo_bucket, put.key) == sha256_of_file(picture)
    wait_for(
        lambda: page.evaluate("document.getElementById('variant')?.naturalWidth > 0"),
        "the variant image to load",
        30,
    )
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 0


def test_a_30_mib_multipart_upload_resumes_after_a_reload_sending_only_missing_parts(
    demo: Demo, demo_bucket: str, s3_admin: Any, page: Any, puts: StoragePuts, tmp_path: Path
) -> None:
    big = write_png(tmp_path / "big.png", (3300, 3200), noise=True)
    size = big.stat().st_size
    part_count = -(-size // PART_SIZE)
    assert size >= 30 * 1024 * 1024 and part_count >= 6
    completions: list[Any] = []
    page.on("request", lambda r: completions.append(r) if r.url.endswith("/complete") else None)
    page.goto(demo.page_url(demo.token("bob")) + "&concurrency=2")
    page.set_input_files("#file", str(big))
    wait_for(lambda: len(puts.stored()) >= 2, "two parts stored")
    page.reload()
    before = puts.seen()
    stored_before = {put.part for put in before if put.status == 200}
    dropped = {put.part for put in before if put.status is None}  # in flight at the reload

    page.set_input_files("#file", str(big))
    wait_for(lambda: finished(page), "the resumed upload to finish", 240)

    assert page.text_content("#status") == "Status: READY"
    progress = page.evaluate("window.demo.progress")
    assert progress[0] >= 2 * PART_SIZE * 100 // size  # the stored parts count from the start
    assert progress[-1] == 100
    after = puts.seen(len(before))
    assert not stored_before & {put.part for put in after}  # none sent again after the reload
    stored = [put.part for put in puts.stored()]
    assert len(stored) == len(set(stored))  # no part stored twice
    # A part dropped by the reload after storage took it is listed, not sent again.
    assert set(stored) | dropped == set(range(1, part_count + 1)), (stored, dropped)
    # The page read each part's ETag (exposed by the CORS rule) and completed with them.
    [completion] = completions
    sent = {part["partNumber"]: part["etag"] for part in completion.post_data_json["parts"]}
    assert sorted(sent) == list(range(1, part_count + 1))
    assert all(sent[put.part] == put.etag for put in puts.stored(len(before)))
    assert len({put.key for put in puts.seen()}) == 1
    key = puts.puts[0].key
    assert frozen_original_sha256(s3_admin, demo_bucket, key) == sha256_of_file(big)


def test_a_refused_file_shows_the_services_message(demo: Demo, page: Any, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    page.goto(demo.page_url(demo.token("carol")))
    page.set_input_files("#file", str(notes))
    wait_for(lambda: finished(page), "the refusal")

    status = page.text_content("#status")
    assert status.startswith("Refused: ")
    assert "content_type 'text/plain' is not allowed for POST_IMAGE" in status


def test_a_page_from_an_origin_the_cors_rule_does_not_allow_cannot_put(
    demo: Demo, demo_bucket: str, s3_admin: Any, page: Any, puts: StoragePuts
) -> None:
    token = demo.token("mallory")
    session = requests.post(
        f"{demo.gateway_url}/api/v1/media/upload-session",
        json={
            "purpose": "PURPOSE_POST_IMAGE",
            "fileName": "a.png",
            "contentType": "image/png",
            "sizeBytes": "100",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    other_origin = f"http://127.0.0.1:{demo.page_port}/index.html"  # not http://localhost:...
    page.goto(other_origin)

    outcome = page.evaluate(
        """async ([url, headers]) => {
            const { putWithProgress } = await import("./media-upload.js");
            try {
                await putWithProgress(url, new Blob([new Uint8Array(100)]), { headers });
                return "stored";
            } catch (e) { return e.message; }
        }""",
        [session["singlePut"]["url"], session["singlePut"].get("headers", {})],
    )

    assert outcome == "storage could not be reached (network or CORS)"
    assert puts.stored() == []  # the preflight was refused: no PUT was answered
    with pytest.raises(ClientError) as stored:
        s3_admin.head_object(Bucket=demo_bucket, Key=key_of(session["singlePut"]["url"]))
    assert stored.value.response["Error"]["Code"] == "404"


def test_a_part_whose_put_fails_is_retried_with_backoff_and_the_upload_completes(
    demo: Demo, page: Any, puts: StoragePuts, tmp_path: Path
) -> None:
    image = write_png(tmp_path / "retry.png", (2600, 1400), noise=True)
    part_count = -(-image.stat().st_size // PART_SIZE)
    failed: list[str] = []

    def fail_first_put(route: Any) -> None:
        if route.request.method == "PUT" and not failed:
            failed.append(route.request.url)
            route.fulfill(status=503, body="SlowDown")
        else:
            route.continue_()

    page.route(f"{demo.s3_url}/**", fail_first_put)
    page.goto(demo.page_url(demo.token("dave")))
    page.set_input_files("#file", str(image))
    wait_for(lambda: finished(page), "the upload to finish", 180)

    assert failed, "no part PUT was intercepted"
    assert page.text_content("#status") == "Status: READY"
    stored = sorted(put.part or 1 for put in puts.stored())
    assert stored == list(range(1, part_count + 1))  # each part stored once


def test_abort_stops_the_parts_and_abandons_the_session_with_abort_upload(
    demo: Demo, page: Any, puts: StoragePuts, tmp_path: Path
) -> None:
    big = write_png(tmp_path / "abort.png", (3300, 3200), noise=True)
    part_count = -(-big.stat().st_size // PART_SIZE)
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(  # 2 MiB/s up: the upload is still going when Abort is clicked
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 2 * MiB},
    )
    token = demo.token("erin")
    page.goto(demo.page_url(token) + "&concurrency=2")
    page.set_input_files("#file", str(big))
    wait_for(lambda: page.evaluate("window.demo.progress.some((p) => p > 0)"), "bytes going up")
    page.click("#abort")
    wait_for(lambda: finished(page), "the abort")
    started = len(puts.seen())

    assert page.text_content("#status") == "Aborted."
    with grpc.insecure_channel(f"127.0.0.1:{demo.grpc_port}") as channel:
        listed = media_pb2_grpc.MediaServiceStub(channel).ListMedia(
            pb.ListMediaRequest(), metadata=[("authorization", f"Bearer {token}")]
        )
    [media] = listed.media
    assert media.status == pb.STATUS_FAILED  # AbortUpload was called before "Aborted." showed
    assert media.failure.reason == pb.FAILURE_REASON_ABORTED
    assert 1 <= started < part_count  # the parts not yet begun never were
    resume_keys = "Object.keys(localStorage).filter((k) => k.startsWith('media-upload:'))"
    assert page.evaluate(resume_keys) == []  # a later pick of the file starts afresh
    assert len(puts.seen()) == started  # and no part began after the abort


def test_the_page_shows_the_variant_that_fits_its_width_not_the_full_size_one(
    demo: Demo, page: Any, tmp_path: Path
) -> None:
    photo = write_png(tmp_path / "phone.png", (4032, 3024))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(demo.page_url(demo.token("frank")))
    page.set_input_files("#file", str(photo))
    wait_for(lambda: finished(page), "the upload to finish", 180)
    assert page.text_content("#status") == "Status: READY"
    wait_for(
        lambda: page.evaluate("document.getElementById('variant')?.naturalWidth > 0"),
        "the variant image to load",
        30,
    )
    shown = page.evaluate(
        """() => {
            const img = document.getElementById("variant");
            return [img.alt, img.naturalWidth, document.getElementById("result").clientWidth,
                    window.devicePixelRatio];
        }"""
    )
    alt, natural, width, ratio = shown
    assert width * ratio <= natural < 4032, shown  # sharp, but not the 4032 px original
    assert alt == "w1200 variant", shown  # the smallest of the widths 150 … 1200, 4032 that fits
