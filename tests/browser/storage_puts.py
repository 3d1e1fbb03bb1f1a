"""The PUTs a page sends to storage and what storage answered, as the browser saw them
(Playwright's request, response and requestfailed events), and the bytes storage then holds
(read back with boto3)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from media_grpc.domain.keys import frozen_original_key


def key_of(url: str) -> str:
    """The object key of a path-style URL (``{endpoint}/{bucket}/{key}?...``)."""
    _bucket, _, key = unquote(urlparse(url).path).lstrip("/").partition("/")
    return key


@dataclass
class Put:
    """One PUT to storage: ``part`` None for a single PUT; ``status`` None while unanswered
    (or when the browser dropped it, e.g. on a reload)."""

    key: str
    part: int | None
    status: int | None = None
    etag: str | None = None


class StoragePuts:
    """Every PUT ``page`` sends to ``s3_url`` (path-style: ``{s3_url}/{bucket}/{key}``).

    Playwright delivers events only while the test is inside one of its calls: :meth:`seen`
    makes such a call first, so a poll of it sees what happened meanwhile.
    """

    def __init__(self, page: Any, s3_url: str) -> None:
        self.page = page
        self.s3_url = s3_url.rstrip("/")
        self.puts: list[Put] = []
        self._by_request: dict[Any, Put] = {}
        page.on("request", self._sent)
        page.on("response", self._answered)

    def _sent(self, request: Any) -> None:
        if request.method != "PUT" or not request.url.startswith(self.s3_url + "/"):
            return
        part = parse_qs(urlparse(request.url).query).get("partNumber")
        put = Put(key_of(request.url), int(part[0]) if part else None)
        self.puts.append(put)
        self._by_request[request] = put

    def _answered(self, response: Any) -> None:
        put = self._by_request.get(response.request)
        if put is not None:
            put.status = response.status
            put.etag = response.headers.get("etag")

    def seen(self, since: int = 0) -> list[Put]:
        """The PUTs sent since the ``since``-th, after Playwright delivered its pending events."""
        self.page.evaluate("0")
        return self.puts[since:]

    def stored(self, since: int = 0) -> list[Put]:
        """The PUTs since the ``since``-th that storage answered 200."""
        return [put for put in self.seen(since) if put.status == 200]


def sha256_of_file(path: Any) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def frozen_original_sha256(s3: Any, bucket: str, upload_key: str) -> str:
    """The sha256 of the original the processing job froze from ``upload_key``, read back from
    storage with the operator's keys."""
    body = s3.get_object(Bucket=bucket, Key=frozen_original_key(upload_key))["Body"]
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()
