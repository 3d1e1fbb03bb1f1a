"""The app's whole upload flow in a real browser: the demo page, the browser module, the
reference gateway and the embedded S3 (CORS as the bucket says), as `make demo` runs them."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from tests.browser.conftest import PART_SIZE, ROOT, Demo
from tests.waiting import eventually

SCREENSHOT = ROOT / "docs" / "images" / "demo-page.png"
#: An access-log line of the embedded S3 for a stored PUT of an upload (part or whole).
MiB = 1024 * 1024
STORED_PUT = re.compile(r"media_grpc\.embedded\.s3 PUT /media/(uploads/(?:posts|profiles)/\S+) 200")


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 120) -> Any:
    return eventually(condition, what, seconds)


def stored_puts(demo: Demo, since: int) -> list[str]:
    """Keys of the PUTs storage answered 200 since byte ``since`` of its log."""
    assert demo.log_path is not None
    with open(demo.log_path, "rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    return STORED_PUT.findall(text)


def log_size(demo: Demo) -> int:
    assert demo.log_path is not None
    return demo.log_path.stat().st_size


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
    demo: Demo, page: Any, tmp_path: Path
) -> None:
    picture = write_png(tmp_path / "sky.png", (640, 400))
    page.goto(demo.page_url(demo.token("alice")))
    page.set_input_files("#file", str(picture))
    wait_for(lambda: finished(page), "the upload to finish")

    progress = page.evaluate("window.demo.progress")
    assert progress[-1] == 100
    assert progress == sorted(progress)
    assert page.text_content("#status") == "Status: READY"
    wait_for(
        lambda: page.evaluate("document.getElementById('variant')?.naturalWidth > 0"),
        "the variant image to load",
        30,
    )
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 0


def test_a_30_mib_multipart_upload_resumes_after_a_reload_sending_only_missing_parts(
    demo: Demo, page: Any, tmp_path: Path
) -> None:
    big = write_png(tmp_path / "big.png", (3300, 3200), noise=True)
    size = big.stat().st_size
    part_count = -(-size // PART_SIZE)
    assert size >= 30 * 1024 * 1024 and part_count >= 6
    since = log_size(demo)
    page.goto(demo.page_url(demo.token("bob")) + "&concurrency=2")
    page.set_input_files("#file", str(big))
    wait_for(lambda: len(stored_puts(demo, since)) >= 2, "two parts stored")
    page.reload()

    page.set_input_files("#file", str(big))
    wait_for(lambda: finished(page), "the resumed upload to finish", 240)

    assert page.text_content("#status") == "Status: READY"
    progress = page.evaluate("window.demo.progress")
    assert progress[0] >= 2 * PART_SIZE * 100 // size  # the stored parts count from the start
    assert progress[-1] == 100
    puts = stored_puts(demo, since)
    assert len(puts) == part_count  # every part stored once: none sent again after the reload
    assert len(set(puts)) == 1


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
    demo: Demo, page: Any
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
    since = log_size(demo)
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
    assert stored_puts(demo, since) == []


def test_a_part_whose_put_fails_is_retried_with_backoff_and_the_upload_completes(
    demo: Demo, page: Any, tmp_path: Path
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

    page.route(f"http://127.0.0.1:{demo.s3_port}/**", fail_first_put)
    since = log_size(demo)
    page.goto(demo.page_url(demo.token("dave")))
    page.set_input_files("#file", str(image))
    wait_for(lambda: finished(page), "the upload to finish", 180)

    assert failed, "no part PUT was intercepted"
    assert page.text_content("#status") == "Status: READY"
    assert len(stored_puts(demo, since)) == part_count


def test_abort_stops_the_parts_and_abandons_the_session_with_abort_upload(
    demo: Demo, page: Any, tmp_path: Path
) -> None:
    big = write_png(tmp_path / "abort.png", (3300, 3200), noise=True)
    part_count = -(-big.stat().st_size // PART_SIZE)
    puts: list[str] = []
    page.on("request", lambda request: puts.append(request.url) if request.method == "PUT" else 0)
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
    started = len(puts)

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
    assert len(puts) == started  # and no part began after the abort


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
