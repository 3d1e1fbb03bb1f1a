"""The `media-grpc` command."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from media_grpc.commands import (
    audit,
    cleanup,
    get,
    import_media,
    ls,
    migrate,
    relay,
    serve,
    storage,
    token,
    upload,
    watch,
    worker,
)
from media_grpc.config import Settings, SettingsError
from media_grpc.observability.logs import LogFormat, configure_logging

COMMANDS = (
    serve,
    worker,
    relay,
    migrate,
    token,
    storage,
    cleanup,
    upload,
    import_media,
    get,
    ls,
    watch,
    audit,
)
#: Commands that log JSON by default in production: their logs go to a collector.
LONG_RUNNING = frozenset({"serve", "worker", "relay"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="media-grpc", description="Self-hosted media upload and processing over gRPC."
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (INFO)")
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        help="json (one object per line; the default of serve, worker and relay in production) "
        "or text (the default otherwise)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def default_log_format(command: str) -> LogFormat:
    """JSON for the long-running commands in production (their logs go to a collector);
    text for people: interactive commands, and the development default."""
    try:
        production = Settings().is_production
    except ValidationError:
        production = False  # the command itself reports the configuration error
    return "json" if production and command in LONG_RUNNING else "text"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format or default_log_format(args.command))
    try:
        return int(args.handler(args))
    except (SettingsError, ValidationError) as e:
        print(f"media-grpc: configuration error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
