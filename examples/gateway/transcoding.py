"""JSON over HTTP to one gRPC call and back: routes from the contract, the token, the body, the
status. No HTTP server here (gateway.py is the server), so it is tested without one."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from google.api import annotations_pb2
from google.protobuf import descriptor, json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2, media_pb2_grpc

from media_grpc.adapters.jwt_tokens import TokenVerifier
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

#: What a client is told when the call failed in the transport (no service answer): grpc's own
#: text names the backend's address ("ipv4:10.0.0.5:50051 ... Connection refused").
TRANSPORT_MESSAGES = {
    grpc.StatusCode.UNAVAILABLE: "the media service is unavailable; retry later",
    grpc.StatusCode.DEADLINE_EXCEEDED: "the media service did not answer in time",
    grpc.StatusCode.CANCELLED: "the call was cancelled",
}

Answer = tuple[int, dict[str, Any]]


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


def status_body(code: grpc.StatusCode, message: str, *details: Any) -> dict[str, Any]:
    """A ``google.rpc.Status`` as JSON: ``{"code", "message", "details"}``."""
    return {
        "code": code.value[0],
        "message": message,
        "details": [_any_json(d) for d in details],
    }


def _any_json(detail: Any) -> dict[str, Any]:
    return {
        "@type": f"type.googleapis.com/{detail.DESCRIPTOR.full_name}",
        **json_format.MessageToDict(detail),
    }


def bad_body(message: str) -> Answer:
    violation = error_details_pb2.BadRequest.FieldViolation(field="body", description=message)
    detail = error_details_pb2.BadRequest(field_violations=[violation])
    return 400, status_body(grpc.StatusCode.INVALID_ARGUMENT, message, detail)


def parse_body(body: bytes) -> dict[str, Any] | str:
    """The JSON object of a request body, or why it is not one."""
    try:
        fields = json.loads(body)
    except RecursionError:
        return "the JSON body nests too deep"
    except ValueError as e:  # UnicodeDecodeError included
        return f"the body is not JSON: {e}"
    if not isinstance(fields, dict):
        return f"the JSON body must be an object, not {type(fields).__name__}"
    return fields


class Gateway:
    """Turns one HTTP request into one RPC on a grpc.aio channel."""

    def __init__(
        self, stub: media_pb2_grpc.MediaServiceStub, verifier: TokenVerifier, deadline: float
    ) -> None:
        self.stub = stub
        self.verifier = verifier
        self.deadline = deadline
        self.routes = routes_from_contract()

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.http_method == method:
                return route, match.groupdict()
        return None

    def authenticate(self, authorization: str) -> str | Answer:
        """The bearer token, verified; or the 401 answer."""
        token = authorization.removeprefix("Bearer ").strip()
        try:
            self.verifier.principal(token)
        except Unauthenticated as e:
            return 401, status_body(grpc.StatusCode.UNAUTHENTICATED, str(e))
        return token

    async def call(self, route: Route, params: dict[str, str], token: str, body: bytes) -> Answer:
        fields = parse_body(body) if route.has_body and body else {}
        if isinstance(fields, str):
            return bad_body(fields)
        try:
            request = json_format.ParseDict({**fields, **params}, route.request_type())
        except (json_format.ParseError, ValueError, TypeError, RecursionError) as e:
            return bad_body(f"the JSON body does not fit {route.rpc}: {str(e)[:200]}")
        rpc: Callable[..., Any] = getattr(self.stub, route.rpc)
        try:
            response = await rpc(
                request, metadata=[("authorization", f"Bearer {token}")], timeout=self.deadline
            )
        except grpc.RpcError as error:
            return error_response(error)
        return 200, json_format.MessageToDict(response)


def error_response(error: Any) -> Answer:
    """The HTTP status and JSON body of a failed call, with its google.rpc details. An error the
    service did not send (no status details: the transport's) gets a message of its own."""
    code: grpc.StatusCode = error.code()
    status = rpc_status.from_call(error)
    if status is None:
        log.warning("call failed in the transport: %s %s", code.name, error.details())
        message = TRANSPORT_MESSAGES.get(code, "the media service failed; retry later")
        return HTTP_STATUS.get(code, 500), status_body(code, message)
    answer = status_body(code, error.details() or code.name)
    answer["details"] = [json_format.MessageToDict(d) for d in status.details]
    return HTTP_STATUS.get(code, 500), answer
