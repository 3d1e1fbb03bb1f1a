"""A reference HTTP gateway in front of media-grpc: what the app's own gateway does for browsers.

- Routes come from the contract: every RPC with a ``google.api.http`` annotation is served at its
  path (``POST /api/v1/media/upload-session``, ``GET /api/v1/media/{media_id}``, ...), JSON in
  and out with proto3 JSON names (camelCase), through the generated stub (transcoding.py).
- The user's token (``Authorization: Bearer ...``) is verified here first (signature, expiry,
  issuer, audience: the service's own ``MEDIA_AUTH__*`` settings), before any body is read, and
  forwarded as metadata. Like ``media-grpc serve``, it refuses to listen beyond loopback with
  the development secret (anyone can sign tokens with it).
- Bodies are bounded before they are read (``--max-body-bytes``): a larger Content-Length is 413
  at once, a missing one 411 where a route takes a body; malformed HTTP (``Content-Length: -1``)
  is 400 from the parser. A body that is not a JSON object is 400 with a ``google.rpc.Status``
  body and a BadRequest detail.
- CORS for the app's origin only (``--allow-origin``); other origins get no CORS headers.
- A gRPC error becomes its HTTP status with ``{"code", "message", "details"}``: the
  ``google.rpc`` details (BadRequest, PreconditionFailure, ErrorInfo, RetryInfo) as JSON. Errors
  of the transport never show the backend's address.
- Every call has a deadline (``--deadline``, seconds); a call past it answers 504.

Server: aiohttp (``aiohttp.web``). The gateway is asyncio end to end: one event loop serves every
connection and awaits the grpc.aio channel on the same loop, so a slow or idle client costs a
socket and a coroutine, never a thread (the ``http.server`` version held a thread per
connection). aiohttp was chosen over an ASGI stack (Starlette or FastAPI on uvicorn) because one
library is the whole server: its C HTTP parser (llhttp) refuses malformed framing,
``client_max_size`` bounds what a handler reads, and ``web.run_app`` handles signals, with no
ASGI server to pick and configure. Put TLS and connection limits in front (a load balancer) as
for any service.

Run: ``python examples/gateway/gateway.py --listen 127.0.0.1:8080 --target 127.0.0.1:50051``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys

import grpc.aio
from aiohttp import web
from media.v1 import media_pb2_grpc
from transcoding import Answer, Gateway, bad_body, status_body

from media_grpc.adapters.jwt_tokens import TokenVerifier
from media_grpc.config import Settings, SettingsError

log = logging.getLogger("gateway")

#: Largest request body read, in bytes: the routes take small JSON objects.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: Seconds a client has to send its body once its headers are in.
BODY_SECONDS = 10.0


def make_app(
    gateway: Gateway, allow_origin: str, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> web.Application:
    """The aiohttp application: every route of ``gateway``, CORS for ``allow_origin``."""

    def cors(request: web.Request, response: web.StreamResponse) -> None:
        if request.headers.get("Origin") == allow_origin:
            response.headers["Access-Control-Allow-Origin"] = allow_origin
            response.headers["Vary"] = "Origin"

    def answer(request: web.Request, result: Answer) -> web.Response:
        status, body = result
        response = web.Response(
            status=status, body=json.dumps(body).encode(), content_type="application/json"
        )
        cors(request, response)
        return response

    async def preflight(request: web.Request) -> web.Response:
        allowed = request.headers.get("Origin") == allow_origin
        response = web.Response(status=204 if allowed else 403)
        if allowed:
            cors(request, response)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE"
            response.headers["Access-Control-Allow-Headers"] = "authorization, content-type"
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    async def serve(request: web.Request) -> web.Response:
        found = gateway.route(request.method, request.path)
        if found is None:
            message = f"no route {request.method} {request.path[:200]}"
            return answer(request, (404, status_body(grpc.StatusCode.NOT_FOUND, message)))
        route, params = found
        token = gateway.authenticate(request.headers.get("Authorization", ""))
        if not isinstance(token, str):
            return answer(request, token)  # nothing of the body read
        body = b""
        if route.has_body:
            refusal = _body_refusal(request, max_body_bytes)
            if refusal is not None:
                return answer(request, refusal)
            body = await _read_body(request)
        return answer(request, await gateway.call(route, params, token, body))

    app = web.Application(client_max_size=max_body_bytes)
    app.router.add_route("OPTIONS", "/{tail:.*}", preflight)
    for method in ("GET", "POST", "DELETE"):
        app.router.add_route(method, "/{tail:.*}", serve)
    return app


def _body_refusal(request: web.Request, max_body_bytes: int) -> Answer | None:
    length = request.content_length
    if length is None:
        return 411, bad_body("a Content-Length header is required")[1]
    if length > max_body_bytes:
        return 413, bad_body(f"the body is over {max_body_bytes} bytes")[1]
    return None


async def _read_body(request: web.Request) -> bytes:
    async with asyncio.timeout(BODY_SECONDS):
        return await request.read()  # at most client_max_size, checked while reading


def check_listen(settings: Settings, listen: str) -> None:
    """Exit when ``listen`` reaches beyond this machine and tokens can be forged (the
    development secret, or a short one), as ``media-grpc serve`` does."""
    try:
        settings.check_listen(listen)
    except SettingsError as e:
        sys.exit(f"gateway: {e}")


async def serve_forever(args: argparse.Namespace, settings: Settings) -> None:
    channel = grpc.aio.insecure_channel(args.target)
    gateway = Gateway(
        media_pb2_grpc.MediaServiceStub(channel), TokenVerifier(settings.auth), args.deadline
    )
    app = make_app(gateway, args.allow_origin, max_body_bytes=args.max_body_bytes)
    runner = web.AppRunner(app, access_log=log)
    await runner.setup()
    host, port = args.listen.rsplit(":", 1)
    await web.TCPSite(runner, host.strip("[]"), int(port)).start()
    log.info("gateway on http://%s -> %s, CORS for %s", args.listen, args.target, args.allow_origin)
    try:
        await asyncio.Event().wait()  # until cancelled (Ctrl-C, SIGTERM)
    finally:
        await runner.cleanup()
        await channel.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--listen", default="127.0.0.1:8080")
    parser.add_argument("--target", default="127.0.0.1:50051", help="media-grpc address")
    parser.add_argument("--allow-origin", default="http://localhost:3000")
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds per call")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(message)s")
    settings = Settings()
    check_listen(settings, args.listen)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args, settings))


if __name__ == "__main__":
    main()
