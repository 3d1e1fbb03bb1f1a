"""A reference HTTP gateway in front of media-grpc: what the app's own gateway does for browsers.

- Routes come from the contract: every RPC with a ``google.api.http`` annotation is served at its
  path (``POST /api/v1/media/upload-session``, ``GET /api/v1/media/{media_id}``, ...), JSON in
  and out with proto3 JSON names (camelCase), through the generated stub.
- The user's token (``Authorization: Bearer ...``) is verified here first (signature, expiry,
  issuer, audience: the service's own ``MEDIA_AUTH__*`` settings) and forwarded as metadata.
- CORS for the app's origin only (``--allow-origin``); other origins get no CORS headers.
- A gRPC error becomes its HTTP status with ``{"code", "message", "details"}``: the
  ``google.rpc`` details (BadRequest, PreconditionFailure, ErrorInfo, RetryInfo) as JSON.
- Every call has a deadline (``--deadline``, seconds); a call past it answers 504.

Run: ``python examples/gateway/gateway.py --listen 127.0.0.1:8080 --target 127.0.0.1:50051``.
Standard stdlib HTTP server: an example, not a production server.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.api import annotations_pb2
from google.protobuf import descriptor, json_format
from google.rpc import error_details_pb2  # noqa: F401  (registers the detail types for JSON)
from grpc_status import rpc_status
from media.v1 import media_pb2, media_pb2_grpc

from media_grpc.adapters.jwt_tokens import TokenVerifier
from media_grpc.config import Settings
from media_grpc.domain.errors import Unauthenticated

log = logging.getLogger("gateway")

#: gRPC status -> HTTP status, as grpc-gateway and Envoy's transcoder map them.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


@dataclass(frozen=True)
class Route:
    """One annotated RPC: HTTP method, path pattern, request type and whether a body maps."""

    http_method: str
    pattern: re.Pattern[str]
    rpc: str
    request_type: Any
    has_body: bool


def routes_from_contract() -> list[Route]:
    """The ``google.api.http`` annotations of MediaService, as routes."""
    service = media_pb2.DESCRIPTOR.services_by_name["MediaService"]
    found = []
    for method in service.methods:
        options = method.GetOptions()
        if not options.HasExtension(annotations_pb2.http):
            continue
        rule = options.Extensions[annotations_pb2.http]
        verb = rule.WhichOneof("pattern")
        if verb is None or verb == "custom":
            continue
        path = getattr(rule, verb)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
        found.append(
            Route(
                verb.upper(),
                re.compile(f"^{regex}$"),
                method.name,
                _message_class(method.input_type),
                bool(rule.body),
            )
        )
    return found


def _message_class(message: descriptor.Descriptor) -> Any:
    return getattr(media_pb2, message.name)


class Gateway:
    """Turns one HTTP request into one RPC; no HTTP server details here (easy to test)."""

    def __init__(
        self, stub: media_pb2_grpc.MediaServiceStub, verifier: TokenVerifier, deadline: float
    ) -> None:
        self.stub = stub
        self.verifier = verifier
        self.deadline = deadline
        self.routes = routes_from_contract()

    def handle(
        self, method: str, path: str, authorization: str, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.http_method == method:
                return self._call(route, match.groupdict(), authorization, body)
        return 404, {"code": 5, "message": f"no route {method} {path}", "details": []}

    def _call(
        self, route: Route, params: dict[str, str], authorization: str, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        token = authorization.removeprefix("Bearer ").strip()
        try:
            self.verifier.principal(token)
        except Unauthenticated as e:
            return 401, {"code": 16, "message": str(e), "details": []}
        try:
            fields = json.loads(body) if route.has_body and body else {}
            request = json_format.ParseDict({**fields, **params}, route.request_type())
        except (ValueError, json_format.ParseError) as e:
            return 400, {"code": 3, "message": f"invalid JSON body: {e}", "details": []}
        call: Callable[..., Any] = getattr(self.stub, route.rpc)
        try:
            response = call(
                request, metadata=[("authorization", f"Bearer {token}")], timeout=self.deadline
            )
        except grpc.RpcError as error:
            return error_response(error)
        return 200, json_format.MessageToDict(response)


def error_response(error: Any) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of a failed call, with its google.rpc details."""
    code: grpc.StatusCode = error.code()
    answer: dict[str, Any] = {
        "code": code.value[0],
        "message": error.details() or code.name,
        "details": [],
    }
    status = rpc_status.from_call(error)
    if status is not None:
        answer["details"] = [json_format.MessageToDict(d) for d in status.details]
    return HTTP_STATUS.get(code, 500), answer


def make_handler(gateway: Gateway, allow_origin: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _cors(self) -> None:
            if self.headers.get("Origin") == allow_origin:
                self.send_header("Access-Control-Allow-Origin", allow_origin)
                self.send_header("Vary", "Origin")

        def do_OPTIONS(self) -> None:
            allowed = self.headers.get("Origin") == allow_origin
            self.send_response(204 if allowed else 403)
            if allowed:
                self._cors()
                self.send_header("Access-Control-Allow-Methods", "GET, POST, DELETE")
                self.send_header("Access-Control-Allow-Headers", "authorization, content-type")
                self.send_header("Access-Control-Max-Age", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = gateway.handle(
                self.command,
                self.path.split("?", 1)[0],
                self.headers.get("Authorization", ""),
                body,
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.command, self.path.split("?", 1)[0])

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--listen", default="127.0.0.1:8080")
    parser.add_argument("--target", default="127.0.0.1:50051", help="media-grpc address")
    parser.add_argument("--allow-origin", default="http://localhost:3000")
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds per call")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(message)s")
    channel = grpc.insecure_channel(args.target)
    gateway = Gateway(
        media_pb2_grpc.MediaServiceStub(channel), TokenVerifier(Settings().auth), args.deadline
    )
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), make_handler(gateway, args.allow_origin))
    log.info("gateway on http://%s -> %s, CORS for %s", args.listen, args.target, args.allow_origin)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        channel.close()


if __name__ == "__main__":
    main()
