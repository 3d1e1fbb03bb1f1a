"""The embedded S3's object operations: PUT (plain, copy, part, part copy), GET and HEAD (ranges
and conditions), DELETE, multipart create/complete/abort/list, and RestoreObject."""

from __future__ import annotations

import re
from urllib.parse import unquote

from media_grpc.embedded import s3_xml
from media_grpc.embedded.s3_errors import S3Error
from media_grpc.embedded.s3_exchange import S3Request, S3Response, object_headers
from media_grpc.embedded.s3_records import now
from media_grpc.embedded.s3_store import ARCHIVE_CLASSES, S3Store
from media_grpc.embedded.s3_uploads import MultipartUploads

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: Query parameters that override a GET's response headers (S3's ``response-*``).
_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-disposition": "Content-Disposition",
    "response-cache-control": "Cache-Control",
    "response-content-language": "Content-Language",
    "response-content-encoding": "Content-Encoding",
    "response-expires": "Expires",
}


def _not_implemented(what: str) -> S3Error:
    return S3Error(501, "NotImplemented", f"the embedded S3 does not implement {what}")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) a ``Range`` header asks of ``size`` bytes; None: all of it.
    An unsatisfiable range raises InvalidRange (416), as S3 does."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        return None  # S3 ignores a Range it cannot parse
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
    return start, end


def copy_source(request: S3Request) -> tuple[str, str]:
    source = unquote(request.headers["x-amz-copy-source"]).lstrip("/")
    if "?versionId=" in source:
        source = source.split("?versionId=", 1)[0]
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise S3Error(400, "InvalidArgument", "Copy Source must mention the source bucket and key")
    return bucket, key


class ObjectOperations:
    def __init__(self, store: S3Store, uploads: MultipartUploads) -> None:
        self.store = store
        self.uploads = uploads

    def handle(self, request: S3Request) -> S3Response:
        method, query = request.method, request.query
        if method in {"GET", "HEAD"}:
            if "uploadId" in query and method == "GET":
                return self._list_parts(request)
            if set(query) - set(_RESPONSE_OVERRIDES) - {"partNumber", "versionId"}:
                raise _not_implemented(f"GET ?{next(iter(query))}")
            return self._get(request)
        if method == "PUT":
            if "uploadId" in query:
                return self._put_part(request)
            if query:
                raise _not_implemented(f"PUT ?{next(iter(query))}")
            if "x-amz-copy-source" in request.headers:
                return self._copy(request)
            return self._put(request)
        if method == "DELETE":
            if "uploadId" in query:
                self.uploads.abort(request.bucket, request.key, query["uploadId"])
            else:
                self.store.delete(request.bucket, request.key)
            return S3Response(204)
        if method == "POST":
            if "uploads" in query:
                upload_id = self.uploads.create(
                    request.bucket,
                    request.key,
                    request.stored_headers(),
                    request.storage_class(),
                )
                return S3Response.xml(s3_xml.initiated(request.bucket, request.key, upload_id))
            if "uploadId" in query:
                return self._complete(request)
            if "restore" in query:
                days = s3_xml.restore_days(request.read_small_body())
                already = self.store.restore(request.bucket, request.key, days)
                return S3Response(200 if already else 202)
        raise _not_implemented(f"{method} on an object")

    def _put(self, request: S3Request) -> S3Response:
        request.consumed = True
        stored = self.store.put(
            request.bucket,
            request.key,
            request.body,
            request.expected(),
            request.stored_headers(),
            request.storage_class(),
        )
        return S3Response(200, {"ETag": f'"{stored.etag}"'})

    def _copy(self, request: S3Request) -> S3Response:
        directive = request.headers.get("x-amz-metadata-directive", "COPY").upper()
        source = copy_source(request)
        same = source == (request.bucket, request.key)
        storage_class = request.headers.get("x-amz-storage-class")
        if same and directive != "REPLACE" and storage_class is None:
            raise S3Error(
                400,
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect "
                "location or encryption attributes.",
            )
        stored = self.store.copy(
            source,
            (request.bucket, request.key),
            request.stored_headers() if directive == "REPLACE" else None,
            request.storage_class(),
            request.headers.get("x-amz-copy-source-if-match"),
        )
        return S3Response.xml(s3_xml.copied("CopyObjectResult", stored.etag, stored.last_modified))

    def _put_part(self, request: S3Request) -> S3Response:
        query = request.query
        try:
            number = int(query.get("partNumber", ""))
        except ValueError:
            raise S3Error(400, "InvalidArgument", "Part number must be an integer") from None
        if "x-amz-copy-source" not in request.headers:
            request.consumed = True
            etag = self.uploads.put_part(
                request.bucket,
                request.key,
                query["uploadId"],
                number,
                request.body,
                request.expected(),
            )
            return S3Response(200, {"ETag": etag})
        source = copy_source(request)
        wanted = request.headers.get("x-amz-copy-source-range")
        size = self.store.head(*source).size
        part = self.uploads.copy_part(
            request.bucket,
            request.key,
            query["uploadId"],
            number,
            source,
            byte_range(wanted, size) if wanted else None,
            request.headers.get("x-amz-copy-source-if-match"),
        )
        return S3Response.xml(s3_xml.copied("CopyPartResult", part.etag, part.last_modified))

    def _complete(self, request: S3Request) -> S3Response:
        named = s3_xml.completion_parts(request.read_small_body())
        stored = self.uploads.complete(
            request.bucket, request.key, request.query["uploadId"], named
        )
        location = f"/{request.bucket}/{request.key}"
        return S3Response.xml(s3_xml.completed(location, request.bucket, request.key, stored.etag))

    def _list_parts(self, request: S3Request) -> S3Response:
        upload = self.uploads.parts(request.bucket, request.key, request.query["uploadId"])
        marker = int(request.query.get("part-number-marker") or 0)
        max_parts = min(int(request.query.get("max-parts") or 1000), 1000)
        return S3Response.xml(s3_xml.parts(request.bucket, upload, marker, max_parts))

    def _get(self, request: S3Request) -> S3Response:
        found = self.store.head(request.bucket, request.key)
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match.strip().strip('"') not in (found.etag, "*"):
            raise S3Error(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
        headers = object_headers(found)
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and if_none_match.strip().strip('"') in (found.etag, "*"):
            return S3Response(304, {"ETag": headers["ETag"]})
        restored = found.restore_until is not None and found.restore_until > now()
        archived = found.storage_class in ARCHIVE_CLASSES and not restored
        if archived and request.method == "GET":
            raise S3Error(
                403,
                "InvalidObjectState",
                "The operation is not valid for the object's storage class",
            )
        for name, header in _RESPONSE_OVERRIDES.items():
            if name in request.query:
                headers[header] = request.query[name]
        wanted = byte_range(request.headers.get("range"), found.size)
        start, end = wanted if wanted is not None else (0, found.size - 1)
        status = 200
        if wanted is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{found.size}"
        if request.method == "HEAD" or found.size == 0:
            return S3Response(status, headers, b"", end - start + 1)
        found, chunks = self.store.read(request.bucket, request.key, start, end)
        return S3Response(status, headers, chunks, end - start + 1)
