"""What the storage probes work with: the scratch prefix, presigning, results, URL surgery."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError

#: Prefix of every key the check writes.
SCRATCH_PREFIX = "_media-grpc-check/"
#: Seconds a request of the check may take.
HTTP_TIMEOUT_SECONDS = 10.0
#: Lifetime of the URL the expiry probe uses, and how long after signing it is tried.
EXPIRING_URL_SECONDS = 1
EXPIRED_AFTER_SECONDS = 2.5


class Probe(StrEnum):
    VALID_PUT = "valid-put"
    UNSIGNED = "unsigned"
    TAMPERED_SIGNATURE = "tampered-signature"
    EXPIRED = "expired"
    OTHER_KEY = "other-key"
    CONTENT_TYPE = "content-type"
    CONTENT_LENGTH = "content-length"
    CHECKSUM_SHA256 = "checksum-sha256"
    CONTENT_MD5 = "content-md5"
    WRONG_ETAG = "multipart-wrong-etag"
    SMALL_PART = "multipart-small-part"
    PART_AFTER_ABORT = "multipart-part-after-abort"
    CORS_ALLOWED = "cors-allowed-origin"
    CORS_DISALLOWED = "cors-disallowed-origin"
    VERSIONING = "versioning"
    ABORT_RULE = "abort-incomplete-multipart-rule"
    ORIGINAL_PRIVATE = "original-private"
    DERIVATIVE_PUBLIC = "derivative-public"
    ARCHIVE_RULE = "archive-originals-rule"
    ARCHIVE_CLASS = "archive-storage-class"


@dataclass(frozen=True)
class ProbeResult:
    """One line of the report. ``enforced`` is None when the probe could not tell."""

    probe: Probe
    name: str
    enforced: bool | None
    detail: str
    #: How to say True / False for this probe (a bucket setting is "on", not "enforced").
    labels: tuple[str, str] = ("enforced", "NOT enforced")

    @property
    def verdict(self) -> str:
        if self.enforced is None:
            return "unknown"
        return self.labels[0] if self.enforced else self.labels[1]


@dataclass
class Scratch:
    """The bucket, a scratch prefix in it and an HTTP session: what every probe works with."""

    client: Any
    bucket: str
    prefix: str = field(default_factory=lambda: f"{SCRATCH_PREFIX}{uuid.uuid4().hex}/")
    http: requests.Session = field(default_factory=requests.Session)
    #: Every prefix written to: the scratch prefix, and its copies under the bucket's top
    #: prefixes (``uploads/``, ``variants/``...) for the probes of who may read what.
    written: set[str] = field(default_factory=set)

    def key(self, name: str) -> str:
        self.written.add(self.prefix)
        return f"{self.prefix}{name}"

    def key_under(self, top: str, name: str) -> str:
        """A scratch key under a top-level prefix, e.g. ``uploads/_media-grpc-check/{uuid}/x``."""
        self.written.add(f"{top}{self.prefix}")
        return f"{top}{self.prefix}{name}"

    def presign(self, operation: str, params: dict[str, Any], expires_in: int = 300) -> str:
        presign: Callable[..., str] = self.client.generate_presigned_url
        return presign(
            operation,
            Params={"Bucket": self.bucket, **params},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )

    def presign_put(
        self, key: str, body: bytes, content_type: str = "text/plain", **extra: Any
    ) -> str:
        """A presigned PUT with Content-Type and Content-Length signed, as the service makes."""
        expires_in = int(extra.pop("expires_in", 300))
        params = {"Key": key, "ContentType": content_type, "ContentLength": len(body), **extra}
        return self.presign("put_object", params, expires_in)

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, url, timeout=HTTP_TIMEOUT_SECONDS, **kwargs)

    def cleanup(self) -> None:
        """Abort the scratch multipart uploads and delete every scratch object and version."""
        quietly(self._abort_uploads)
        quietly(self._delete_objects)
        self.http.close()

    def _abort_uploads(self) -> None:
        for prefix in sorted(self.written):
            self._abort_uploads_under(prefix)

    def _abort_uploads_under(self, prefix: str) -> None:
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        for upload in uploads.get("Uploads", []):
            quietly(
                partial(
                    self.client.abort_multipart_upload,
                    Bucket=self.bucket,
                    Key=upload["Key"],
                    UploadId=upload["UploadId"],
                )
            )

    def _delete_objects(self) -> None:
        for prefix in sorted(self.written):
            quietly(partial(self._delete_objects_under, prefix))

    def _delete_objects_under(self, prefix: str) -> None:
        targets = self._scratch_objects(prefix)
        for start in range(0, len(targets), 1000):
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": targets[start : start + 1000], "Quiet": True}
            )

    def _scratch_objects(self, prefix: str) -> list[dict[str, str]]:
        """Every version and delete marker; the plain keys where versions cannot be listed (R2)."""
        try:
            versions = self.client.list_object_versions(Bucket=self.bucket, Prefix=prefix)
        except ClientError:
            listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
            return [{"Key": obj["Key"]} for obj in listed.get("Contents", [])]
        targets = []
        for entry in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]:
            target = {"Key": entry["Key"]}
            if entry.get("VersionId") and entry["VersionId"] != "null":
                target["VersionId"] = entry["VersionId"]
            targets.append(target)
        return targets


def quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except (ClientError, BotoCoreError):
        return


def unsigned_url(url: str) -> str:
    """The object's URL without the presigned query string."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def with_other_key(url: str, name: str) -> str:
    """The same signed query on another key (the last path segment replaced by ``name``)."""
    parts = urlsplit(url)
    path = parts.path.rsplit("/", 1)[0] + "/" + name
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def with_tampered_signature(url: str) -> str:
    parts = urlsplit(url)
    head, _, signature = parts.query.partition("X-Amz-Signature=")
    flipped = ("1" if signature[:1] == "0" else "0") + signature[1:]
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, f"{head}X-Amz-Signature={flipped}", "")
    )


def describe(answer: requests.Response) -> str:
    """``accepted (200)`` or ``rejected (403 SignatureDoesNotMatch)``."""
    if answer.ok:
        return f"accepted ({answer.status_code})"
    code = ""
    if "<Code>" in answer.text:
        code = " " + answer.text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    return f"rejected ({answer.status_code}{code})"
