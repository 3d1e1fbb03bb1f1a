"""`media-grpc call METHOD [JSON]`: one unary MediaService call, JSON in and JSON out, with the
fields named as in the .proto (what grpcurl does for any service, for this one, from the CLI
that comes with it)."""

from __future__ import annotations

import argparse
import sys

from google.protobuf import json_format, message_factory
from media.v1 import media_pb2 as pb

from media_grpc.client import ClientError
from media_grpc.client.calls import call
from media_grpc.client_options import add_client_options, connect, fail
from media_grpc.commands import Subparsers, add_command


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "call", run)
    parser.add_argument("method", help="a MediaService method, e.g. CreateUploadSession")
    parser.add_argument(
        "request", nargs="?", default="{}", help="the request as JSON ('-': stdin; default {})"
    )
    add_client_options(parser)


def run(args: argparse.Namespace) -> int:
    """call one MediaService method with a JSON request and print the answer as JSON

    The request and the answer name their fields as the .proto does (snake_case), enums by
    name; the answer's keys are sorted, so that it reads the same every time. Streaming
    methods (WatchMedia) are not called: `media-grpc watch` follows a media."""
    service = pb.DESCRIPTOR.services_by_name["MediaService"]
    method = service.methods_by_name.get(args.method)
    if method is None or method.server_streaming or method.client_streaming:
        unary = sorted(
            m.name for m in service.methods if not (m.server_streaming or m.client_streaming)
        )
        return fail(f"{args.method!r} is not a unary MediaService method: {', '.join(unary)}")
    text = sys.stdin.read() if args.request == "-" else args.request
    request = message_factory.GetMessageClass(method.input_type)()
    try:
        json_format.Parse(text, request)
    except json_format.ParseError as e:
        return fail(f"the request is not a {method.input_type.name}: {e}")
    try:
        with connect(args) as client:
            answer = call(client, getattr(client.stub, method.name), request)
    except ClientError as e:
        return fail(str(e))
    print(
        json_format.MessageToJson(
            answer, preserving_proto_field_name=True, indent=2, sort_keys=True
        )
    )
    return 0
