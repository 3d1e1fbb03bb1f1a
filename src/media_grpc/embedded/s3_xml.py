"""The XML bodies of the embedded S3: answers written, request bodies read.

Request bodies come only from signed requests and are read with a size limit
(:data:`MAX_XML_BYTES`, enforced by the caller); element names are matched without their
namespace, as S3 does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from xml.sax.saxutils import escape

from media_grpc.embedded.s3_errors import S3Error
from media_grpc.embedded.s3_records import StoredObject, StoredUpload
from media_grpc.embedded.s3_rules import CorsRule
from media_grpc.embedded.s3_store import Listing

#: The largest XML request body read (a DeleteObjects of 1000 keys fits).
MAX_XML_BYTES = 2 * 1024 * 1024
_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_OWNER = "<Owner><ID>embedded</ID><DisplayName>embedded</DisplayName></Owner>"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _document(root: str, inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_NS}">{inner}</{root}>'.encode()
    )


def _e(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _etag(etag: str) -> str:
    return _e("ETag", f'"{etag}"')


def _malformed() -> S3Error:
    return S3Error(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def _parse(body: bytes) -> ET.Element:
    try:
        # Only signed requests get here, at most MAX_XML_BYTES; expat refuses entity expansion
        # attacks and ElementTree never fetches external entities.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        raise _malformed() from None
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


# Answers -----------------------------------------------------------------------------------------


def buckets(names: Iterable[tuple[str, datetime]]) -> bytes:
    listed = "".join(
        f"<Bucket>{_e('Name', n)}{_e('CreationDate', iso(c))}</Bucket>" for n, c in names
    )
    return _document("ListAllMyBucketsResult", f"{_OWNER}<Buckets>{listed}</Buckets>")


def _contents(stored: StoredObject) -> str:
    return (
        f"<Contents>{_e('Key', stored.key)}{_e('LastModified', iso(stored.last_modified))}"
        f"{_etag(stored.etag)}{_e('Size', stored.size)}"
        f"{_e('StorageClass', stored.storage_class)}</Contents>"
    )


def listing(
    bucket: str,
    prefix: str,
    delimiter: str,
    max_keys: int,
    found: Listing,
    *,
    v2: bool,
    token: str,
    start_after: str,
    marker: str,
) -> bytes:
    inner = [_e("Name", bucket), _e("Prefix", prefix), _e("MaxKeys", max_keys)]
    if delimiter:
        inner.append(_e("Delimiter", delimiter))
    inner.append(_e("IsTruncated", "true" if found.truncated else "false"))
    if v2:
        inner.append(_e("KeyCount", len(found.objects) + len(found.prefixes)))
        if token:
            inner.append(_e("ContinuationToken", token))
        if start_after:
            inner.append(_e("StartAfter", start_after))
        if found.truncated and found.next_marker is not None:
            inner.append(_e("NextContinuationToken", found.next_marker))
    else:
        inner.append(_e("Marker", marker))
        if found.truncated and found.next_marker is not None:
            inner.append(_e("NextMarker", found.next_marker))
    inner.extend(_contents(o) for o in found.objects)
    inner.extend(f"<CommonPrefixes>{_e('Prefix', p)}</CommonPrefixes>" for p in found.prefixes)
    return _document("ListBucketResult", "".join(inner))


def initiated(bucket: str, key: str, upload_id: str) -> bytes:
    inner = _e("Bucket", bucket) + _e("Key", key) + _e("UploadId", upload_id)
    return _document("InitiateMultipartUploadResult", inner)


def completed(location: str, bucket: str, key: str, etag: str) -> bytes:
    inner = _e("Location", location) + _e("Bucket", bucket) + _e("Key", key) + _etag(etag)
    return _document("CompleteMultipartUploadResult", inner)


def copied(root: str, etag: str, modified: datetime) -> bytes:
    return _document(root, _e("LastModified", iso(modified)) + _etag(etag))


def parts(bucket: str, upload: StoredUpload, marker: int, max_parts: int) -> bytes:
    after = sorted(n for n in upload.parts if n > marker)
    page, truncated = after[:max_parts], len(after) > max_parts
    inner = [
        _e("Bucket", bucket),
        _e("Key", upload.key),
        _e("UploadId", upload.upload_id),
        _e("StorageClass", upload.storage_class),
        _e("PartNumberMarker", marker),
        _e("NextPartNumberMarker", page[-1] if page else marker),
        _e("MaxParts", max_parts),
        _e("IsTruncated", "true" if truncated else "false"),
    ]
    for number in page:
        part = upload.parts[number]
        inner.append(
            f"<Part>{_e('PartNumber', number)}{_e('LastModified', iso(part.last_modified))}"
            f"{_etag(part.etag)}{_e('Size', part.segment.size)}</Part>"
        )
    return _document("ListPartsResult", "".join(inner))


def uploads(bucket: str, prefix: str, found: Iterable[StoredUpload]) -> bytes:
    inner = [_e("Bucket", bucket), _e("Prefix", prefix), _e("IsTruncated", "false")]
    inner.extend(
        f"<Upload>{_e('Key', u.key)}{_e('UploadId', u.upload_id)}{_OWNER}"
        f"{_e('StorageClass', u.storage_class)}{_e('Initiated', iso(u.initiated))}</Upload>"
        for u in found
    )
    return _document("ListMultipartUploadsResult", "".join(inner))


def deleted(keys: Iterable[str], quiet: bool) -> bytes:
    inner = "" if quiet else "".join(f"<Deleted>{_e('Key', k)}</Deleted>" for k in keys)
    return _document("DeleteResult", inner)


def versioning(body: bytes | None) -> bytes:
    if body:
        status = _parse(body).findtext("Status")
        if status:
            return _document("VersioningConfiguration", _e("Status", status))
    return _document("VersioningConfiguration", "")


def location(creation: bytes | None) -> bytes:
    """GetBucketLocation: the LocationConstraint the bucket was created with (none: us-east-1)."""
    region = _parse(creation).findtext(".//LocationConstraint") if creation else None
    return _document("LocationConstraint", escape(region or ""))


# Requests ----------------------------------------------------------------------------------------


def completion_parts(body: bytes) -> list[tuple[int, str]]:
    """The (PartNumber, ETag) pairs of a CompleteMultipartUpload body, in the given order."""
    named = []
    for part in _parse(body).iter("Part"):
        number, etag = part.findtext("PartNumber"), part.findtext("ETag")
        if number is None or etag is None or not number.strip().isdigit():
            raise _malformed()
        named.append((int(number), etag))
    return named


def keys_to_delete(body: bytes) -> tuple[list[str], bool]:
    """The keys of a DeleteObjects body and its Quiet flag."""
    root = _parse(body)
    keys = [k for o in root.iter("Object") if (k := o.findtext("Key")) is not None]
    if len(keys) > 1000:
        raise _malformed()
    return keys, (root.findtext("Quiet") or "").strip().lower() == "true"


def restore_days(body: bytes) -> int:
    days = _parse(body).findtext("Days") if body else None
    return int(days) if days and days.strip().isdigit() else 1


def cors_rules(body: bytes | None) -> list[CorsRule]:
    """The rules of a stored PutBucketCors body (unreadable: none, so CORS allows nothing)."""
    if not body:
        return []
    try:
        root = _parse(body)
    except S3Error:
        return []
    rules = []
    for rule in root.iter("CORSRule"):
        max_age = (rule.findtext("MaxAgeSeconds") or "").strip()
        rules.append(
            CorsRule(
                allowed_origins=[e.text or "" for e in rule.iter("AllowedOrigin")],
                allowed_methods=[e.text or "" for e in rule.iter("AllowedMethod")],
                allowed_headers=[e.text or "" for e in rule.iter("AllowedHeader")],
                expose_headers=[e.text or "" for e in rule.iter("ExposeHeader")],
                max_age_seconds=int(max_age) if max_age.isdigit() else None,
            )
        )
    return rules


def check_readable(body: bytes) -> None:
    """Refuse a configuration body that is not XML (as S3 does) before it is stored."""
    _parse(body)
