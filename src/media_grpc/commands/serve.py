"""`media-grpc serve`: run the gRPC server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse

from media_grpc.commands import Subparsers, add_command
from media_grpc.config import Settings


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "serve", run)
    parser.add_argument("--listen", help="address to bind (default: MEDIA_GRPC_LISTEN)")
    parser.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds in-flight RPCs get to finish on shutdown (default 10)",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=0.0,
        help="seconds health reports NOT_SERVING before new RPCs are refused (default 0)",
    )


def run(args: argparse.Namespace) -> int:
    """run the gRPC server"""
    from media_grpc.runtime.serving import ServeOptions, serve

    settings = Settings()
    log_format = args.log_format or ("json" if settings.is_production else "text")
    options = ServeOptions(args.listen, args.grace, args.drain, (args.log_level, log_format))
    return serve(settings, options)
