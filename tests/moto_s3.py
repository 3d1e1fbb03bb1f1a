"""moto's S3 app on 127.0.0.1 behind a thin WSGI front, for tests that need a store which
enforces no signature (the service's own defences against a lax store) or moto's versioning.

The front adds what a browser or a stranger notices of S3: CORS as the bucket's configuration
says, and anonymous GET/HEAD only where the bucket policy lets ``*`` read. Signatures, expiry,
signed headers and checksums are NOT checked (moto checks none). The embedded default does not
use this: it runs :mod:`media_grpc.embedded.local_s3`, which enforces all of that.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from media_grpc.embedded.s3_rules import (
    CorsRule,
    anonymous_read_allowed,
    cors_response_headers,
    matching_rule,
)

log = logging.getLogger("tests.moto_s3")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _moto() -> tuple[WsgiApp, Any, type]:
    try:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
        from moto.s3.models import s3_backends
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("tests.moto_s3 needs moto (the dev extra)") from e
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

    def __init__(self, app: WsgiApp, backend: Any) -> None:
        self.app = app
        self.backend = backend

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

        def respond(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            kept = [(n, v) for n, v in headers if not n.lower().startswith("access-control-")]
            return start_response(status, kept + list(cors.items()), *exc)

        return self.app(environ, respond)

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


def _quiet_handler(base: type) -> type:
    class AccessLogHandler(base):  # type: ignore[valid-type, misc]
        """Logs ``METHOD /path status`` through logging, without the query string."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            path = urlsplit(getattr(self, "path", "")).path
            log.info("%s %s %s", getattr(self, "command", "-"), path, code)

        def log_error(self, format: str, *args: Any) -> None:
            log.debug("embedded S3: " + format, *args)

    return AccessLogHandler


class MotoS3:
    """moto's S3 behind :class:`S3Front`, served on 127.0.0.1 by a thread; its state lives in
    this process's memory (two endpoints in one process share it).

    Parameters:
        port: TCP port; 0 picks a free one.
    """

    def __init__(self, port: int = 0) -> None:
        app, backend, handler = _moto()
        self.front = S3Front(app, backend)
        self._handler = _quiet_handler(handler)
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Serve; returns the endpoint URL."""
        from werkzeug.serving import make_server

        self._server = make_server(
            "127.0.0.1", self.port, self.front, threaded=True, request_handler=self._handler
        )
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="moto-s3", daemon=True
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
