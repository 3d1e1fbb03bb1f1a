"""Options shared by the client commands (upload, get, ls, watch): where and who."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from media.v1 import media_pb2 as pb

from media_grpc.client import ClientError, MediaClient

DEFAULT_ADDRESS = "127.0.0.1:50051"


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


def connect(args: argparse.Namespace) -> MediaClient:
    if not args.token:
        raise ClientError("no token: pass --token or set MEDIA_TOKEN")
    roots = args.ca_file.read_bytes() if args.ca_file else None
    return MediaClient(args.address, args.token, tls=args.tls, root_certificates=roots)


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
