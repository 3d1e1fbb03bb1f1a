"""The embedded S3's HTTP handler: who may do what, CORS, and the request and answer on the wire.

Every request is either signed (SigV4, checked by :mod:`sigv4_check` before its body is read) or
anonymous; an anonymous request may only GET or HEAD an object the bucket policy lets ``*``
read. A refused request is answered with S3's XML error and its connection closed, so an unread
body is never taken for the next request. Bodies stream between the socket and the files in
1 MiB pieces. The access log names method, path and status, never the query string (presigned
URLs carry credentials and signatures there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from media_grpc.embedded import s3_xml
from media_grpc.embedded.blob_files import BodyRefused
from media_grpc.embedded.s3_bucket_ops import BucketOperations
from media_grpc.embedded.s3_errors import S3Error, access_denied
from media_grpc.embedded.s3_exchange import S3Request, S3Response
from media_grpc.embedded.s3_object_ops import ObjectOperations
from media_grpc.embedded.s3_rules import (
    anonymous_read_allowed,
    cors_response_headers,
    matching_rule,
)
from media_grpc.embedded.s3_store import S3Store
from media_grpc.embedded.sigv4_check import Arrived, SignatureRefused, SigV4Checker

log = logging.getLogger("media_grpc.embedded.s3")

#: Query parameters that make a request signed (SigV4 or SigV2 presigned URLs).
_SIGNED_QUERY = ("X-Amz-Signature", "X-Amz-Credential", "Signature", "AWSAccessKeyId")
#: Query parameters that are no operation's: a presigned URL's signature, botocore's ``x-id``.
_NOT_OPERATIONS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "x-id",
    }
)


@dataclass(eq=False)
class S3Service:
    """What the handler needs: the store, the operations and the signature checker."""

    store: S3Store
    objects: ObjectOperations
    buckets: BucketOperations
    checker: SigV4Checker

    def cors_for(
        self, bucket: str, origin: str | None, method: str, headers: list[str] | None = None
    ) -> dict[str, str] | None:
        """The CORS answer headers for ``origin`` (None: no rule allows it)."""
        if not origin or not bucket or bucket not in self.store.buckets:
            return None
        rules = s3_xml.cors_rules(self.store.config(bucket, "cors"))
        rule = matching_rule(rules, origin, method, headers or [])
        if rule is None:
            return None
        return cors_response_headers(
            rule, origin, preflight=headers is not None, request_headers=headers or []
        )

    def anonymous_allowed(self, method: str, bucket: str, key: str) -> bool:
        if method not in {"GET", "HEAD"} or not key or bucket not in self.store.buckets:
            return False
        return anonymous_read_allowed(self.store.config(bucket, "policy"), bucket, key)


class S3Handler(BaseHTTPRequestHandler):
    """One connection to the embedded S3 (HTTP/1.1, keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "media-grpc-embedded-s3"
    sys_version = ""
    timeout = 300  #: an idle keep-alive connection is closed after this many seconds
    service: S3Service  # set on a subclass by LocalS3

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client closed or went quiet: nothing to answer

    def handle_expect_100(self) -> bool:
        return True  # "100 Continue" is sent once the signature is checked (see _continue)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        bucket, _ = self._bucket_and_key()
        wanted = self.headers.get("Access-Control-Request-Method", "")
        asked = self.headers.get("Access-Control-Request-Headers", "")
        headers = [h.strip() for h in asked.split(",") if h.strip()]
        answer = (
            self.service.cors_for(bucket, self.headers.get("Origin"), wanted, headers)
            if wanted
            else None
        )
        self._drain_small_body()
        if answer is None:
            error = S3Error(
                403, "AccessForbidden", "CORSResponse: This CORS request is not allowed."
            )
            self._send(S3Response.xml(error.xml(), error.status), {})
            return
        self._send(S3Response(200), answer)

    def _bucket_and_key(self) -> tuple[str, str]:
        path = unquote(urlsplit(self.path).path)
        bucket, _, key = path.lstrip("/").partition("/")
        return bucket, key

    def _serve(self) -> None:
        method = self.command
        split = urlsplit(self.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query = {name: value for name, value in pairs if name not in _NOT_OPERATIONS}
        bucket, key = self._bucket_and_key()
        headers = {name.lower(): value for name, value in self.headers.items()}
        cors = self.service.cors_for(bucket, headers.get("origin"), method) or {}
        request = None
        try:
            if "transfer-encoding" in headers:
                raise S3Error(
                    411, "MissingContentLength", "You must provide the Content-Length HTTP header."
                )
            length = int(headers.get("content-length") or 0)
            arrived = Arrived(method, split.path, pairs, headers)
            payload_sha256 = self._authorize(arrived, bucket, key)
            self._continue(headers)
            request = S3Request(
                method,
                bucket,
                key,
                query,
                headers,
                self.rfile,
                length,
                payload_sha256,
            )
            operations = self.service.objects if key else self.service.buckets
            response = operations.handle(request)
        except BodyRefused as e:
            response = self._error(S3Error(400, e.code, str(e)), split.path)
        except SignatureRefused as e:
            response = self._error(S3Error(e.status, e.code, str(e)), split.path)
        except S3Error as e:
            response = self._error(e, split.path)
        except ValueError as e:
            response = self._error(S3Error(400, "InvalidArgument", str(e)), split.path)
        except OSError as e:
            if isinstance(e, ConnectionError | TimeoutError):
                raise  # the client went away: nobody to answer
            log.exception("embedded S3: %s %s failed", method, split.path)
            response = self._error(S3Error(500, "InternalError", str(e.strerror or e)), split.path)
        unread = request is None or not request.consumed or response.status >= 400
        if unread and int(headers.get("content-length") or 0) > 0:
            self.close_connection = True  # a body maybe unread cannot be skipped safely
        self._send(response, cors)

    def _authorize(self, arrived: Arrived, bucket: str, key: str) -> str | None:
        """The signed payload hash (None: unsigned); raises when the request may not pass."""
        signed = "authorization" in arrived.headers or any(
            name in _SIGNED_QUERY for name, _ in arrived.query
        )
        if signed:
            return self.service.checker.check_arrived(arrived).payload_sha256
        if self.service.anonymous_allowed(arrived.method, bucket, key):
            return None
        raise access_denied()

    def _continue(self, headers: dict[str, str]) -> None:
        if headers.get("expect", "").lower() == "100-continue":
            self.send_response_only(100)
            self.end_headers()

    @staticmethod
    def _error(error: S3Error, path: str) -> S3Response:
        return S3Response.xml(error.xml(path), error.status)

    def _drain_small_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 65536:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def _send(self, response: S3Response, cors: dict[str, str]) -> None:
        body = response.body
        length = len(body) if isinstance(body, bytes) else response.length or 0
        if response.length is not None:
            length = response.length
        self.send_response(response.status)
        for name, value in {**response.headers, **cors}.items():
            self.send_header(name, value)
        self.send_header("x-amz-request-id", "embedded")
        if response.status != 304:
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD" or response.status == 304:
            if not isinstance(body, bytes):
                body.close()  # type: ignore[attr-defined]
            return
        if isinstance(body, bytes):
            self.wfile.write(body)
            return
        try:
            for chunk in body:
                self.wfile.write(chunk)
        finally:
            body.close()  # type: ignore[attr-defined]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("%s %s %s", self.command, urlsplit(self.path).path, code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("embedded S3: " + format, *args)
