"""`media-grpc get MEDIA_ID`: one media record as JSON."""

from __future__ import annotations

import argparse
import json

import grpc

from media_grpc.client import ClientError
from media_grpc.client_options import add_client_options, as_json, connect, fail
from media_grpc.commands import Subparsers, add_command


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "get", run)
    parser.add_argument("media_id")
    add_client_options(parser)


def run(args: argparse.Namespace) -> int:
    """print one media record as JSON"""
    try:
        with connect(args) as client:
            media = client.get(args.media_id)
    except ClientError as e:
        return fail(str(e))
    except grpc.RpcError as e:
        return fail(f"{e.code().name}: {e.details()}")  # type: ignore[attr-defined]
    print(json.dumps(as_json(media), indent=2))
    return 0
