"""`media-grpc ls`: the caller's media, newest first, one per line."""

from __future__ import annotations

import argparse
import json

import grpc
from media.v1 import media_pb2 as pb

from media_grpc.client import ClientError, parse_purpose, parse_status
from media_grpc.client_options import add_client_options, as_json, connect, fail, status_name
from media_grpc.commands import Subparsers, add_command


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "ls", run)
    parser.add_argument("--status", help="only this status (ready, failed, ...)")
    parser.add_argument("--purpose", help="only this purpose (post_image, ...)")
    parser.add_argument("--owner", default="", help="another owner's media (service tokens)")
    parser.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    add_client_options(parser)


def failure(media: pb.Media) -> str:
    """Why a media FAILED: its reason and the service's message."""
    reason = pb.FailureReason.Name(media.failure.reason).removeprefix("FAILURE_REASON_")
    return f"{reason}: {media.failure.message}"


def run(args: argparse.Namespace) -> int:
    """list your media, newest first (a FAILED one with its reason)"""
    try:
        status = parse_status(args.status) if args.status else pb.STATUS_UNSPECIFIED
        purpose = parse_purpose(args.purpose) if args.purpose else pb.PURPOSE_UNSPECIFIED
        with connect(args) as client:
            for media in client.list(
                status=status, purpose=purpose, owner_id=args.owner, limit=args.limit
            ):
                if args.json:
                    print(json.dumps(as_json(media)))
                else:
                    created = media.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
                    kind = pb.Purpose.Name(media.purpose).removeprefix("PURPOSE_")
                    line = (
                        f"{media.id}  {status_name(media):10} {kind:13} "
                        f"{media.size_bytes:>12}  {created}  {media.file_name}"
                    )
                    print(f"{line}  ({failure(media)})" if media.HasField("failure") else line)
    except ClientError as e:
        return fail(str(e))
    except grpc.RpcError as e:
        return fail(f"{e.code().name}: {e.details()}")  # type: ignore[attr-defined]
    return 0
