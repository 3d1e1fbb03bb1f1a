"""The browser module declares the file's sha256 (SubtleCrypto) in CreateUploadSession, so a file
its owner already has READY is not sent again: the demo page on the strict S3, as in
test_demo_page.py. A file over the hashing cap, or a page without SubtleCrypto, declares none and
uploads as before.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from tests.browser.conftest import Demo
from tests.browser.storage_puts import StoragePuts, sha256_of_file
from tests.browser.test_demo_page import finished, wait_for, write_png


def is_session(response: Any) -> bool:
    return bool(response.url.endswith("/api/v1/media/upload-session"))


def pick(page: Any, path: Path) -> dict[str, Any]:
    """Pick ``path`` in the page and wait for the upload to finish; the CreateUploadSession
    request's JSON body and the gateway's JSON answer."""
    with page.expect_response(is_session) as answered:
        page.set_input_files("#file", str(path))
    session = answered.value
    body: dict[str, Any] = session.request.post_data_json
    answer: dict[str, Any] = session.json()
    wait_for(lambda: finished(page), f"the upload of {path.name} to finish", 180)
    return {"request": body, "answer": answer}


def listed_media(demo: Demo, token: str) -> list[Any]:
    with grpc.insecure_channel(f"127.0.0.1:{demo.grpc_port}") as channel:
        listed = media_pb2_grpc.MediaServiceStub(channel).ListMedia(
            pb.ListMediaRequest(), metadata=[("authorization", f"Bearer {token}")]
        )
    return list(listed.media)


@pytest.mark.parametrize(
    ("size", "noise", "parts"),
    [((640, 400), False, None), ((1800, 1800), True, {1, 2})],
    ids=["single-put", "multipart"],
)
def test_the_same_file_picked_again_sends_no_put_and_is_a_new_ready_media(
    demo: Demo,
    page: Any,
    tmp_path: Path,
    size: tuple[int, int],
    noise: bool,
    parts: set[int] | None,
) -> None:
    picture = write_png(tmp_path / "again.png", size, noise=noise)
    token = demo.token(f"dedupe-{uuid.uuid4().hex[:8]}")
    puts = StoragePuts(page, demo.s3_url)
    page.goto(demo.page_url(token))

    first = pick(page, picture)
    assert page.text_content("#status") == "Status: READY"
    assert first["request"]["sha256"] == sha256_of_file(picture)
    assert not first["answer"].get("deduplicated")
    sent = puts.stored()
    assert {put.part for put in sent} == (parts or {None})
    if parts is None:  # the single PUT carried the signed checksum header, and CORS let it pass
        assert "x-amz-checksum-sha256" in first["answer"]["singlePut"]["headers"]
    page.reload()  # a fresh page: window.demo starts over

    second = pick(page, picture)

    assert second["request"]["sha256"] == first["request"]["sha256"]
    assert second["answer"]["deduplicated"] is True
    assert "singlePut" not in second["answer"] and "multipart" not in second["answer"]
    assert puts.seen(len(sent)) == []  # no byte went to storage
    assert page.text_content("#status") == "Status: READY"
    assert page.evaluate("window.demo.progress") == [100]
    wait_for(
        lambda: page.evaluate("document.getElementById('variant')?.naturalWidth > 0"),
        "the shared variant image to load",
        30,
    )
    media = {m.id: m.status for m in listed_media(demo, token)}
    assert media == {
        first["answer"]["mediaId"]: pb.STATUS_READY,
        second["answer"]["mediaId"]: pb.STATUS_READY,
    }
    assert second["answer"]["mediaId"] != first["answer"]["mediaId"]


def test_a_file_over_the_hashing_cap_declares_no_sha256_and_uploads_in_one_put(
    demo: Demo, page: Any, tmp_path: Path
) -> None:
    picture = write_png(tmp_path / "over-cap.png", (640, 400))
    cap = 1024
    assert picture.stat().st_size > cap
    puts = StoragePuts(page, demo.s3_url)
    page.goto(demo.page_url(demo.token(f"cap-{uuid.uuid4().hex[:8]}")) + f"&maxHashBytes={cap}")

    session = pick(page, picture)

    assert "sha256" not in session["request"]
    assert "x-amz-checksum-sha256" not in session["answer"]["singlePut"].get("headers", {})
    assert page.text_content("#status") == "Status: READY"
    assert [(put.part, put.status) for put in puts.seen()] == [(None, 200)]


def test_a_page_without_subtle_crypto_declares_no_sha256_and_uploads(
    demo: Demo, page: Any, tmp_path: Path
) -> None:
    picture = write_png(tmp_path / "insecure.png", (320, 200))
    page.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'subtle', { get: () => undefined })"
    )
    puts = StoragePuts(page, demo.s3_url)
    page.goto(demo.page_url(demo.token(f"nosubtle-{uuid.uuid4().hex[:8]}")))
    assert page.evaluate("globalThis.crypto?.subtle") is None

    session = pick(page, picture)

    assert "sha256" not in session["request"]
    assert page.text_content("#status") == "Status: READY"
    assert [(put.part, put.status) for put in puts.seen()] == [(None, 200)]
