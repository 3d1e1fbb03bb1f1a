"""`make demo`'s parts (service, reference gateway, demo page) driven by Debian's Chromium through
Playwright: the system browser, nothing downloaded at run time.

``demo`` runs them on the strict S3 (Ceph's RADOS Gateway, tests/services.py ``strict_s3()``),
in a bucket of the module's own that `storage init` sets up (CORS for the page's origin, bucket
policy, lifecycle rules), as `make demo` does with ``MEDIA_S3_ENDPOINT_URL`` set; the bucket is
deleted afterwards. ``embedded_demo`` runs them as a bare `make demo` does, on the embedded S3.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

from demo import Demo, free_port  # noqa: E402

from tests.s3_buckets import client_of, delete_bucket, unique_bucket  # noqa: E402
from tests.services import S3Service, strict_s3  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Small parts, so a 30 MiB upload has six of them.
PART_SIZE = 5 * 1024 * 1024


@contextmanager
def running_demo(base: Path, s3_env: dict[str, str]) -> Iterator[Demo]:
    """The demo on free ports with :data:`PART_SIZE` parts, its service's output in
    ``base/serve.log``; stopped afterwards."""
    running = Demo(
        base / "data",
        page_port=free_port(),
        gateway_port=free_port(),
        grpc_port=free_port(),
        s3_port=free_port(),
        log_path=base / "serve.log",
        s3_env=s3_env,
    )
    try:
        yield running.start({"MEDIA_UPLOADS__PART_SIZE_BYTES": str(PART_SIZE)})
    finally:
        running.stop()


@pytest.fixture(scope="module")
def strict_s3_service() -> S3Service:
    return strict_s3()


@pytest.fixture(scope="module")
def s3_admin(strict_s3_service: S3Service) -> Any:
    """A boto3 client of the strict S3: what the tests read back from storage."""
    return client_of(strict_s3_service)


@pytest.fixture(scope="module")
def demo_bucket(s3_admin: Any) -> Iterator[str]:
    """The name of the module's bucket, which `storage init` creates; deleted afterwards."""
    bucket = unique_bucket("media-browser")
    try:
        yield bucket
    finally:
        delete_bucket(s3_admin, bucket)


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, strict_s3_service: S3Service, demo_bucket: str
) -> Iterator[Demo]:
    """The demo on the strict S3 (see the module docstring)."""
    s3_env = {
        "MEDIA_S3_ENDPOINT_URL": strict_s3_service.url,
        "MEDIA_S3_ACCESS_KEY_ID": strict_s3_service.access_key,
        "MEDIA_S3_SECRET_ACCESS_KEY": strict_s3_service.secret_key,
        "MEDIA_S3_BUCKET": demo_bucket,
    }
    with running_demo(tmp_path_factory.mktemp("demo"), s3_env) as running:
        yield running


@pytest.fixture(scope="module")
def embedded_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo on the embedded S3, as a bare `make demo` runs it."""
    with running_demo(tmp_path_factory.mktemp("embedded-demo"), {}) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: `make test` installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()
