"""The embedded S3's bucket operations: create, head, delete, list (v1 and v2), DeleteObjects,
ListMultipartUploads, and the configurations ``storage init`` writes (CORS, policy, lifecycle,
versioning), kept as sent and answered back."""

from __future__ import annotations

import json

from media_grpc.embedded import s3_xml
from media_grpc.embedded.s3_errors import S3Error
from media_grpc.embedded.s3_exchange import S3Request, S3Response
from media_grpc.embedded.s3_store import S3Store
from media_grpc.embedded.s3_uploads import MultipartUploads

#: Configurations kept as their request body: subresource -> (error code when absent, message).
_CONFIGS = {
    "cors": ("NoSuchCORSConfiguration", "The CORS configuration does not exist"),
    "policy": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    "lifecycle": ("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
    "versioning": ("", ""),
}


def _not_implemented(what: str) -> S3Error:
    return S3Error(501, "NotImplemented", f"the embedded S3 does not implement {what}")


class BucketOperations:
    def __init__(self, store: S3Store, uploads: MultipartUploads) -> None:
        self.store = store
        self.uploads = uploads

    def handle(self, request: S3Request) -> S3Response:
        if not request.bucket:
            if request.method != "GET":
                raise _not_implemented(f"{request.method} /")
            with self.store.lock:
                names = [(b.name, b.record.created) for b in self.store.buckets.values()]
            return S3Response.xml(s3_xml.buckets(sorted(names)))
        subresource = next((q for q in request.query if q in _CONFIGS), "")
        if subresource:
            return self._config(request, subresource)
        method, query = request.method, request.query
        if method == "PUT" and not query:
            self.store.create_bucket(request.bucket, request.read_small_body())
            return S3Response(200, {"Location": f"/{request.bucket}"})
        if method == "HEAD" and not query:
            self.store.bucket(request.bucket)
            return S3Response(200)
        if method == "DELETE" and not query:
            self.store.delete_bucket(request.bucket)
            return S3Response(204)
        if method == "POST" and "delete" in query:
            return self._delete_objects(request)
        if method == "GET":
            return self._get(request)
        raise _not_implemented(f"{method} ?{'&'.join(query)} on a bucket")

    def _get(self, request: S3Request) -> S3Response:
        query = request.query
        if "location" in query:
            return S3Response.xml(s3_xml.location(self.store.config(request.bucket, "")))
        if "uploads" in query:
            prefix = query.get("prefix", "")
            in_progress = self.uploads.in_progress(request.bucket, prefix)
            return S3Response.xml(s3_xml.uploads(request.bucket, prefix, in_progress))
        listing_params = {
            "list-type",
            "prefix",
            "delimiter",
            "max-keys",
            "continuation-token",
            "start-after",
            "marker",
            "encoding-type",
            "fetch-owner",
        }
        if set(query) - listing_params:
            raise _not_implemented(f"GET ?{'&'.join(query)} on a bucket")
        v2 = query.get("list-type") == "2"
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        max_keys = max(0, min(int(query.get("max-keys") or 1000), 1000))
        token, start_after, marker = (
            query.get("continuation-token", ""),
            query.get("start-after", ""),
            query.get("marker", ""),
        )
        after = max(token, start_after) if v2 else marker
        found = self.store.list(request.bucket, prefix, after, max_keys, delimiter)
        body = s3_xml.listing(
            request.bucket,
            prefix,
            delimiter,
            max_keys,
            found,
            v2=v2,
            token=token,
            start_after=start_after,
            marker=marker,
        )
        return S3Response.xml(body)

    def _config(self, request: S3Request, subresource: str) -> S3Response:
        bucket, method = request.bucket, request.method
        if method == "PUT":
            body = request.read_small_body()
            if subresource == "policy":
                try:
                    json.loads(body)
                except ValueError:
                    raise S3Error(400, "MalformedPolicy", "Policies must be valid JSON") from None
            else:
                s3_xml.check_readable(body)
            self.store.put_config(bucket, subresource, body)
            return S3Response(204 if subresource == "policy" else 200)
        if method == "DELETE":
            self.store.delete_config(bucket, subresource)
            return S3Response(204)
        if method == "GET":
            kept = self.store.config(bucket, subresource)
            if subresource == "versioning":
                return S3Response.xml(s3_xml.versioning(kept))
            if kept is None:
                code, message = _CONFIGS[subresource]
                raise S3Error(404, code, message)
            if subresource == "policy":
                return S3Response(200, {"Content-Type": "application/json"}, kept)
            return S3Response.xml(kept)
        raise _not_implemented(f"{method} ?{subresource}")

    def _delete_objects(self, request: S3Request) -> S3Response:
        keys, quiet = s3_xml.keys_to_delete(request.read_small_body())
        self.store.bucket(request.bucket)
        for key in keys:
            self.store.delete(request.bucket, key)
        return S3Response.xml(s3_xml.deleted(keys, quiet))
