"""`media-grpc watch MEDIA_ID`: print each status change until READY, FAILED or DELETED."""

from __future__ import annotations

import argparse

import grpc
from media.v1 import media_pb2 as pb

from media_grpc.client import ClientError
from media_grpc.client_options import add_client_options, connect, describe, fail
from media_grpc.commands import Subparsers, add_command


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "watch", run)
    parser.add_argument("media_id")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait (600)")
    add_client_options(parser)


def run(args: argparse.Namespace) -> int:
    """follow a media until it is READY or FAILED"""
    last: pb.Media | None = None
    try:
        with connect(args) as client:
            for media in client.watch(args.media_id, timeout=args.timeout):
                last = media
                print("\n".join(describe(media)), flush=True)
    except ClientError as e:
        return fail(str(e))
    except grpc.RpcError as e:
        return fail(f"{e.code().name}: {e.details()}")  # type: ignore[attr-defined]
    return 0 if last is not None and last.status != pb.STATUS_FAILED else 1
