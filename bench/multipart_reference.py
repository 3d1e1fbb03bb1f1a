"""The multipart benchmark's references: what the S3 endpoint itself takes, each request sent
alone with boto3 to the same endpoint and bucket, and the server's own log of its calls.

CompleteUpload of a multipart upload makes these storage calls and no other: ListParts and
CompleteMultipartUpload (service/multipart.py ``assemble``), then one ranged GET of the first
SNIFF_BYTES (service/verification.py ``verify``, through ``read_start``). No HEAD: that is only
asked when ListParts finds the upload gone.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.stack import Stack
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.sniffing import SNIFF_BYTES

#: CompleteUpload's storage calls for a multipart upload, in the order it makes them.
COMPLETION_CALLS = (
    "ListParts",
    "CompleteMultipartUpload",
    f"ranged GET of the first {SNIFF_BYTES // 1024} KiB",
)
_TEXT_FIELD = re.compile(r"\b(method|media_id|duration_ms)=(\S+)")


def s3_client(running: Stack) -> Any:
    return running.s3.client()


def delete_big_objects(running: Stack, smallest: int = 2**20) -> None:
    """Delete every object of ``smallest`` bytes or more: the endpoint (the strict S3 on
    memstore) holds objects in its memory, and each round's uploads would otherwise stay there
    for the rounds after."""
    s3 = s3_client(running)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=running.bucket):
        for item in page.get("Contents", []):
            if item["Size"] >= smallest:
                s3.delete_object(Bucket=running.bucket, Key=item["Key"])
    running.s3.collect_garbage()


def raw_put(running: Stack, data: bytes, n: int) -> float:
    """Seconds for one presigned PUT of ``data`` to the same endpoint and bucket."""
    s3 = s3_client(running)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": running.bucket, "Key": f"raw/{n}.mp4"}, ExpiresIn=900
    )
    started = time.perf_counter()
    requests.put(url, data=data, timeout=600).raise_for_status()
    elapsed = time.perf_counter() - started
    s3.delete_object(Bucket=running.bucket, Key=f"raw/{n}.mp4")
    return elapsed


def raw_parts(running: Stack, data: bytes, n: int, parallel: int) -> float:
    """Seconds for the part PUTs alone of ``data`` as a multipart upload in parts of the
    server's default size, ``parallel`` at a time, each to a presigned part URL with requests
    from memory (no session, no hashing, no reading of a file): what the store itself takes
    for the parts ours sends."""
    s3, key = s3_client(running), f"raw-parts/{n}.mp4"
    bucket, part_size = running.bucket, UploadSettings().part_size_bytes
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    offsets = list(range(0, len(data), part_size))
    urls = [
        s3.generate_presigned_url(
            "upload_part",
            Params={"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=900,
        )
        for number in range(1, len(offsets) + 1)
    ]

    def send(number: int) -> None:
        offset = offsets[number - 1]
        with requests.put(
            urls[number - 1], data=data[offset : offset + part_size], timeout=600
        ) as answer:
            answer.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(send, range(1, len(offsets) + 1)))
    elapsed = time.perf_counter() - started
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    return elapsed


def completion_calls(running: Stack, data: bytes, n: int) -> dict[str, float]:
    """Seconds of each of CompleteUpload's storage calls (COMPLETION_CALLS) for ``data`` sent
    as a multipart upload in parts of the server's default size, each call timed alone."""
    s3, key = s3_client(running), f"raw-multipart/{n}.mp4"
    bucket, part_size = running.bucket, UploadSettings().part_size_bytes
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, offset in enumerate(range(0, len(data), part_size), start=1):
        answer = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data[offset : offset + part_size],
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    seconds = []
    started = time.perf_counter()
    marker = 0
    while True:  # paged as the server's adapter pages it
        listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
        if not listed.get("IsTruncated"):
            break
        marker = int(listed["NextPartNumberMarker"])
    seconds.append(time.perf_counter() - started)
    started = time.perf_counter()
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    seconds.append(time.perf_counter() - started)
    started = time.perf_counter()
    s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{SNIFF_BYTES - 1}")["Body"].read()
    seconds.append(time.perf_counter() - started)
    s3.delete_object(Bucket=bucket, Key=key)
    return dict(zip(COMPLETION_CALLS, seconds, strict=True))


def logged_durations(log: Path, method: str) -> dict[str, float]:
    """Seconds the server logged for each call of ``method`` (its ``rpc`` line's duration_ms,
    taken around the handler), by media id; JSON or text log lines."""
    found: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                fields = {k: str(v) for k, v in json.loads(line).items()}
            except ValueError:
                continue
        else:
            fields = dict(_TEXT_FIELD.findall(line))
        if fields.get("method", "").endswith(f"/{method}") and "duration_ms" in fields:
            found[fields.get("media_id", "")] = float(fields["duration_ms"]) / 1000
    return found
