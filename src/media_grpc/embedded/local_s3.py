"""A local S3 endpoint (moto's S3 app) on 127.0.0.1, for the embedded default and tests.

In front of moto's app, a small WSGI layer makes it behave like S3 where a browser or a stranger
would notice:

- CORS follows the bucket's CORS configuration (as ``storage init`` writes it): a preflight from
  an allowed origin gets the rule's methods, headers and max-age, an allowed request gets the
  exposed headers (ETag); any other origin gets no CORS headers at all.
- Unsigned (anonymous) requests may only GET/HEAD objects the bucket policy lets ``*`` read;
  signed requests (Authorization header or X-Amz-Signature query) pass. The signature itself is
  not verified, nor expiry, signed headers or checksums: the service verifies every object.
- With ``data_dir``, buckets and objects are kept on disk and restored at start
  (:mod:`media_grpc.embedded.s3_persistence`).
- The access log names method, path and status, never the query string (presigned URLs carry
  credentials and signatures there).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from media_grpc.embedded.s3_persistence import DiskMirror, RestoreReport
from media_grpc.embedded.s3_rules import (
    CorsRule,
    anonymous_read_allowed,
    cors_response_headers,
    matching_rule,
)

#: Credentials the embedded endpoint accepts (it accepts any).
EMBEDDED_ACCESS_KEY = "embedded"
EMBEDDED_SECRET_KEY = "embedded-secret"  # noqa: S105

log = logging.getLogger("media_grpc.embedded.s3")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: Object requests that change no stored object (parts of a multipart upload in progress).
_UPLOAD_IN_PROGRESS = ("uploads", "partNumber")


def _moto() -> tuple[WsgiApp, Any, type]:
    try:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
        from moto.s3.models import s3_backends
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the embedded S3 endpoint needs moto: pip install 'media-grpc[embedded]'"
        ) from e
    return create_backend_app("s3"), s3_backends[DEFAULT_ACCOUNT_ID]["aws"], MotoRequestHandler


def _split_path(environ: dict[str, Any]) -> tuple[str, str]:
    """(bucket, key) of a path-style request; PATH_INFO is already percent-decoded."""
    bucket, _, key = environ.get("PATH_INFO", "").lstrip("/").partition("/")
    return bucket, key


def _is_signed(environ: dict[str, Any], query: dict[str, list[str]]) -> bool:
    """A SigV4 or SigV2 signature, in a header or a presigned URL's query."""
    signed_query = "X-Amz-Signature" in query or "Signature" in query
    return bool(environ.get("HTTP_AUTHORIZATION")) or signed_query


def _error(
    start_response: StartResponse,
    status: str,
    code: str,
    message: str,
    extra_headers: dict[str, str] | None = None,
) -> list[bytes]:
    """An S3 XML error; ``extra_headers`` carry CORS, so a browser can read the refusal."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    ).encode()
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    start_response(status, headers + list((extra_headers or {}).items()))
    return [body]


class S3Front:
    """The WSGI layer in front of moto's S3 app (see the module docstring)."""

    def __init__(self, app: WsgiApp, backend: Any, mirror: DiskMirror | None) -> None:
        self.app = app
        self.backend = backend
        self.mirror = mirror

    def _bucket(self, name: str) -> Any:
        return self.backend.buckets.get(name)

    def _cors_rules(self, bucket: str) -> list[CorsRule]:
        found = self._bucket(bucket)
        return [
            CorsRule(
                allowed_origins=r.allowed_origins or [],
                allowed_methods=r.allowed_methods or [],
                allowed_headers=r.allowed_headers or [],
                expose_headers=r.exposed_headers or [],
                max_age_seconds=int(r.max_age_seconds) if r.max_age_seconds else None,
            )
            for r in (found.cors if found is not None else [])
        ]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        bucket, key = _split_path(environ)
        origin = environ.get("HTTP_ORIGIN")
        if method == "OPTIONS":
            return self._preflight(environ, start_response, bucket, origin)
        cors = self._cors_for(bucket, origin, method)
        if not _is_signed(environ, query) and not self._anonymous_allowed(method, bucket, key):
            return _error(start_response, "403 Forbidden", "AccessDenied", "Access Denied", cors)
        body = self._read_body(environ) if self.mirror and method == "PUT" and not key else b""

        def respond(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            kept = [(n, v) for n, v in headers if not n.lower().startswith("access-control-")]
            return start_response(status, kept + list(cors.items()), *exc)

        state: dict[str, str] = {}

        def remember(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            state["status"] = status
            return respond(status, headers, *exc)

        result = self.app(environ, remember)
        if self.mirror is not None and state.get("status", "500")[:1] == "2":
            self._mirror(method, bucket, key, query, body)
        return result

    def _anonymous_allowed(self, method: str, bucket: str, key: str) -> bool:
        if method not in {"GET", "HEAD"} or not key:
            return False
        found = self._bucket(bucket)
        return found is not None and anonymous_read_allowed(found.policy, bucket, key)

    def _cors_for(self, bucket: str, origin: str | None, method: str) -> dict[str, str]:
        if not origin or not bucket:
            return {}
        rule = matching_rule(self._cors_rules(bucket), origin, method)
        return cors_response_headers(rule, origin, preflight=False) if rule else {}

    def _preflight(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        bucket: str,
        origin: str | None,
    ) -> list[bytes]:
        wanted = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")
        asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
        headers = [h.strip() for h in asked.split(",") if h.strip()]
        rule = (
            matching_rule(self._cors_rules(bucket), origin, wanted, headers)
            if origin and wanted and bucket
            else None
        )
        if rule is None or origin is None:
            return _error(
                start_response,
                "403 Forbidden",
                "AccessForbidden",
                "CORSResponse: This CORS request is not allowed.",
            )
        answer = cors_response_headers(rule, origin, preflight=True, request_headers=headers)
        start_response("200 OK", [*answer.items(), ("Content-Length", "0")])
        return [b""]

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _mirror(
        self, method: str, bucket: str, key: str, query: dict[str, list[str]], body: bytes
    ) -> None:
        assert self.mirror is not None
        if not bucket:
            return
        if key:
            if any(q in query for q in _UPLOAD_IN_PROGRESS):
                return
            if "uploadId" in query and method != "POST":
                return  # a part, or an abort: no object changes
            if method in {"PUT", "POST", "DELETE"}:
                self.mirror.save_object(bucket, key, self._object(bucket, key))
            return
        subresource = next(iter(query), "")
        if method == "PUT":
            self.mirror.save_bucket_request(bucket, subresource, body)
        elif method == "DELETE" and subresource:
            self.mirror.forget_bucket_request(bucket, subresource)
        elif method == "DELETE":
            self.mirror.forget_bucket(bucket)
        elif method == "POST" and "delete" in query:
            found = self._bucket(bucket)
            self.mirror.forget_missing_objects(bucket, set(found.keys) if found else set())

    def _object(self, bucket: str, key: str) -> Any:
        found = self._bucket(bucket)
        return found.keys.get(key) if found is not None else None

    def replay(self, method: str, bucket: str, subresource: str, body: bytes) -> int:
        """Send a bucket request straight to moto (restoring); returns the HTTP status."""
        from werkzeug.test import EnvironBuilder

        builder = EnvironBuilder(
            path=f"/{bucket}", method=method, query_string=subresource, data=body
        )
        statuses: list[str] = []
        try:
            environ = builder.get_environ()
            for _ in self.app(environ, lambda status, headers, *exc: statuses.append(status)):
                pass
        finally:
            builder.close()
        return int(statuses[0].split()[0]) if statuses else 500


def _quiet_handler(base: type) -> type:
    class AccessLogHandler(base):  # type: ignore[valid-type, misc]
        """Logs ``METHOD /path status`` through logging, without the query string."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            path = urlsplit(getattr(self, "path", "")).path
            log.info("%s %s %s", getattr(self, "command", "-"), path, code)

        def log_error(self, format: str, *args: Any) -> None:
            log.debug("embedded S3: " + format, *args)

    return AccessLogHandler


class LocalS3:
    """moto's S3 behind :class:`S3Front`, served on 127.0.0.1 by a thread.

    Parameters:
        port: TCP port; 0 picks a free one.
        data_dir: where buckets and objects are kept across restarts; None keeps them in memory
            only. moto's state is per process: two endpoints in one process share it.
    """

    def __init__(self, port: int = 0, data_dir: Path | None = None) -> None:
        app, backend, handler = _moto()
        self.mirror = DiskMirror(data_dir) if data_dir is not None else None
        self.front = S3Front(app, backend, self.mirror)
        self.backend = backend
        self._handler = _quiet_handler(handler)
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.restored = RestoreReport()

    def start(self) -> str:
        """Restore what ``data_dir`` keeps, then serve; returns the endpoint URL."""
        from werkzeug.serving import make_server

        if self.mirror is not None:
            self.restored = self.mirror.restore(self.front.replay, self.backend)
            for lost in self.restored.lost:
                log.error(
                    "embedded S3: cannot restore %s/%s: %s", lost.bucket, lost.key, lost.reason
                )
        self._server = make_server(
            "127.0.0.1", self.port, self.front, threaded=True, request_handler=self._handler
        )
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="embedded-s3", daemon=True
        )
        self._thread.start()
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
