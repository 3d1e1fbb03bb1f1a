"""The `media-grpc` command."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from media_grpc.commands import (
    cleanup,
    get,
    ls,
    migrate,
    relay,
    serve,
    token,
    upload,
    watch,
    worker,
)
from media_grpc.config import SettingsError
from media_grpc.observability.logs import LogFormat, configure_logging

COMMANDS = (serve, migrate, token, worker, relay, cleanup, upload, get, ls, watch)
#: Commands that log JSON by default: their logs go to a collector, not to a person.
LONG_RUNNING = frozenset({"serve", "worker"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="media-grpc", description="Self-hosted media upload and processing over gRPC."
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (INFO)")
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        help="json (one object per line; the default of serve and worker) or text (the default "
        "of interactive commands)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fmt: LogFormat = args.log_format or ("json" if args.command in LONG_RUNNING else "text")
    configure_logging(args.log_level, fmt)
    try:
        return int(args.handler(args))
    except (SettingsError, ValidationError) as e:
        print(f"media-grpc: configuration error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
