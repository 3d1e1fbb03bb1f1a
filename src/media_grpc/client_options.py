"""Options shared by the client commands (upload, get, ls, watch): where and who."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc
from google.protobuf.json_format import MessageToDict
from media.v1 import media_pb2 as pb

from media_grpc.client import ClientError, MediaClient

DEFAULT_ADDRESS = "127.0.0.1:50051"
#: The client library's calls wait for a server that restarts (``waitForReady``); a command
#: first waits this long for one to answer at all, so a wrong address fails in seconds.
CONNECT_TIMEOUT_SECONDS = 10.0


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=os.environ.get("MEDIA_ADDRESS", DEFAULT_ADDRESS),
        help=f"server address (MEDIA_ADDRESS, default {DEFAULT_ADDRESS})",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("MEDIA_TOKEN"),
        help="bearer token (MEDIA_TOKEN; `media-grpc token --user ...` makes one for development)",
    )
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system roots)")
    parser.add_argument("--ca-file", type=Path, help="PEM file of the CA to trust (implies --tls)")
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=CONNECT_TIMEOUT_SECONDS,
        help=f"give up when no server answers at --address within this many seconds "
        f"(default {CONNECT_TIMEOUT_SECONDS:g})",
    )


def connect(args: argparse.Namespace) -> MediaClient:
    if not args.token:
        raise ClientError("no token: pass --token or set MEDIA_TOKEN")
    roots = args.ca_file.read_bytes() if args.ca_file else None
    client = MediaClient(args.address, args.token, tls=args.tls, root_certificates=roots)
    try:
        grpc.channel_ready_future(client.channel).result(timeout=args.connect_timeout)
    except grpc.FutureTimeoutError:
        client.close()
        raise ClientError(
            f"no server answered at {args.address} within {args.connect_timeout:g} s "
            "(is `media-grpc serve` running there? set --address or MEDIA_ADDRESS)",
            grpc.StatusCode.UNAVAILABLE,
        ) from None
    return client


def status_name(media: pb.Media) -> str:
    return pb.Status.Name(media.status).removeprefix("STATUS_")


def describe(media: pb.Media) -> list[str]:
    """A few lines a person reads: id, status, failure, URLs."""
    lines = [f"media {media.id}: {status_name(media)}"]
    if media.HasField("failure"):
        reason = pb.FailureReason.Name(media.failure.reason).removeprefix("FAILURE_REASON_")
        lines.append(f"  failure: {reason}: {media.failure.message}")
    if media.original_url:
        lines.append(f"  original: {media.original_url}")
    if media.cdn_url:
        lines.append(f"  cdn: {media.cdn_url}")
    lines += [f"  {v.name}: {v.url}" for v in media.variants]
    if media.hls_url:
        lines.append(f"  hls: {media.hls_url}")
    return lines


def as_json(media: pb.Media) -> dict[str, object]:
    return MessageToDict(media, preserving_proto_field_name=True)


def fail(message: str) -> int:
    print(f"media-grpc: {message}", file=sys.stderr)
    return 1
