"""The embedded S3 holds bodies on disk, not in memory: a ranged GET reads only its range,
completing a multipart upload reads no part, and the process does not grow with what it stores.

Bytes read are this process's ``rchar`` (every byte ``read()`` returned, page cache included,
from /proc/self/io); the endpoint runs in this process, and the test's own reads are small.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig

from tests.embedded_s3 import embedded_client, running_local_s3

MiB = 1024 * 1024
OBJECT = 96 * MiB
PART = 8 * MiB


class Pattern:
    """A readable stream of ``size`` bytes made as they are read (never all in memory)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.position if n < 0 else min(n, self.size - self.position)
        start = self.position
        self.position += n
        return _pattern(start, n)


def _pattern(start: int, n: int) -> bytes:
    cycle = bytes(range(251))
    offset = start % 251
    repeated = cycle[offset:] + cycle * (n // 251 + 2)
    return repeated[:n]


def rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[Any]:
    """A client of an embedded S3 keeping its data under ``tmp_path``."""
    with running_local_s3(tmp_path / "s3") as local:
        yield embedded_client(local.endpoint_url)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"disk-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    return name


def upload(s3: Any, bucket: str, key: str, size: int) -> None:
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=2)
    s3.upload_fileobj(Pattern(size), bucket, key, Config=config)


def test_a_ranged_get_reads_only_its_range(s3: Any, bucket: str) -> None:
    upload(s3, bucket, "big", OBJECT)
    middle = OBJECT // 2 + 12345
    before = rchar()
    answer = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={middle}-{middle + 65535}")
    data = answer["Body"].read()
    read = rchar() - before
    assert data == _pattern(middle, 65536)
    assert answer["ContentRange"] == f"bytes {middle}-{middle + 65535}/{OBJECT}"
    assert read < 2 * MiB, f"a 64 KiB range read {read} bytes"


def test_completing_a_multipart_upload_reads_none_of_its_parts(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    parts = []
    for number in range(1, 5):
        body = _pattern((number - 1) * 6 * MiB, 6 * MiB)
        etag = s3.upload_part(
            Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    before = rchar()
    s3.complete_multipart_upload(
        Bucket=bucket, Key="assembled", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    read = rchar() - before
    assert read < 1 * MiB, f"completing 24 MiB read {read} bytes"
    head = s3.head_object(Bucket=bucket, Key="assembled")
    assert (head["ContentLength"], head["ETag"].endswith('-4"')) == (24 * MiB, True)
    tail = s3.get_object(
        Bucket=bucket, Key="assembled", Range=f"bytes={6 * MiB - 10}-{6 * MiB + 9}"
    )
    assert tail["Body"].read() == _pattern(6 * MiB - 10, 20)


#: The endpoint alone in a child process: prints its URL, serves until its stdin closes (so it
#: dies with the test).
ENDPOINT_PROCESS = """
import sys
from pathlib import Path
from media_grpc.embedded.local_s3 import LocalS3
local = LocalS3(0, Path(sys.argv[1]))
print(local.start(), flush=True)
sys.stdin.read()
local.stop()
"""


@pytest.fixture
def endpoint_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", ENDPOINT_PROCESS, str(tmp_path / "child-s3")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        yield child, child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def test_the_endpoint_process_does_not_grow_with_what_it_stores_and_serves(
    endpoint_process: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    child, url = endpoint_process
    s3 = embedded_client(url)
    s3.create_bucket(Bucket="memory")
    upload(s3, "memory", "warm-up", PART * 2)  # threads, buffers, first allocations
    before = rss_bytes(child.pid)
    for number in range(3):
        upload(s3, "memory", f"big-{number}", OBJECT)
    s3.download_file("memory", "big-0", str(tmp_path / "copy"))
    grown = rss_bytes(child.pid) - before
    assert (tmp_path / "copy").stat().st_size == OBJECT
    assert grown < 32 * MiB, (
        f"storing and reading 3 x 96 MiB grew the endpoint by {grown // MiB} MiB"
    )
