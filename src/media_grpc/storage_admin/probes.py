"""The probes of `storage check`: each sends what storage should refuse and says what happened."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass

import requests
from botocore.exceptions import ClientError

from media_grpc.storage_admin.bucket_settings import error_code, lifecycle_rules
from media_grpc.storage_admin.probing import (
    EXPIRED_AFTER_SECONDS,
    EXPIRING_URL_SECONDS,
    Probe,
    ProbeResult,
    Scratch,
    describe,
    unsigned_url,
    with_other_key,
    with_tampered_signature,
)
from media_grpc.storage_admin.setup import is_abort_rule

#: What every probe uploads.
BODY = b"media-grpc storage check\n"
CONTENT_TYPE = "text/plain"
_SIGNED_HEADERS = {"Content-Type": CONTENT_TYPE}


@dataclass(frozen=True)
class ExpiringUrl:
    url: str
    #: ``time.monotonic()`` after which the URL has expired.
    try_at: float


def _refusal(probe: Probe, name: str, answer: requests.Response) -> ProbeResult:
    return ProbeResult(probe, name, enforced=not answer.ok, detail=describe(answer))


def sign_expiring_url(scratch: Scratch) -> ExpiringUrl:
    """Signed first, tried last: the other probes run while it expires."""
    url = scratch.presign_put(scratch.key("expired"), BODY, expires_in=EXPIRING_URL_SECONDS)
    return ExpiringUrl(url, time.monotonic() + EXPIRED_AFTER_SECONDS)


def valid_put(scratch: Scratch) -> ProbeResult:
    """The control: a correct presigned PUT must work, or no other answer means anything."""
    answer = scratch.send(
        "PUT", scratch.presign_put(scratch.key("valid"), BODY), data=BODY, headers=_SIGNED_HEADERS
    )
    detail = describe(answer)
    if not answer.ok:
        detail += ": check the credentials, the region and this machine's clock"
    return ProbeResult(
        Probe.VALID_PUT, "PUT with a valid presigned URL", answer.ok, detail, ("works", "FAILS")
    )


def expired(scratch: Scratch, url: str) -> ProbeResult:
    answer = scratch.send("PUT", url, data=BODY, headers=_SIGNED_HEADERS)
    return _refusal(Probe.EXPIRED, "PUT after the URL expired", answer)


def put_probes(scratch: Scratch) -> list[ProbeResult]:
    signed = scratch.presign_put(scratch.key("signed"), BODY)
    other_sha256 = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    other_md5 = base64.b64encode(hashlib.md5(b"other bytes").digest()).decode()  # noqa: S324
    sha_url = scratch.presign_put(scratch.key("sha256"), BODY, ChecksumSHA256=other_sha256)
    md5_url = scratch.presign_put(scratch.key("md5"), BODY, ContentMD5=other_md5)
    put = scratch.send
    return [
        _refusal(
            Probe.UNSIGNED,
            "PUT without a signature",
            put("PUT", unsigned_url(signed), data=BODY, headers=_SIGNED_HEADERS),
        ),
        _refusal(
            Probe.TAMPERED_SIGNATURE,
            "PUT with a tampered signature",
            put("PUT", with_tampered_signature(signed), data=BODY, headers=_SIGNED_HEADERS),
        ),
        _refusal(
            Probe.OTHER_KEY,
            "PUT to a different key than signed",
            put("PUT", with_other_key(signed, "other-key"), data=BODY, headers=_SIGNED_HEADERS),
        ),
        _refusal(
            Probe.CONTENT_TYPE,
            "PUT with a Content-Type other than signed",
            put("PUT", signed, data=BODY, headers={"Content-Type": "image/png"}),
        ),
        _refusal(
            Probe.CONTENT_LENGTH,
            "PUT with a Content-Length other than signed",
            put("PUT", signed, data=BODY + b"more", headers=_SIGNED_HEADERS),
        ),
        _refusal(
            Probe.CHECKSUM_SHA256,
            "PUT with a wrong x-amz-checksum-sha256",
            put(
                "PUT",
                sha_url,
                data=BODY,
                headers={**_SIGNED_HEADERS, "x-amz-checksum-sha256": other_sha256},
            ),
        ),
        _refusal(
            Probe.CONTENT_MD5,
            "PUT with a wrong Content-MD5",
            put("PUT", md5_url, data=BODY, headers={**_SIGNED_HEADERS, "Content-MD5": other_md5}),
        ),
    ]


def skipped_put_probes() -> list[ProbeResult]:
    detail = "not tried: a valid presigned PUT failed"
    names = {
        Probe.UNSIGNED: "PUT without a signature",
        Probe.TAMPERED_SIGNATURE: "PUT with a tampered signature",
        Probe.EXPIRED: "PUT after the URL expired",
        Probe.OTHER_KEY: "PUT to a different key than signed",
        Probe.CONTENT_TYPE: "PUT with a Content-Type other than signed",
        Probe.CONTENT_LENGTH: "PUT with a Content-Length other than signed",
        Probe.CHECKSUM_SHA256: "PUT with a wrong x-amz-checksum-sha256",
        Probe.CONTENT_MD5: "PUT with a wrong Content-MD5",
    }
    return [ProbeResult(probe, name, None, detail) for probe, name in names.items()]


def _put_part(scratch: Scratch, key: str, upload_id: str, number: int) -> requests.Response:
    url = scratch.presign("upload_part", {"Key": key, "UploadId": upload_id, "PartNumber": number})
    return scratch.send("PUT", url, data=BODY)


def _complete(scratch: Scratch, key: str, upload_id: str, etags: list[str]) -> str | None:
    """Complete with these ETags; returns the error code, or None when storage accepted."""
    parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]
    try:
        scratch.client.complete_multipart_upload(
            Bucket=scratch.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except ClientError as e:
        return error_code(e) or "error"
    return None


def _start(scratch: Scratch, name: str) -> tuple[str, str]:
    key = scratch.key(name)
    answer = scratch.client.create_multipart_upload(
        Bucket=scratch.bucket, Key=key, ContentType=CONTENT_TYPE
    )
    return key, str(answer["UploadId"])


def _completion(probe: Probe, name: str, refused: str | None) -> ProbeResult:
    detail = f"rejected ({refused})" if refused else "accepted"
    return ProbeResult(probe, name, enforced=refused is not None, detail=detail)


def wrong_etag(scratch: Scratch) -> ProbeResult:
    name = "multipart: wrong ETag at completion"
    key, upload_id = _start(scratch, "multipart-wrong-etag")
    part = _put_part(scratch, key, upload_id, 1)
    if not part.ok:
        return ProbeResult(Probe.WRONG_ETAG, name, None, f"part upload {describe(part)}")
    refused = _complete(scratch, key, upload_id, ['"' + "0" * 32 + '"'])
    return _completion(Probe.WRONG_ETAG, name, refused)


def small_part(scratch: Scratch) -> ProbeResult:
    name = "multipart: non-last part under 5 MiB"
    key, upload_id = _start(scratch, "multipart-small-part")
    parts = [_put_part(scratch, key, upload_id, n) for n in (1, 2)]
    failed = [p for p in parts if not p.ok]
    if failed:
        return ProbeResult(Probe.SMALL_PART, name, None, f"part upload {describe(failed[0])}")
    refused = _complete(scratch, key, upload_id, [p.headers.get("ETag", "") for p in parts])
    return _completion(Probe.SMALL_PART, name, refused)


def part_after_abort(scratch: Scratch) -> ProbeResult:
    key, upload_id = _start(scratch, "multipart-after-abort")
    scratch.client.abort_multipart_upload(Bucket=scratch.bucket, Key=key, UploadId=upload_id)
    answer = _put_part(scratch, key, upload_id, 1)
    return _refusal(Probe.PART_AFTER_ABORT, "multipart: part uploaded after abort", answer)


def multipart_probes(scratch: Scratch) -> list[ProbeResult]:
    return [wrong_etag(scratch), small_part(scratch), part_after_abort(scratch)]


def _preflight(scratch: Scratch, origin: str) -> tuple[bool, str]:
    """Would a browser at ``origin`` be let through? (2xx and a matching Allow-Origin)."""
    url = unsigned_url(scratch.presign_put(scratch.key("cors"), BODY))
    answer = scratch.send(
        "OPTIONS",
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    allow = answer.headers.get("Access-Control-Allow-Origin")
    allowed = answer.ok and allow in (origin, "*")
    return allowed, f"{answer.status_code}, Access-Control-Allow-Origin: {allow or 'absent'}"


def cors_probes(
    scratch: Scratch, allowed_origins: list[str], disallowed_origin: str
) -> list[ProbeResult]:
    results = []
    if allowed_origins:
        origin = allowed_origins[0]
        allowed, detail = _preflight(scratch, origin)
        name = f"CORS preflight from an allowed origin ({origin})"
        results.append(
            ProbeResult(Probe.CORS_ALLOWED, name, allowed, detail, ("allowed", "NOT allowed"))
        )
    allowed, detail = _preflight(scratch, disallowed_origin)
    name = f"CORS preflight from a disallowed origin ({disallowed_origin})"
    results.append(ProbeResult(Probe.CORS_DISALLOWED, name, not allowed, detail))
    return results


def bucket_probes(scratch: Scratch) -> list[ProbeResult]:
    try:
        versioning = scratch.client.get_bucket_versioning(Bucket=scratch.bucket)
        status = str(versioning.get("Status", "never enabled"))
        on: bool | None = status == "Enabled"
    except ClientError as e:
        status, on = f"cannot tell ({error_code(e)})", None
    results = [ProbeResult(Probe.VERSIONING, "versioning", on, status, ("on", "off"))]
    name = "AbortIncompleteMultipartUpload lifecycle rule"
    try:
        rules = [r for r in lifecycle_rules(scratch.client, scratch.bucket) if is_abort_rule(r)]
    except ClientError as e:
        results.append(ProbeResult(Probe.ABORT_RULE, name, None, f"cannot tell ({error_code(e)})"))
        return results
    detail = (
        f"after {rules[0]['AbortIncompleteMultipartUpload']['DaysAfterInitiation']} day(s)"
        if rules
        else "absent: run `media-grpc storage init`"
    )
    results.append(ProbeResult(Probe.ABORT_RULE, name, bool(rules), detail, ("present", "MISSING")))
    return results
