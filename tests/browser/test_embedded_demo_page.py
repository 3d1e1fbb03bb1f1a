"""A bare `make demo` in a real browser: the embedded S3, no S3 settings.

This proves what the strict-S3 tests (test_demo_page.py) cannot: that the embedded start-up
writes the bucket's CORS rule for the demo page's origin by itself (no `storage init`), and that
the embedded S3 answers the browser's preflight, checks the presigned PUT and serves the public
variant, so the first thing a new user opens works. The flows themselves (multipart, resume,
retry, abort, refused origin) are proven on the strict S3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import Demo
from tests.browser.storage_puts import StoragePuts
from tests.browser.test_demo_page import finished, wait_for, write_png


def test_a_bare_make_demo_stores_the_browsers_put_in_the_embedded_s3_and_shows_the_variant(
    embedded_demo: Demo, page: Any, tmp_path: Path
) -> None:
    puts = StoragePuts(page, embedded_demo.s3_url)
    picture = write_png(tmp_path / "sky.png", (640, 400))
    page.goto(embedded_demo.page_url(embedded_demo.token("alice")))
    page.set_input_files("#file", str(picture))
    wait_for(lambda: finished(page), "the upload to finish")

    assert page.text_content("#status") == "Status: READY"
    assert [(put.part, put.status) for put in puts.seen()] == [(None, 200)]
    wait_for(
        lambda: page.evaluate("document.getElementById('variant')?.naturalWidth > 0"),
        "the variant image to load from the embedded S3",
        30,
    )
    assert page.evaluate("document.getElementById('variant').src").startswith(
        embedded_demo.s3_url + "/"
    )
