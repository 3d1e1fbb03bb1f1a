"""The `media-grpc` command."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from media_grpc.commands import migrate, relay, serve, storage, token, worker
from media_grpc.config import SettingsError

COMMANDS = (serve, worker, relay, migrate, token, storage)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="media-grpc", description="Self-hosted media upload and processing over gRPC."
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (INFO)")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        return int(args.handler(args))
    except (SettingsError, ValidationError) as e:
        print(f"media-grpc: configuration error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
